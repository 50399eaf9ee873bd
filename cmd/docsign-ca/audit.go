package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/docsign-ca/docsign-ca/internal/ca"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

// openExistingDataDir opens the database of a data directory that must
// already hold one. Unlike openDataDir it creates nothing, so that a
// mistyped --data-dir is an error and not a new, empty database.
func openExistingDataDir(ctx context.Context, dir string) (*store.Store, error) {
	if database.usesPostgres() {
		return database.open(ctx, "")
	}
	path := filepath.Join(dir, "docsign.db")
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("no database at %s (%v); check --data-dir, start the server there once, "+
			"or give --database-url when the server runs on PostgreSQL", path, err)
	}
	return store.Open(ctx, path)
}

// anchorFlag collects --anchor ID:HASH values.
type anchorFlag []store.AuditAnchor

func (a *anchorFlag) String() string { return "" }

func (a *anchorFlag) Set(value string) error {
	idText, hashText, ok := strings.Cut(value, ":")
	id, err := strconv.ParseInt(idText, 10, 64)
	if !ok || err != nil || id <= 0 {
		return fmt.Errorf("invalid anchor %q; use ROW:HASH as printed by audit verify, such as 42:3f9a...", value)
	}
	hash, err := hex.DecodeString(hashText)
	if err != nil || len(hash) != 32 {
		return fmt.Errorf("invalid anchor %q; the hash is 64 hexadecimal digits", value)
	}
	*a = append(*a, store.AuditAnchor{ID: id, Hash: hash})
	return nil
}

func verifyAudit(args []string) error {
	fs := flag.NewFlagSet("docsign-ca audit verify", flag.ContinueOnError)
	dataDir := fs.String("data-dir", "./docsign-data", "data directory of the server")
	var anchors anchorFlag
	fs.Var(&anchors, "anchor", "ROW:HASH printed by an earlier audit verify; the row must still have that hash (repeatable)")
	if help, err := parseOperatorFlags(fs, args, "docsign-ca audit verify [--anchor ROW:HASH]"); help || err != nil {
		return err
	}

	ctx := context.Background()
	st, err := openExistingDataDir(ctx, *dataDir)
	if err != nil {
		return err
	}
	defer st.Close()

	v, err := st.VerifyAudit(ctx, anchors...)
	if err != nil {
		return err
	}
	if !v.Intact() {
		return fmt.Errorf("audit log is broken at row %d, after %d intact rows: %s", v.BrokenAt, v.Rows, v.Problem)
	}
	fmt.Printf("audit log intact: %d rows, last row %d, head hash %x\n", v.Rows, v.LastID, v.HeadHash)
	if v.LastID > 0 {
		fmt.Printf("keep the anchor %d:%x outside this machine; `audit verify --anchor %d:%x` later shows whether rows up to it were removed or rewritten\n",
			v.LastID, v.HeadHash, v.LastID, v.HeadHash)
	}
	return nil
}

func exportAudit(args []string) error {
	fs := flag.NewFlagSet("docsign-ca audit export", flag.ContinueOnError)
	dataDir := fs.String("data-dir", "./docsign-data", "data directory of the server")
	out := fs.String("out", "-", "file to write the JSON lines to; - writes to standard output")
	afterID := fs.Int64("after-id", 0, "export only the rows after this row id")
	if help, err := parseOperatorFlags(fs, args, "docsign-ca audit export [--out FILE] [--after-id N]"); help || err != nil {
		return err
	}

	ctx := context.Background()
	st, err := openExistingDataDir(ctx, *dataDir)
	if err != nil {
		return err
	}
	defer st.Close()

	w, closeOut, err := createOutput(*out)
	if err != nil {
		return err
	}
	buffered := bufio.NewWriter(w)
	err = st.EachAuditRecord(ctx, *afterID, func(r *store.AuditRecord) error {
		line, err := r.ExportLine()
		if err != nil {
			return fmt.Errorf("encode audit row %d: %w", r.ID, err)
		}
		buffered.Write(line)
		return buffered.WriteByte('\n')
	})
	if err == nil {
		err = buffered.Flush()
	}
	return errors.Join(err, closeOut())
}

// createOutput opens path for writing, or standard output for "-". A file
// is created with mode 0600 and must not exist yet.
func createOutput(path string) (io.Writer, func() error, error) {
	if path == "-" {
		return os.Stdout, func() error { return nil }, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("create %s: %w; choose a new file name", path, err)
	}
	return f, f.Close, nil
}

// auditStart records each issuing CA key the server opened and the
// configuration it starts with. Each event has a transaction of its own,
// since neither changes any state.
func auditStart(ctx context.Context, st *store.Store, cfg serveConfig, authority *ca.Service, addr string) error {
	records, err := st.CAs(ctx)
	if err != nil {
		return err
	}
	for _, r := range records {
		if _, loaded := authority.Issuer(r.ID); !loaded {
			continue
		}
		if err := st.RecordAudit(ctx, store.CAKeyLoadedEvent(r)); err != nil {
			return err
		}
	}
	return st.RecordAudit(ctx, store.AuditEvent{Type: store.AuditServerStarted, Data: startConfiguration(cfg, addr)})
}

// startConfiguration lists the settings that change what the server
// accepts or who can reach it. File paths are listed, never the contents
// of a key, passphrase or PIN file.
func startConfiguration(cfg serveConfig, addr string) map[string]any {
	return map[string]any{
		"listen":              addr,
		"scheme":              cfg.http.scheme(),
		"tls_cert":            cfg.http.tlsCert,
		"data_dir":            cfg.dataDir,
		"auto_validate":       cfg.autoValidate,
		"dev":                 cfg.keys.dev,
		"pkcs11_module":       cfg.keys.pkcs11Module,
		"rate_limit":          cfg.rateLimits,
		"issue_interval":      cfg.issueInterval.String(),
		"read_header_timeout": cfg.http.readHeaderTimeout.String(),
		"read_timeout":        cfg.http.readTimeout.String(),
		"write_timeout":       cfg.http.writeTimeout.String(),
		"idle_timeout":        cfg.http.idleTimeout.String(),
		"pprof_listen":        cfg.pprofListen,
		"go_version":          runtime.Version(),
	}
}
