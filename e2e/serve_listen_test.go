package e2e

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeOnTakenPort starts serve on a port that another listener is bound to.
// serve must exit with an error that names --listen, before it creates the
// data directory.
func TestServeOnTakenPort(t *testing.T) {
	otherListener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer otherListener.Close()
	addr := otherListener.Addr().String()
	dataDir := filepath.Join(t.TempDir(), "docsign-data")

	cmd := docsignCommand(t, dataDir, "serve", "--listen", addr, "--public-url", "http://"+addr, "--data-dir", dataDir)
	out, err := cmd.CombinedOutput()

	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() == 0 {
		t.Fatalf("serve on the taken address %s: err = %v, expected a non-zero exit; output:\n%s", addr, err, out)
	}
	expected := "listen on " + addr + ": address already in use; stop the other server or choose another address with --listen (and --public-url)"
	if !strings.Contains(string(out), expected) {
		t.Errorf("serve output lacks %q:\n%s", expected, out)
	}
	if _, err := os.Stat(dataDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("serve created the data directory %s although it could not listen (stat: %v)", dataDir, err)
	}
}
