package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

func TestRebind(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"no placeholders", `SELECT 1`, `SELECT 1`},
		{"numbered in order", `SELECT a FROM t WHERE b = ? AND c = ?`, `SELECT a FROM t WHERE b = $1 AND c = $2`},
		{"inside a string", `SELECT '?' WHERE x = ?`, `SELECT '?' WHERE x = $1`},
		{"inside a quoted name", `SELECT "a?" WHERE x = ?`, `SELECT "a?" WHERE x = $1`},
		{"inside a comment", "SELECT 1 -- why?\nWHERE x = ?", "SELECT 1 -- why?\nWHERE x = $1"},
		{"escape clause", `x LIKE ? ESCAPE '\' AND y = ?`, `x LIKE $1 ESCAPE '\' AND y = $2`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := rebind(tc.in); got != tc.want {
				t.Errorf("rebind(%q) = %q, expected %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestPostgresRetriesSerializationFailures(t *testing.T) {
	st := openTestStore(t, "retry.db")
	if !st.postgres {
		t.Skip("PostgreSQL only: SQLite has one writer and no serialization failures; run with scripts/with-postgres")
	}
	ctx := context.Background()
	cases := []struct {
		name      string
		code      string
		retries   int
		failures  int
		wantRuns  int
		wantError bool
	}{
		{"serialization failure retried", "40001", 3, 1, 2, false},
		{"deadlock retried", "40P01", 3, 2, 3, false},
		{"retries used up", "40001", 1, 5, 2, true},
		{"other error not retried", "23505", 3, 1, 1, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st.pg.Retries = tc.retries
			runs := 0
			err := st.withTx(ctx, func(tx *sql.Tx) error {
				runs++
				if runs <= tc.failures {
					return &pgconn.PgError{Code: tc.code, Message: "injected"}
				}
				return nil
			})
			if runs != tc.wantRuns {
				t.Errorf("fn ran %d times, expected %d", runs, tc.wantRuns)
			}
			var pgErr *pgconn.PgError
			if got := errors.As(err, &pgErr); got != tc.wantError {
				t.Errorf("err = %v, expected an error: %v", err, tc.wantError)
			}
		})
	}
}

func TestOpenPostgresKeepsPasswordsOutOfErrors(t *testing.T) {
	cases := []struct{ name, url string }{
		{"unparsable URL", "postgres://docsign:s3cret-pass@127.0.0.1:notaport/docsign"},
		{"unknown parameter", "postgres://docsign:s3cret-pass@127.0.0.1:1/docsign?sslmode=sometimes"},
		// Port 1 on loopback refuses the connection at once.
		{"server not reachable", "postgres://docsign:s3cret-pass@127.0.0.1:1/docsign?sslmode=disable&connect_timeout=2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := OpenPostgres(context.Background(), tc.url, DefaultPostgresOptions)
			if err == nil {
				t.Fatal("OpenPostgres succeeded")
			}
			if strings.Contains(err.Error(), "s3cret-pass") {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}
}
