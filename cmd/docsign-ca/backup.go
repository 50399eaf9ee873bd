package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"github.com/docsign-ca/docsign-ca/internal/backup"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

func backupDataDir(args []string) error {
	fs := flag.NewFlagSet("docsign-ca backup", flag.ContinueOnError)
	dataDir := fs.String("data-dir", "./docsign-data", "data directory of the server; the server may keep running")
	out := fs.String("out", "", "archive to write (tar.gz, mode 0600); it must not exist yet (required)")
	if help, err := parseOperatorFlags(fs, args, "docsign-ca backup --out FILE [--data-dir DIR]"); help || err != nil {
		return err
	}
	if *out == "" {
		return errors.New("missing --out; name the archive to write, such as docsign-backup.tar.gz")
	}
	if database.usesPostgres() {
		// TODO: archive the key files of a PostgreSQL deployment too; today
		// the operator copies the data directory beside pg_dump.
		return errors.New("the database is PostgreSQL: back it up with pg_dump and copy the data directory's key files, " +
			"as docs/operations.md shows; docsign-ca backup archives SQLite data directories only")
	}

	ctx := context.Background()
	st, err := openExistingDataDir(ctx, *dataDir)
	if err != nil {
		return err
	}
	defer st.Close()

	// The archive holds the CA key files, so it is created readable by
	// its owner only, and never over an existing file.
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create %s: %w; choose a new file name", *out, err)
	}
	m, err := backup.Create(ctx, st, *dataDir, filepath.Dir(*out), f)
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		os.Remove(*out)
		return err
	}

	err = st.RecordAudit(ctx, store.AuditEvent{Type: store.AuditBackupCreated, Data: map[string]any{
		"archive": *out, "key_files": len(m.KeyFiles), "token_keys": len(m.TokenKeys), "files": len(m.Files),
	}})
	if err != nil {
		return fmt.Errorf("the archive %s is complete, but recording it in the audit log failed: %w", *out, err)
	}

	fmt.Printf("wrote %s: the database and %d key files\n", *out, len(m.KeyFiles))
	for _, uri := range m.TokenKeys {
		fmt.Printf("not in the archive: key %s stays on its token; a restored server needs the same token\n", uri)
	}
	return nil
}

func restoreDataDir(args []string) error {
	fs := flag.NewFlagSet("docsign-ca restore", flag.ContinueOnError)
	in := fs.String("in", "", "archive written by docsign-ca backup, to unpack into a new data directory")
	dataDir := fs.String("data-dir", "", "new data directory: missing or empty with --in, the moved or copied directory with --moved-from (required)")
	movedFrom := fs.String("moved-from", "", "the data directory's old path, after it was moved or copied, or after pg_restore on PostgreSQL; "+
		"the file key URIs under it are pointed at --data-dir")
	if help, err := parseOperatorFlags(fs, args,
		"docsign-ca restore --in FILE --data-dir DIR, or after a move or pg_restore: docsign-ca restore --moved-from OLD_DIR --data-dir DIR"); help || err != nil {
		return err
	}
	if *dataDir == "" {
		return errors.New("missing --data-dir; give the new data directory for --in, or the new path of the directory that --moved-from names")
	}
	if *movedFrom != "" {
		if *in != "" {
			return errors.New("--in and --moved-from exclude each other; give --in to unpack an archive, or --moved-from to point a moved data directory's key paths at it")
		}
		return finishMove(*movedFrom, *dataDir)
	}
	if database.usesPostgres() {
		if *in != "" {
			return errors.New("--in names a SQLite archive; on PostgreSQL restore the database with pg_restore, then run this with --moved-from")
		}
		return errors.New("missing --moved-from; after pg_restore, give the data directory of the server whose database was dumped")
	}
	if *in == "" {
		return errors.New("missing --in or --moved-from; give the archive written by docsign-ca backup, " +
			"or the old path of a data directory that was moved or copied to --data-dir")
	}

	f, err := os.Open(*in)
	if err != nil {
		return fmt.Errorf("open %s: %w", *in, err)
	}
	defer f.Close()

	m, err := backup.Restore(context.Background(), f, *dataDir)
	if err != nil {
		return fmt.Errorf("restore %s into %s: %w", *in, *dataDir, err)
	}
	fmt.Printf("restored the backup of %s taken at %s into %s: the database and %d key files\n",
		m.SourceDataDir, m.CreatedAt.Format("2006-01-02T15:04:05Z07:00"), *dataDir, len(m.KeyFiles))
	for _, uri := range m.TokenKeys {
		fmt.Printf("key %s was not in the archive; the server needs its token to start\n", uri)
	}
	return nil
}

// finishMove points the file key URIs of a data directory's database at
// the directory's new path. The database records absolute key paths, so
// after the directory is moved, copied, or its PostgreSQL database is
// restored with pg_restore, the server would otherwise open the key files
// of the old path, or fail where they are gone. On SQLite the database is
// the docsign.db inside the new directory, so run this while no server
// uses that directory.
func finishMove(movedFrom, dataDir string) error {
	from, err := filepath.Abs(movedFrom)
	if err != nil {
		return err
	}
	to, err := filepath.Abs(dataDir)
	if err != nil {
		return err
	}

	ctx := context.Background()
	st, err := openExistingDataDir(ctx, to)
	if err != nil {
		return err
	}
	defer st.Close()
	uris, err := st.KeyURIs(ctx)
	if err != nil {
		return err
	}

	moved, err := movedKeyURIs(uris, from, to)
	if err != nil {
		return err
	}
	kind := "sqlite"
	if st.Postgres() {
		kind = "postgresql"
	}
	if err := st.RecordRestore(ctx, moved, map[string]any{"source_data_dir": from, "database": kind}); err != nil {
		return err
	}
	fmt.Printf("pointed %d key files from %s to %s\n", len(moved), from, to)
	return nil
}

// movedKeyURIs maps each file key URI under from to the same file under
// to, and checks that the file is there. Other URIs, such as pkcs11:, stay.
func movedKeyURIs(uris []string, from, to string) (map[string]string, error) {
	moved := map[string]string{}
	for _, uri := range uris {
		path, isFile, err := backup.FileKeyPath(uri)
		if err != nil {
			return nil, err
		}
		rel, inside := relativeInside(from, path)
		if !isFile || !inside {
			continue
		}

		target := filepath.Join(to, rel)
		if _, err := os.Stat(target); err != nil {
			return nil, fmt.Errorf("key file %s of %s is missing from the copy (%v); copy the whole data directory", target, uri, err)
		}
		moved[uri] = (&url.URL{Scheme: "file", Path: filepath.ToSlash(target), OmitHost: true}).String()
	}
	return moved, nil
}
