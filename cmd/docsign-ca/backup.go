package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
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
	in := fs.String("in", "", "archive written by docsign-ca backup (required)")
	dataDir := fs.String("data-dir", "", "new data directory; it must be missing or empty (required)")
	if help, err := parseOperatorFlags(fs, args, "docsign-ca restore --in FILE --data-dir DIR"); help || err != nil {
		return err
	}
	if *in == "" || *dataDir == "" {
		return errors.New("missing --in or --data-dir; give the archive and a new, empty data directory")
	}
	if database.usesPostgres() {
		return errors.New("the archive holds a SQLite database; restore a PostgreSQL database with pg_restore, " +
			"as docs/operations.md shows, and leave --database-url empty here")
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
