package store

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/docsign-ca/docsign-ca/internal/pgtest"
)

// openTestStore opens an empty store for a test: a SQLite file named name
// in a temporary directory, or a new PostgreSQL database when the run
// names a server (see package pgtest). The store is closed when the test
// ends.
func openTestStore(t testing.TB, name string) *Store {
	t.Helper()
	ctx := context.Background()
	var (
		st  *Store
		err error
	)
	if u := pgtest.NewDatabase(t); u != "" {
		st, err = OpenPostgres(ctx, u, DefaultPostgresOptions)
	} else {
		st, err = Open(ctx, filepath.Join(t.TempDir(), name))
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// reopenTestStore opens a second handle on the database of st, as an
// operator command running beside the server does.
func reopenTestStore(t testing.TB, st *Store) *Store {
	t.Helper()
	ctx := context.Background()
	var (
		second *Store
		err    error
	)
	if st.postgres {
		second, err = OpenPostgres(ctx, st.source, st.pg)
	} else {
		second, err = Open(ctx, st.source)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { second.Close() })
	return second
}
