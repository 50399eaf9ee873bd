package e2e

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// waitExit waits for a server that must fail at start to exit, and returns
// its exit status. It fails the test when the server still runs after 60
// seconds, the time waitHealthy allows a start.
func (s *server) waitExit() int {
	s.t.Helper()
	select {
	case <-s.done:
	case <-time.After(60 * time.Second):
		s.t.Fatalf("server did not exit within 60s:\n%s", s.logs.String())
	}
	return s.cmd.ProcessState.ExitCode()
}

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

	// The later --listen and --public-url override the free address that
	// launchServer picks.
	s := launchServer(t, dataDir, nil, "--listen", addr, "--public-url", "http://"+addr)
	if code := s.waitExit(); code != 1 {
		t.Fatalf("serve on the taken address %s exited with status %d, expected 1; output:\n%s", addr, code, s.logs.String())
	}
	expected := "listen on " + addr + ": address already in use; stop the other server or choose another address with --listen (and --public-url)"
	if logs := s.logs.String(); !strings.Contains(logs, expected) {
		t.Errorf("serve output lacks %q:\n%s", expected, logs)
	}
	if _, err := os.Stat(dataDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("serve created the data directory %s although it could not listen (stat: %v)", dataDir, err)
	}
}
