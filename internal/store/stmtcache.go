package store

import (
	"context"
	"database/sql"
	"sync"
)

// stmtCache keeps prepared statements for the hottest queries. SQLite
// compiles every statement before it runs, and with the pure-Go driver the
// compilation took most of the time of a short indexed query. The API key
// look-up took 47 µs through DB.QueryRowContext and 13 µs prepared, on the
// 2-core machine of docs/benchmarks.md. A sql.Stmt is prepared once per
// connection and then reused.
//
// TODO: only CallerByKeyHash uses it so far. The other reads of an order's
// lifecycle, and the statements inside withTx (through Tx.StmtContext, which
// reuses a statement already prepared on the transaction's connection),
// would save the same share.
type stmtCache struct {
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

// queryRow runs a single-row query through a cached prepared statement.
func (s *Store) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	stmt, err := s.prepared(ctx, query)
	if err != nil {
		// Preparing failed, for example on a closed database; the plain
		// query reports the same error through Row.Scan.
		return s.db.QueryRowContext(ctx, query, args...)
	}
	return stmt.QueryRowContext(ctx, args...)
}

func (s *Store) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	s.stmts.mu.Lock()
	defer s.stmts.mu.Unlock()
	if stmt, ok := s.stmts.stmts[query]; ok {
		return stmt, nil
	}

	stmt, err := s.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if s.stmts.stmts == nil {
		s.stmts.stmts = map[string]*sql.Stmt{}
	}
	s.stmts.stmts[query] = stmt
	return stmt, nil
}

// close closes the cached statements.
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, stmt := range c.stmts {
		_ = stmt.Close()
	}
	c.stmts = nil
}
