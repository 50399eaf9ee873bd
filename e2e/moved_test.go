package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMovedDataDirRestore moves a data directory, as `mv docsign-data
// elsewhere` does, and checks that serve names the restore command, and
// that after `restore --moved-from` the server starts and issues.
func TestMovedDataDirRestore(t *testing.T) {
	root := t.TempDir()
	oldDir := filepath.Join(root, "docsign-data")
	newDir := filepath.Join(root, "elsewhere")
	first := startServerIn(t, oldDir)
	first.stop()

	if err := os.Rename(oldDir, newDir); err != nil {
		t.Fatal(err)
	}
	if u := databaseURL(t, oldDir); u != "" {
		useDatabase(newDir, u)
	}

	moved := launchServer(t, newDir, nil)
	if code := moved.waitExit(); code != 1 {
		t.Errorf("serve on the moved data directory exited with status %d, expected 1", code)
	}
	hint := "if the data directory was moved, run: docsign-ca restore --moved-from " + oldDir + " --data-dir " + newDir
	if logs := moved.logs.String(); !strings.Contains(logs, hint) {
		t.Errorf("serve output lacks %q:\n%s", hint, logs)
	}

	moved.cli("restore", "--moved-from", oldDir)
	expectKeyURIsUnder(t, newDir)

	s := startServerIn(t, newDir)
	orgID := createValidatedOrganization(t, s, s.Key, "Moved Data Directory Inc")
	issuedCertificateID(t, s, orgID)
}
