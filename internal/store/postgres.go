package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// PostgresOptions tune the PostgreSQL connection pool and transactions.
type PostgresOptions struct {
	// MaxConns bounds the open connections of this process.
	MaxConns int
	// StatementTimeout cancels a statement that runs longer, on the server.
	StatementTimeout time.Duration
	// Retries is how many times a write transaction that failed with a
	// serialization failure or a deadlock is run again.
	Retries int
	// Log receives the retries; nil discards them.
	Log *slog.Logger
}

// DefaultPostgresOptions are the options of --database-url without the
// tuning flags.
var DefaultPostgresOptions = PostgresOptions{MaxConns: 10, StatementTimeout: 30 * time.Second, Retries: 3}

// writerLockKey is the key of the transaction-level advisory lock that
// every write transaction takes first (see postgresGroupOptions).
const writerLockKey = 0x646f637369676e // "docsign"

// startupLockKey is the key of the session-level advisory lock that
// replicas hold while they set up a new database (see WithStartupLock).
const startupLockKey = writerLockKey + 1

// IsPostgresURL reports whether a --database-url value names PostgreSQL.
func IsPostgresURL(u string) bool {
	return strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://")
}

// OpenPostgres connects to the PostgreSQL database named by url (a
// postgres:// URL as libpq reads it) and applies all migrations, under an
// advisory lock so that replicas starting together apply each one once.
func OpenPostgres(ctx context.Context, url string, opts PostgresOptions) (*Store, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		// pgx's message may quote the URL, password included.
		return nil, fmt.Errorf("parse --database-url: not a valid postgres:// URL (%s)", redactURLError(err))
	}
	if opts.StatementTimeout > 0 {
		cfg.RuntimeParams["statement_timeout"] = fmt.Sprint(opts.StatementTimeout.Milliseconds())
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = DefaultPostgresOptions.MaxConns
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}

	db := sql.OpenDB(pgConnector{stdlib.GetConnector(*cfg)})
	db.SetMaxOpenConns(opts.MaxConns)
	db.SetMaxIdleConns(opts.MaxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to PostgreSQL at %s:%d database %q: %s", cfg.Host, cfg.Port, cfg.Database, redactURLError(err))
	}

	s := &Store{db: db, postgres: true, pg: opts, source: url}
	if err := s.migratePostgres(ctx); err != nil {
		db.Close()
		return nil, err
	}
	s.writes = newGroupCommitter(db, s.postgresGroupOptions())
	return s, nil
}

func (s *Store) migratePostgres(ctx context.Context) error {
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	provider, err := goose.NewProvider(goose.DialectPostgres, s.db, postgresMigrationsFS(), goose.WithSessionLocker(locker))
	if err != nil {
		return fmt.Errorf("load migrations: %w", err)
	}
	if _, err := provider.Up(ctx); err != nil {
		return fmt.Errorf("apply migrations: %w", err)
	}
	return nil
}

// redactURLError returns err's text without anything that looks like a
// password in a URL.
func redactURLError(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "://"); i >= 0 {
		if j := strings.Index(msg[i:], "@"); j >= 0 {
			msg = msg[:i+3] + "REDACTED" + msg[i+j:]
		}
	}
	return msg
}

// Postgres reports whether the store runs on PostgreSQL.
func (s *Store) Postgres() bool { return s.postgres }

// PostgreSQL writes go through the same group commit as SQLite's
// (groupcommit.go): one writer goroutine per process runs the waiting write
// transactions, each in its own savepoint, in one transaction with one
// commit. Every such transaction first takes one transaction-level advisory
// lock, so the batches of all replicas run one at a time, as writes do on
// SQLite. That keeps the audit log's hash chain a single line (each row
// contains the hash of the row before it) and makes the read-then-write
// checks of the store's methods safe under PostgreSQL's READ COMMITTED
// isolation: after the lock, each statement reads every write committed
// before it. Reads outside withTx do not take the lock.
//
// A batch that fails as a whole, and a function that fails with a
// serialization failure or deadlock (SQLSTATE 40001, 40P01), run again
// alone through withPostgresTx, so fn must not keep state across runs.
//
// postgresGroupOptions returns the options that adapt the group commit to
// PostgreSQL in this way.
func (s *Store) postgresGroupOptions() groupOptions {
	return groupOptions{
		begin: func(tx *sql.Tx) error { return takeWriterLock(context.Background(), tx) },
		alone: func(r *writeRequest, failed error) error {
			if failed == nil {
				return s.withPostgresTx(r.ctx, r.fn, 0)
			}
			s.pg.Log.Warn("database transaction retried", "attempt", 1, "error", failed)
			return s.withPostgresTx(r.ctx, r.fn, 1)
		},
		retry: isRetryable,
	}
}

// withPostgresTx runs fn in its own transaction, and again after a
// serialization failure or deadlock until Retries runs beyond the first
// have been made. attemptsUsed counts the runs that already failed in a
// batch.
func (s *Store) withPostgresTx(ctx context.Context, fn func(tx *sql.Tx) error, attemptsUsed int) error {
	for attempt := attemptsUsed; ; attempt++ {
		err := s.runPostgresTx(ctx, fn)
		if err == nil || !isRetryable(err) || attempt >= s.pg.Retries {
			return err
		}
		s.pg.Log.Warn("database transaction retried", "attempt", attempt+1, "error", err)
	}
}

func (s *Store) runPostgresTx(ctx context.Context, fn func(tx *sql.Tx) error) (err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()

	if err := takeWriterLock(ctx, tx); err != nil {
		return err
	}
	if err := callProtected(fn, tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func takeWriterLock(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(?)`, int64(writerLockKey)); err != nil {
		return fmt.Errorf("take the writer lock: %w", err)
	}
	return nil
}

// WithStartupLock runs fn while holding a lock that other processes on the
// same database take too, so that replicas starting together on an empty
// database create one development CA and one bootstrap account, not one
// each. On SQLite, where one server owns the data directory, it runs fn.
func (s *Store) WithStartupLock(ctx context.Context, fn func() error) error {
	if !s.postgres {
		return fn()
	}

	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("start-up lock: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(?)`, int64(startupLockKey)); err != nil {
		return fmt.Errorf("start-up lock: %w", err)
	}
	defer func() {
		// A background context, so that the unlock runs even when ctx is done.
		_, _ = conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock(?)`, int64(startupLockKey))
	}()
	return fn()
}

// isRetryable reports a PostgreSQL serialization failure or deadlock.
func isRetryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40001" || pgErr.Code == "40P01")
}

// pgConnector opens pgx connections that accept the store's SQL, written
// with SQLite's ? placeholders.
type pgConnector struct{ driver.Connector }

func (c pgConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &pgConn{Conn: conn.(*stdlib.Conn)}, nil
}

// pgConn rewrites each statement's placeholders for PostgreSQL and passes
// everything else to pgx.
type pgConn struct{ *stdlib.Conn }

func (c *pgConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *pgConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	stmt, err := c.Conn.PrepareContext(ctx, rebind(query))
	if err != nil {
		return nil, err
	}
	return &pgStmt{Stmt: stmt.(*stdlib.Stmt)}, nil
}

func (c *pgConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return c.Conn.ExecContext(ctx, rebind(query), args)
}

func (c *pgConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	return c.Conn.QueryContext(ctx, rebind(query), args)
}

type pgStmt struct{ *stdlib.Stmt }

func (s *pgStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	return s.Stmt.ExecContext(ctx, args)
}

func (s *pgStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	return s.Stmt.QueryContext(ctx, args)
}

// rebind turns the ? placeholders of query into PostgreSQL's $1, $2, ...
// A ? inside a quoted string, a quoted identifier or a -- comment is left
// alone.
func rebind(query string) string {
	if !strings.Contains(query, "?") {
		return query
	}

	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	var quote byte
	comment := false
	for i := 0; i < len(query); i++ {
		ch := query[i]
		switch {
		case comment:
			if ch == '\n' {
				comment = false
			}
		case quote != 0:
			if ch == quote {
				quote = 0
			}
		case ch == '\'' || ch == '"':
			quote = ch
		case ch == '-' && i+1 < len(query) && query[i+1] == '-':
			comment = true
		case ch == '?':
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteByte(ch)
	}
	return b.String()
}
