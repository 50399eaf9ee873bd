package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
	select {
	case <-moved.done:
	case <-time.After(60 * time.Second):
		t.Fatalf("serve on the moved data directory did not exit:\n%s", moved.logs.String())
	}
	if code := moved.cmd.ProcessState.ExitCode(); code != 1 {
		t.Errorf("serve on the moved data directory exited with status %d; want 1", code)
	}
	hint := "if the data directory was moved, run: docsign-ca restore --moved-from " + oldDir + " --data-dir " + newDir
	if logs := moved.logs.String(); !strings.Contains(logs, hint) {
		t.Errorf("serve output lacks %q:\n%s", hint, logs)
	}

	out, err := docsignCommand(t, newDir, "restore", "--moved-from", oldDir, "--data-dir", newDir).CombinedOutput()
	if err != nil {
		t.Fatalf("restore --moved-from: %v\n%s", err, out)
	}
	expectKeyURIsUnder(t, newDir)

	s := startServerIn(t, newDir)
	orgID := createValidatedOrganization(t, s, s.Key, "Moved Data Directory Inc")
	issuedCertificateID(t, s, orgID)
}
