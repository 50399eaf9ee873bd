package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/store"
)

// databaseConfig is the database of the command that runs. Every command
// with --data-dir also takes --database-url and its tuning flags (see
// parseFlags), so that operator commands reach the same PostgreSQL
// database as the servers.
type databaseConfig struct {
	url  string
	opts store.PostgresOptions
}

var database = databaseConfig{opts: store.DefaultPostgresOptions}

// registerDatabaseFlags adds the database flags to a command that has
// --data-dir and does not have them yet.
func registerDatabaseFlags(fs *flag.FlagSet) {
	if fs.Lookup("data-dir") == nil || fs.Lookup("database-url") != nil {
		return
	}
	d := store.DefaultPostgresOptions
	fs.StringVar(&database.url, "database-url", "",
		"PostgreSQL database as postgres://USER[:PASSWORD]@HOST:PORT/NAME?sslmode=...; empty keeps the SQLite database in the data directory")
	fs.IntVar(&database.opts.MaxConns, "database-max-conns", d.MaxConns, "PostgreSQL: most open connections of this process")
	fs.DurationVar(&database.opts.StatementTimeout, "database-statement-timeout", d.StatementTimeout,
		"PostgreSQL: the server cancels a statement that runs longer; 0 turns the limit off")
	fs.IntVar(&database.opts.Retries, "database-retries", d.Retries,
		"PostgreSQL: how many times a transaction that failed with a serialization failure or deadlock is run again")
}

// usesPostgres reports whether the command runs on PostgreSQL.
func (d databaseConfig) usesPostgres() bool { return d.url != "" }

// open opens the PostgreSQL database of --database-url, or the SQLite file
// at path.
func (d databaseConfig) open(ctx context.Context, path string) (*store.Store, error) {
	if !d.usesPostgres() {
		return store.Open(ctx, path)
	}
	if !store.IsPostgresURL(d.url) {
		return nil, fmt.Errorf("--database-url must start with postgres:// or postgresql://; leave it empty for SQLite in the data directory")
	}
	if d.opts.MaxConns < 1 {
		return nil, fmt.Errorf("--database-max-conns is %d; it must be at least 1", d.opts.MaxConns)
	}
	if d.opts.Retries < 0 {
		return nil, fmt.Errorf("--database-retries is %d; it must be 0 or more", d.opts.Retries)
	}
	return store.OpenPostgres(ctx, d.url, d.opts)
}

// logDatabase records which database the server uses, without the URL,
// which may hold a password.
func logDatabase(log *slog.Logger, dataDir string, intentLease time.Duration) {
	if !database.usesPostgres() {
		log.Info("database", "kind", "sqlite", "path", filepath.Join(dataDir, "docsign.db"), "issuance_lease", intentLease.String())
		return
	}
	log.Info("database", "kind", "postgresql", "max_conns", database.opts.MaxConns,
		"statement_timeout", database.opts.StatementTimeout.String(), "retries", database.opts.Retries,
		"issuance_lease", intentLease.String())
}
