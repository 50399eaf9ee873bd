package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
)

// openCachingDB opens a SQLite file through the statement-caching connector
// with one connection, so that every query runs on the same connection.
func openCachingDB(t *testing.T) *sql.DB {
	t.Helper()
	ctx := context.Background()

	st, err := Open(ctx, filepath.Join(t.TempDir(), "stmtcache.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })

	db := st.DB()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)`); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		if _, err := db.ExecContext(ctx, `INSERT INTO items (id, name) VALUES (?, ?)`, i, fmt.Sprintf("item %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// cachingConn returns the statement-caching connection under conn.
func cachingConn(t *testing.T, conn *sql.Conn) *stmtCachingConn {
	t.Helper()
	var cc *stmtCachingConn
	err := conn.Raw(func(driverConn any) error {
		var ok bool
		cc, ok = driverConn.(*stmtCachingConn)
		if !ok {
			return fmt.Errorf("driver connection is %T, expected *stmtCachingConn", driverConn)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return cc
}

func namesOf(t *testing.T, rows *sql.Rows) []string {
	t.Helper()
	defer rows.Close()
	var names []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return names
}

func TestStmtCacheCompilesOnce(t *testing.T) {
	ctx := context.Background()
	conn, err := openCachingDB(t).Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cc := cachingConn(t, conn)
	before := cc.compiledStatements()

	for id := 1; id <= 3; id++ {
		var name string
		if err := conn.QueryRowContext(ctx, `SELECT name FROM items WHERE id = ?`, id).Scan(&name); err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("item %d", id); name != want {
			t.Errorf("id %d: name = %q, expected %q", id, name, want)
		}
	}

	if got := cc.compiledStatements() - before; got != 1 {
		t.Errorf("compiled %d statements for 3 runs of one query, expected 1", got)
	}
}

func TestStmtCacheNestedSameQuery(t *testing.T) {
	ctx := context.Background()
	conn, err := openCachingDB(t).Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const query = `SELECT name FROM items ORDER BY id`

	outer, err := conn.QueryContext(ctx, query)
	if err != nil {
		t.Fatal(err)
	}
	defer outer.Close()
	if !outer.Next() {
		t.Fatalf("outer query returned no rows: %v", outer.Err())
	}
	var first string
	if err := outer.Scan(&first); err != nil {
		t.Fatal(err)
	}

	// The same text while the outer result set is open must not reset it.
	inner, err := conn.QueryContext(ctx, query)
	if err != nil {
		t.Fatal(err)
	}
	innerNames := namesOf(t, inner)
	outerNames := append([]string{first}, namesOf(t, outer)...)

	want := []string{"item 1", "item 2", "item 3"}
	if fmt.Sprint(innerNames) != fmt.Sprint(want) {
		t.Errorf("inner query returned %q, expected %q", innerNames, want)
	}
	if fmt.Sprint(outerNames) != fmt.Sprint(want) {
		t.Errorf("outer query returned %q, expected %q", outerNames, want)
	}
}

func TestStmtCacheEvictsLeastRecent(t *testing.T) {
	ctx := context.Background()
	conn, err := openCachingDB(t).Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cc := cachingConn(t, conn)

	for i := range maxCachedStatements + 10 {
		var n int
		if err := conn.QueryRowContext(ctx, fmt.Sprintf(`SELECT %d`, i)).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != i {
			t.Fatalf("SELECT %d returned %d", i, n)
		}
	}

	if got := cc.cachedStatements(); got != maxCachedStatements {
		t.Errorf("cache holds %d statements, expected %d", got, maxCachedStatements)
	}

	// The first query was evicted, so running it again compiles it again.
	before := cc.compiledStatements()
	var n int
	if err := conn.QueryRowContext(ctx, `SELECT 0`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if got := cc.compiledStatements() - before; got != 1 {
		t.Errorf("evicted query compiled %d times, expected 1", got)
	}
}

func TestStmtCacheReusesAfterError(t *testing.T) {
	ctx := context.Background()
	db := openCachingDB(t)
	const insert = `INSERT INTO items (id, name) VALUES (?, ?)`

	_, err := db.ExecContext(ctx, insert, 10, "item 1")
	if !isUniqueViolation(err) {
		t.Fatalf("duplicate name: error = %v, expected a unique-constraint failure", err)
	}

	if _, err := db.ExecContext(ctx, insert, 10, "item 10"); err != nil {
		t.Fatalf("insert after a failed run of the same statement: %v", err)
	}
	var name string
	if err := db.QueryRowContext(ctx, `SELECT name FROM items WHERE id = 10`).Scan(&name); err != nil {
		t.Fatal(err)
	}
	if name != "item 10" {
		t.Errorf("name = %q, expected %q", name, "item 10")
	}
}

func TestStmtCacheInvalidQueryNotCached(t *testing.T) {
	ctx := context.Background()
	conn, err := openCachingDB(t).Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cc := cachingConn(t, conn)
	before := cc.cachedStatements()

	if _, err := conn.ExecContext(ctx, `SELECT name FROM missing_table`); err == nil {
		t.Fatal("query of a missing table succeeded")
	}
	if got := cc.cachedStatements(); got != before {
		t.Errorf("cache holds %d statements after a failed compile, expected %d", got, before)
	}
}

func TestStmtCacheCanceledQuery(t *testing.T) {
	db := openCachingDB(t)
	const query = `SELECT name FROM items WHERE id = ?`

	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	err := db.QueryRowContext(canceled, query, 1).Scan(new(string))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled query: error = %v, expected context.Canceled", err)
	}

	var name string
	if err := db.QueryRowContext(context.Background(), query, 2).Scan(&name); err != nil {
		t.Fatalf("query after a canceled run: %v", err)
	}
	if name != "item 2" {
		t.Errorf("name = %q, expected %q", name, "item 2")
	}
}

func TestStmtCacheTransactionStatements(t *testing.T) {
	ctx := context.Background()
	db := openCachingDB(t)
	const update = `UPDATE items SET name = ? WHERE id = ?`

	for round := range 2 {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("round %d", round)
		if _, err := tx.ExecContext(ctx, update, name, 1); err != nil {
			t.Fatal(err)
		}
		if round == 0 {
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
	}

	var name string
	if err := db.QueryRowContext(ctx, `SELECT name FROM items WHERE id = 1`).Scan(&name); err != nil {
		t.Fatal(err)
	}
	if name != "round 0" {
		t.Errorf("name = %q, expected the committed %q", name, "round 0")
	}
}
