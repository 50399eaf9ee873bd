package store

import (
	"container/list"
	"context"
	"database/sql/driver"
	"sync"
)

// SQLite statement cache. SQLite compiles every statement before it runs
// it, and modernc.org/sqlite compiles and finalizes a statement for each
// DB.QueryContext and DB.ExecContext call. With an ECDSA P-256 issuer and
// 16 benchmark clients, compiling took 26 % of the server's CPU samples
// (docs/benchmarks.md).
// The connector below wraps each SQLite connection so that it keeps its
// compiled statements, keyed by the query text, and runs a repeated query
// through the statement it compiled before. This covers every statement of
// the store, including those inside write transactions and savepoints,
// without a sql.Stmt at each call site.
//
// PostgreSQL needs no such cache, because pgx's default query mode
// (QueryExecModeCacheStatement, pgx v5) already prepares each query once
// per connection.

// maxCachedStatements bounds the compiled statements of one connection.
// Lists with optional filters build their query text, so the least recently
// used statements are finalized when a connection has more.
//
// NOTE: 128 is an estimate of the distinct statements a busy server runs,
// not a count.
const maxCachedStatements = 128

// sqliteConn is the set of driver interfaces of a modernc.org/sqlite
// connection. The methods that the wrapper does not override go straight
// to the connection, so database/sql finds the same optional interfaces as
// without the wrapper.
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// sqliteRows is the set of driver interfaces of a modernc.org/sqlite result
// set that database/sql uses.
type sqliteRows interface {
	driver.Rows
	driver.RowsColumnTypeDatabaseTypeName
	driver.RowsColumnTypeLength
	driver.RowsColumnTypeNullable
	driver.RowsColumnTypePrecisionScale
	driver.RowsColumnTypeScanType
}

// stmtCachingConnector opens SQLite connections that cache their
// statements. A connection without every method of sqliteConn is returned
// unwrapped. The connections of modernc.org/sqlite v1.62.0 have them all.
type stmtCachingConnector struct{ driver.Connector }

func (c stmtCachingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}

	inner, ok := conn.(sqliteConn)
	if !ok {
		return conn, nil
	}
	return newStmtCachingConn(inner), nil
}

// stmtCachingConn is a SQLite connection with a least-recently-used cache
// of compiled statements.
type stmtCachingConn struct {
	sqliteConn

	// mu guards the fields below. database/sql already runs one call at a
	// time on a connection, including the Rows.Close of its context
	// watcher, so the lock is a safeguard and is not contended.
	mu      sync.Mutex
	byQuery map[string]*list.Element
	// recent holds *cachedStmt values, the most recently used first.
	recent *list.List
	// compiled counts the statements this connection compiled for
	// ExecContext and QueryContext, for tests.
	compiled int
}

// cachedStmt is one compiled statement of a connection. A statement is busy
// while its result set is open. A second query with the same text then
// compiles a statement of its own, because running the busy statement would
// reset the open result set's cursor.
type cachedStmt struct {
	query   string
	stmt    driver.Stmt
	busy    bool
	evicted bool
}

func newStmtCachingConn(inner sqliteConn) *stmtCachingConn {
	return &stmtCachingConn{sqliteConn: inner, byQuery: map[string]*list.Element{}, recent: list.New()}
}

// ExecContext runs query through the connection's compiled statement for it.
func (c *stmtCachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	stmt, release, err := c.acquire(ctx, query)
	if err != nil {
		return nil, err
	}
	defer release()

	execer, ok := stmt.(driver.StmtExecContext)
	if !ok {
		return c.sqliteConn.ExecContext(ctx, query, args)
	}
	return execer.ExecContext(ctx, args)
}

// QueryContext runs query through the connection's compiled statement for
// it. The statement stays busy until the returned rows are closed.
func (c *stmtCachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	stmt, release, err := c.acquire(ctx, query)
	if err != nil {
		return nil, err
	}

	queryer, ok := stmt.(driver.StmtQueryContext)
	if !ok {
		release()
		return c.sqliteConn.QueryContext(ctx, query, args)
	}
	rows, err := queryer.QueryContext(ctx, args)
	if err != nil {
		release()
		return nil, err
	}

	typed, ok := rows.(sqliteRows)
	if !ok {
		// Wrapping would hide the column type methods of rows from
		// database/sql, so the query runs uncached.
		_ = rows.Close()
		release()
		return c.sqliteConn.QueryContext(ctx, query, args)
	}
	return &releasingRows{sqliteRows: typed, release: release}, nil
}

// Close finalizes the cached statements and then closes the connection,
// which SQLite requires of every statement before sqlite3_close.
func (c *stmtCachingConn) Close() error {
	c.mu.Lock()
	for e := c.recent.Front(); e != nil; e = e.Next() {
		_ = e.Value.(*cachedStmt).stmt.Close()
	}
	c.byQuery = map[string]*list.Element{}
	c.recent.Init()
	c.mu.Unlock()

	return c.sqliteConn.Close()
}

// acquire returns a compiled statement for query and the function that
// returns it to the cache. The statement is the cached one unless that is
// busy, in which case it is compiled for this call only.
func (c *stmtCachingConn) acquire(ctx context.Context, query string) (driver.Stmt, func(), error) {
	c.mu.Lock()
	if e, ok := c.byQuery[query]; ok {
		cached := e.Value.(*cachedStmt)
		if !cached.busy {
			cached.busy = true
			c.recent.MoveToFront(e)
			c.mu.Unlock()
			return cached.stmt, func() { c.release(cached) }, nil
		}
		c.mu.Unlock()
		return c.prepareOnce(ctx, query)
	}
	c.mu.Unlock()

	stmt, err := c.sqliteConn.PrepareContext(ctx, query)
	if err != nil {
		return nil, nil, err
	}

	cached := &cachedStmt{query: query, stmt: stmt, busy: true}
	c.mu.Lock()
	c.compiled++
	c.byQuery[query] = c.recent.PushFront(cached)
	c.evictLocked()
	c.mu.Unlock()
	return stmt, func() { c.release(cached) }, nil
}

// prepareOnce compiles query for one call and finalizes it on release.
func (c *stmtCachingConn) prepareOnce(ctx context.Context, query string) (driver.Stmt, func(), error) {
	stmt, err := c.sqliteConn.PrepareContext(ctx, query)
	if err != nil {
		return nil, nil, err
	}

	c.mu.Lock()
	c.compiled++
	c.mu.Unlock()
	return stmt, func() { _ = stmt.Close() }, nil
}

func (c *stmtCachingConn) release(cached *cachedStmt) {
	c.mu.Lock()
	defer c.mu.Unlock()

	cached.busy = false
	if cached.evicted {
		_ = cached.stmt.Close()
	}
}

// evictLocked removes the least recently used statements beyond
// maxCachedStatements. A busy statement leaves the cache at once and is
// finalized when its result set closes.
func (c *stmtCachingConn) evictLocked() {
	for c.recent.Len() > maxCachedStatements {
		e := c.recent.Back()
		cached := e.Value.(*cachedStmt)
		c.recent.Remove(e)
		delete(c.byQuery, cached.query)

		if cached.busy {
			cached.evicted = true
			continue
		}
		_ = cached.stmt.Close()
	}
}

// cachedStatements returns the number of statements in the cache.
func (c *stmtCachingConn) cachedStatements() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.recent.Len()
}

// compiledStatements returns how many statements ExecContext and
// QueryContext compiled on this connection.
func (c *stmtCachingConn) compiledStatements() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.compiled
}

// releasingRows returns its statement to the cache when it is closed.
type releasingRows struct {
	sqliteRows
	release func()
	closed  bool
}

func (r *releasingRows) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true

	err := r.sqliteRows.Close()
	r.release()
	return err
}
