// Package pgtest gives each test its own PostgreSQL database when the
// test run names a server, so that the same tests run against SQLite and
// PostgreSQL. `.ci/run` starts a server on loopback and runs the test
// suite twice: once without DOCSIGN_TEST_POSTGRES_URL, once with it.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL names the environment variable that holds the URL of a database
// on the test server (often .../postgres) whose role may create databases.
const EnvURL = "DOCSIGN_TEST_POSTGRES_URL"

// Enabled reports whether this test run uses PostgreSQL.
func Enabled() bool { return os.Getenv(EnvURL) != "" }

// NewDatabase creates an empty database on the test server and returns its
// URL, or "" when the run uses SQLite. The database is dropped when the
// test ends.
func NewDatabase(t testing.TB) string {
	t.Helper()
	admin := os.Getenv(EnvURL)
	if admin == "" {
		return ""
	}

	name := "docsign_test_" + randomSuffix(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("connect to the test PostgreSQL server named by %s: %v", EnvURL, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create test database %s: %v", name, err)
	}
	t.Cleanup(func() { drop(t, admin, name) })

	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("parse %s: %v", EnvURL, err)
	}
	u.Path = "/" + name
	return u.String()
}

func drop(t testing.TB, admin, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Errorf("drop test database %s: %v", name, err)
		return
	}
	defer conn.Close(ctx)
	// FORCE ends the sessions of a server that a test killed.
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
		t.Errorf("drop test database %s: %v", name, err)
	}
}

func randomSuffix(t testing.TB) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// Describe names the database a run uses, for test logs.
func Describe() string {
	if !Enabled() {
		return "SQLite"
	}
	return fmt.Sprintf("PostgreSQL (%s)", EnvURL)
}
