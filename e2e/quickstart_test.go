package e2e

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestQuickstartScript runs examples/quickstart.sh, with curl and openssl,
// against a real server, as the README instructs a new user.
func TestQuickstartScript(t *testing.T) {
	s := startServer(t)
	cmd := exec.Command("bash", "../examples/quickstart.sh")
	cmd.Env = append(os.Environ(),
		"DOCSIGN_URL="+s.URL,
		"DOCSIGN_DATA_DIR="+s.DataDir,
		"DOCSIGN_CA="+binary,
		"OUT="+t.TempDir(),
	)
	cmd.Env = append(cmd.Env, databaseEnv(t, s.DataDir)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("quickstart.sh failed: %v\n%s", err, out)
	}
	for _, expected := range []string{"cert-1.pem: OK", "waits for its key material: \"status\":\"pending\""} {
		if !strings.Contains(string(out), expected) {
			t.Errorf("quickstart output lacks %q:\n%s", expected, out)
		}
	}
	if strings.Count(string(out), "approved request") != 3 {
		t.Errorf("quickstart did not approve three requests:\n%s", out)
	}
}
