// Package storetest opens stores for the tests of other packages: a SQLite
// file in a temporary directory, or a new PostgreSQL database when the run
// names a server (see package pgtest), so that the same tests cover both.
package storetest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/docsign-ca/docsign-ca/internal/pgtest"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

// Database is the location of a test's store: a SQLite file or a
// PostgreSQL database.
type Database struct {
	path string // the SQLite file, on SQLite
	url  string // the PostgreSQL URL, on PostgreSQL
}

// New makes an empty database for a test. name names the SQLite file in
// a temporary directory; on PostgreSQL a new database is created and
// dropped when the test ends.
func New(t testing.TB, name string) *Database {
	t.Helper()
	if u := pgtest.NewDatabase(t); u != "" {
		return &Database{url: u}
	}
	return &Database{path: filepath.Join(t.TempDir(), name)}
}

// Open opens a handle on the database, closed when the test ends.
func (d *Database) Open(t testing.TB) *store.Store {
	t.Helper()
	var (
		st  *store.Store
		err error
	)
	if d.url != "" {
		st, err = store.OpenPostgres(context.Background(), d.url, store.DefaultPostgresOptions)
	} else {
		st, err = store.Open(context.Background(), d.path)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// Open makes an empty database for a test and opens it.
func Open(t testing.TB, name string) *store.Store {
	t.Helper()
	return New(t, name).Open(t)
}
