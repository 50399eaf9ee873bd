package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strings"
)

// VacuumInto writes a copy of the database to path, which must not exist.
// VACUUM INTO reads inside one read transaction, so the copy is a
// consistent snapshot even while the server writes. In WAL mode it does not
// block those writers.
func (s *Store) VacuumInto(ctx context.Context, path string) error {
	if _, err := s.db.ExecContext(ctx, `VACUUM INTO ?`, path); err != nil {
		return fmt.Errorf("copy the database to %s: %w", path, err)
	}
	return nil
}

// KeyURIsIn lists the distinct key URIs that the database file at path
// records for its CAs and OCSP responders. It opens the file read-only and
// as immutable, which suits a snapshot that nothing else writes, and
// applies no migrations.
func KeyURIsIn(ctx context.Context, path string) ([]string, error) {
	q := url.Values{}
	q.Set("mode", "ro")
	q.Set("immutable", "1")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open database copy %s: %w", path, err)
	}
	defer db.Close()

	uris, err := readKeyURIs(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("read key URIs from %s: %w", path, err)
	}
	return uris, nil
}

// KeyURIs lists the distinct key URIs that the database records for its
// CAs and OCSP responders.
func (s *Store) KeyURIs(ctx context.Context) ([]string, error) {
	uris, err := readKeyURIs(ctx, s.db)
	if err != nil {
		return nil, fmt.Errorf("read key URIs: %w", err)
	}
	return uris, nil
}

// readKeyURIs lists the distinct key URIs of the CAs and OCSP responders.
func readKeyURIs(ctx context.Context, db *sql.DB) ([]string, error) {
	rows, err := db.QueryContext(ctx,
		`SELECT key_uri FROM cas UNION SELECT key_uri FROM ocsp_responders ORDER BY 1`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()

	var uris []string
	for rows.Next() {
		var uri string
		if err := rows.Scan(&uri); err != nil {
			return nil, err
		}
		uris = append(uris, uri)
	}
	return uris, rows.Err()
}

// RecordRestore points the key URIs of a restored database at the key
// files' new places (moved maps each old URI to its new one) and records
// the restore in the audit log, in one transaction.
func (s *Store) RecordRestore(ctx context.Context, moved map[string]string, details map[string]any) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		for from, to := range moved {
			for _, table := range []string{"cas", "ocsp_responders"} {
				if _, err := tx.ExecContext(ctx, `UPDATE `+table+` SET key_uri = ? WHERE key_uri = ?`, to, from); err != nil {
					return fmt.Errorf("move key URI %s in %s: %w", from, table, err)
				}
			}
		}

		data := map[string]any{"key_files_moved": len(moved)}
		for k, v := range details {
			data[k] = v
		}
		return appendAudit(ctx, tx, AuditEvent{Type: AuditRestored, Data: data})
	})
}

// IntegrityCheck runs SQLite's integrity_check and returns an error that
// lists the first problems it finds.
func (s *Store) IntegrityCheck(ctx context.Context) error {
	rows, err := s.db.QueryContext(ctx, `PRAGMA integrity_check(10)`)
	if err != nil {
		return fmt.Errorf("check database integrity: %w", err)
	}
	defer rows.Close()

	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return err
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(problems) > 0 {
		return fmt.Errorf("the database fails SQLite's integrity check: %s", strings.Join(problems, "; "))
	}
	return nil
}
