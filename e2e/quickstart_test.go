package e2e

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestQuickstartScript runs examples/quickstart.sh, with curl and openssl,
// against a real server, as the README instructs a new user.
func TestQuickstartScript(t *testing.T) {
	s := startServer(t)
	cmd := quickstartCommand(t, s.URL, s.DataDir)
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

// TestQuickstartScriptErrors checks the two messages quickstart.sh prints
// before its first request when the README's setup is incomplete.
func TestQuickstartScriptErrors(t *testing.T) {
	s := startServer(t)
	stopped := freeAddr(t)
	emptyDir := t.TempDir()

	tests := []struct {
		name    string
		url     string
		dataDir string
		want    string
	}{
		{
			name:    "no server",
			url:     "http://" + stopped,
			dataDir: s.DataDir,
			want:    "quickstart.sh: no docsign-ca server at http://" + stopped + "; start one or set DOCSIGN_URL\n",
		},
		{
			name:    "no key file",
			url:     s.URL,
			dataDir: emptyDir,
			want:    "quickstart.sh: no API key at " + emptyDir + "/bootstrap-api-key; set DOCSIGN_DATA_DIR to the server's --data-dir\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := quickstartCommand(t, tt.url, tt.dataDir)
			cmd.Env = append(cmd.Env, "DOCSIGN_API_KEY=")
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Errorf("quickstart.sh: err = %v, expected exit status 1", err)
			}
			if string(out) != tt.want {
				t.Errorf("quickstart.sh output:\n%s\nwant:\n%s", out, tt.want)
			}
		})
	}
}

// quickstartCommand runs examples/quickstart.sh against the server at url
// whose data directory is dataDir, with operator commands run by the
// docsign-ca binary under test.
func quickstartCommand(t *testing.T, url, dataDir string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("bash", "../examples/quickstart.sh")
	cmd.Env = append(os.Environ(),
		"DOCSIGN_URL="+url,
		"DOCSIGN_DATA_DIR="+dataDir,
		"DOCSIGN_CA="+binary,
		"OUT="+t.TempDir(),
	)
	return cmd
}
