package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/docsign-ca/docsign-ca/internal/pgtest"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

// Each data directory of a test gets its own database: its SQLite file, or,
// when the run names a PostgreSQL server (see package pgtest), a database
// made for it on first use and dropped when the test ends. Every command the
// harness runs for a data directory gets that database through
// DOCSIGN_DATABASE_URL, the environment form of --database-url.
var (
	databasesMu sync.Mutex
	databases   = map[string]string{}
)

// databaseURL returns the PostgreSQL URL of dataDir's database, creating
// the database on first use, or "" on SQLite.
func databaseURL(t testing.TB, dataDir string) string {
	t.Helper()
	if !pgtest.Enabled() {
		return ""
	}
	databasesMu.Lock()
	defer databasesMu.Unlock()
	if u, ok := databases[dataDir]; ok {
		return u
	}
	u := pgtest.NewDatabase(t)
	databases[dataDir] = u
	return u
}

// databaseEnv returns the environment entries that point a docsign-ca
// command at dataDir's database.
func databaseEnv(t testing.TB, dataDir string) []string {
	t.Helper()
	if u := databaseURL(t, dataDir); u != "" {
		return []string{"DOCSIGN_DATABASE_URL=" + u}
	}
	return nil
}

// docsignCommand is exec.Command for the docsign-ca binary, run for
// dataDir's database.
func docsignCommand(t testing.TB, dataDir string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), databaseEnv(t, dataDir)...)
	return cmd
}

// openDataDirStore opens the database of a data directory beside its
// server, as an operator command would.
func openDataDirStore(dataDir string) (*store.Store, error) {
	if !pgtest.Enabled() {
		return store.Open(context.Background(), filepath.Join(dataDir, "docsign.db"))
	}
	databasesMu.Lock()
	u, ok := databases[dataDir]
	databasesMu.Unlock()
	if !ok {
		return nil, fmt.Errorf("no database was made for data directory %s", dataDir)
	}
	return store.OpenPostgres(context.Background(), u, store.DefaultPostgresOptions)
}

// requireSQLite skips a test of something only the SQLite data directory
// has, such as the database file itself, when the run uses PostgreSQL.
// reason names the PostgreSQL counterpart, if there is one.
func requireSQLite(t *testing.T, reason string) {
	t.Helper()
	if pgtest.Enabled() {
		t.Skipf("SQLite only: %s", reason)
	}
}

// addDatabaseDump adds the rows of dataDir's PostgreSQL database, as
// pg_dump writes them, to sources under "docsign.db", the name the SQLite
// file has there, so that a scan for secrets covers both databases.
func addDatabaseDump(t *testing.T, dataDir string, sources map[string][]byte) {
	t.Helper()
	u := databaseURL(t, dataDir)
	if u == "" {
		return
	}
	dump, err := exec.Command("pg_dump", "--data-only", "--dbname", u).Output()
	if err != nil {
		t.Fatalf("pg_dump: %v", err)
	}
	sources["docsign.db"] = dump
}
