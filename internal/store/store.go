// Package store is the only package that runs SQL. Each exported method is
// one intent ("create an order", "approve a request") and runs in one
// transaction, so a crash never leaves half a state change behind.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pressly/goose/v3"
	"modernc.org/sqlite" // pure-Go SQLite driver, registered as "sqlite"
)

//go:embed migrations/*.sql migrations/postgres/*.sql
var migrations embed.FS

// ErrNotFound is returned when a row does not exist or belongs to another account.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when a state change lost a race or would break a
// unique constraint (a second certificate for one order, a reused serial).
var ErrConflict = errors.New("conflict")

// Store is the store on SQLite (Open) or PostgreSQL (OpenPostgres).
type Store struct {
	db *sql.DB
	// postgres is set on PostgreSQL, and pg holds its options.
	postgres  bool
	pg        PostgresOptions
	closeOnce sync.Once
	// intentLease is the lease of new issuance intents (see IntentLease).
	intentLease time.Duration
	// source is the SQLite file or the PostgreSQL URL (never logged: it
	// may hold a password).
	source string
	// txHook, when set, receives the timing and outcome of every
	// transaction that withTx runs.
	txHook func(wait, elapsed time.Duration, err error)
	// writes runs every write transaction on SQLite, several per commit
	// under load (see groupcommit.go). It is nil on PostgreSQL.
	writes *groupCommitter
}

// SQLite connection pool. database/sql keeps 2 idle connections by default
// and closes every other connection when its query ends, so under
// concurrent requests most reads opened a new connection. Each new SQLite
// connection runs the DSN's pragmas and parses the schema, and its compiled
// statements (stmtcache.go) are lost with it: with 16 benchmark clients,
// opening connections took 10 % of the server's CPU. An idle connection
// keeps its page cache (up to 2,000 KiB by SQLite's default cache_size) and
// its compiled statements. The number of open connections stays unlimited,
// because WAL readers do not block one another.
const (
	sqliteMaxIdleConns    = 16
	sqliteConnMaxIdleTime = 5 * time.Minute
)

// Open opens (creating if needed) the SQLite database at path and applies all
// migrations.
//
// Durability settings: WAL journal with synchronous=FULL, so a committed
// transaction survives power loss; BEGIN IMMEDIATE for every transaction, so
// writers queue on the database lock instead of failing on upgrade; a busy
// timeout so that an operator command running beside the server waits its turn.
//
// temp_store=MEMORY keeps temporary files in memory. The one that matters is
// the statement journal of the group commit's savepoints (groupcommit.go),
// which SQLite spills to a temporary file beyond 64 KiB: writing that file
// took 5 % of the server's CPU with 16 benchmark clients. Temporary tables and
// indices of queries stay in memory too, but sorts still spill to files.
// NOTE: the growth run at 100,000 orders peaked at 188 MiB with it and
// 192 MiB without it; a million orders was not measured.
func Open(ctx context.Context, path string) (*Store, error) {
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "busy_timeout(15000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "temp_store(MEMORY)")
	q.Set("_txlock", "immediate")
	dsn := "file:" + path + "?" + q.Encode()

	connector, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	db := sql.OpenDB(stmtCachingConnector{connector})
	db.SetMaxIdleConns(sqliteMaxIdleConns)
	db.SetConnMaxIdleTime(sqliteConnMaxIdleTime)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}

	s := &Store{db: db, source: path}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	s.writes = newGroupCommitter(db, groupOptions{})
	return s, nil
}

func (s *Store) migrate(ctx context.Context) error {
	provider, err := goose.NewProvider(goose.DialectSQLite3, s.db, migrationsFS())
	if err != nil {
		return fmt.Errorf("load migrations: %w", err)
	}
	if _, err := provider.Up(ctx); err != nil {
		return fmt.Errorf("apply migrations: %w", err)
	}
	return nil
}

// Close stops the writer, failing writes that are still queued, and
// closes the database. Calls after the first return nil.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		if s.writes != nil {
			s.writes.close()
		}
		err = s.db.Close()
	})
	return err
}

// DB exposes the handle for tests that inspect rows directly.
func (s *Store) DB() *sql.DB { return s.db }

// SetTransactionHook sets a function that receives three values for every
// write transaction. wait is how long it waited for the writer, elapsed how
// long the batch that ran it took from BEGIN to the end of COMMIT or
// ROLLBACK (see groupcommit.go), and err the error it ended with. Set the
// hook before the store is used concurrently.
func (s *Store) SetTransactionHook(hook func(wait, elapsed time.Duration, err error)) {
	s.txHook = hook
}

// withTx runs fn in one transaction and commits it, or rolls it back when
// fn returns an error. Under load, fn shares its transaction and commit
// with other withTx calls, each inside its own savepoint. fn then reads the
// changes of the functions before it in the batch, as if they had
// committed just before it. fn must not call another Store method that
// writes, because withTx does not nest. A panic in fn is raised again in
// the caller.
func (s *Store) withTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	r, err := s.writes.submit(ctx, fn)

	var p *panicError
	if errors.As(err, &p) {
		panic(p.value)
	}
	if s.txHook != nil && !r.started.IsZero() {
		s.txHook(r.started.Sub(r.requested), r.elapsed, err)
	}
	return err
}

// execWrite runs one writing statement through withTx, so that it shares
// the writer and its group commit. A statement run on s.db directly would
// compete with the writer for SQLite's write lock, and on SQLite wait in the
// busy handler, which sleeps between tries.
func (s *Store) execWrite(ctx context.Context, query string, args ...any) error {
	_, err := s.execWriteResult(ctx, query, args...)
	return err
}

// execWriteResult is execWrite for a caller that needs the result.
func (s *Store) execWriteResult(ctx context.Context, query string, args ...any) (sql.Result, error) {
	var result sql.Result
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		var err error
		result, err = tx.ExecContext(ctx, query, args...)
		return err
	})
	return result, err
}

// now returns the current time as stored: UTC, whole seconds.
func now() time.Time { return time.Now().UTC().Truncate(time.Second) }

func formatTime(t time.Time) string { return t.UTC().Truncate(time.Second).Format(time.RFC3339) }

func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

func nullTime(ns sql.NullString) time.Time {
	if !ns.Valid {
		return time.Time{}
	}
	return parseTime(ns.String)
}

// isUniqueViolation reports whether err is a unique-constraint failure on
// either database (PostgreSQL's SQLSTATE 23505).
func isUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505"
	}
	return strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// insertID runs an INSERT and stores the id of the new row in dst. Both
// databases return it with RETURNING; database/sql's LastInsertId does
// not exist on PostgreSQL.
func insertID(ctx context.Context, tx *sql.Tx, dst *int64, query string, args ...any) error {
	return tx.QueryRowContext(ctx, query+" RETURNING id", args...).Scan(dst)
}

// boolInt stores a flag as 0 or 1. Flags are INTEGER columns on both
// databases, and PostgreSQL does not turn a Go bool into an integer.
func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
