package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOperatorCommandsNeedAnExistingDatabase runs operator commands on a
// data directory without a database, as after a mistyped --data-dir or a
// forgotten --database-url: each must fail with a message that names the
// fix, and must not create an empty database there.
func TestOperatorCommandsNeedAnExistingDatabase(t *testing.T) {
	requireSQLite(t, "on PostgreSQL the database comes from --database-url, not the data directory")
	cases := []struct {
		name string
		args []string
	}{
		{"accounts create", []string{"accounts", "create", "--name", "Typo Inc"}},
		{"validation approve", []string{"validation", "approve", "--organization", "1"}},
		{"certificates list", []string{"certificates", "list"}},
		{"keys create", []string{"keys", "create", "--user", "1"}},
		{"tokens list", []string{"tokens", "list"}},
		{"ca list", []string{"ca", "list"}},
		{"finance deposit", []string{"finance", "deposit", "--container", "1", "--amount", "10.00"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dataDir := filepath.Join(t.TempDir(), "mistyped")
			out, err := docsignCommand(t, dataDir, append(tc.args, "--data-dir", dataDir)...).CombinedOutput()
			if err == nil {
				t.Fatalf("docsign-ca %s succeeded on a data directory without a database:\n%s", strings.Join(tc.args, " "), out)
			}
			if !strings.Contains(string(out), "no database at") || !strings.Contains(string(out), "--database-url") {
				t.Errorf("message does not name the missing database and the fix:\n%s", out)
			}
			if _, err := os.Stat(filepath.Join(dataDir, "docsign.db")); err == nil {
				t.Errorf("the command created %s", filepath.Join(dataDir, "docsign.db"))
			}
		})
	}
}
