// Package e2e runs the real docsign-ca binary on a loopback port with a
// temporary data directory and talks to it over HTTP, as a client would.
package e2e

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary is the docsign-ca executable built once for the whole package.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "docsign-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "docsign-ca")
	build := exec.Command("go", "build", "-o", binary, "../cmd/docsign-ca")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build docsign-ca:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is one running docsign-ca process.
type server struct {
	t       *testing.T
	URL     string
	DataDir string
	Key     string // the bootstrap administrator's API key
	cmd     *exec.Cmd
	logs    *syncBuffer
	done    chan struct{}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// startServer starts docsign-ca serve on a new data directory.
func startServer(t *testing.T, extraArgs ...string) *server {
	t.Helper()
	return startServerIn(t, t.TempDir(), extraArgs...)
}

// startServerIn starts docsign-ca serve on dataDir and waits for /healthz.
func startServerIn(t *testing.T, dataDir string, extraArgs ...string) *server {
	t.Helper()
	return startServerEnv(t, dataDir, nil, extraArgs...)
}

// startServerEnv is startServerIn with env ("NAME=value") added to the
// server's environment, for settings that are not flags, such as
// SOFTHSM2_CONF and DOCSIGN_PKCS11_PIN.
func startServerEnv(t *testing.T, dataDir string, env []string, extraArgs ...string) *server {
	t.Helper()
	s := launchServer(t, dataDir, env, extraArgs...)
	s.waitHealthy()
	return s
}

// launchServer starts docsign-ca serve on dataDir without waiting for it;
// waitHealthy waits.
func launchServer(t *testing.T, dataDir string, env []string, extraArgs ...string) *server {
	t.Helper()
	addr := freeAddr(t)
	// Rate limiting is off unless a test turns it on: the suite sends more
	// than CertCentral's 100 requests per 5 seconds with one key. A later
	// --rate-limit in extraArgs wins. --public-url matches --listen, so that
	// the CRL, OCSP and CA certificate URLs in issued certificates reach
	// this server.
	args := append([]string{"serve", "--listen", addr, "--public-url", "http://" + addr, "--data-dir", dataDir,
		"--issue-interval", "200ms", "--rate-limit", "off"}, extraArgs...)
	cmd := docsignCommand(t, dataDir, args...)
	cmd.Env = append(cmd.Env, env...)
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{t: t, URL: "http://" + addr, DataDir: dataDir, cmd: cmd, logs: logs, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	return s
}

// waitHealthy waits until /healthz returns 200, then reads the bootstrap
// API key.
func (s *server) waitHealthy() {
	t := s.t
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(s.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-s.done:
			t.Fatalf("server exited during start:\n%s", s.logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not become healthy:\n%s", s.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	key, err := os.ReadFile(filepath.Join(s.DataDir, "bootstrap-api-key"))
	if err != nil {
		t.Fatal(err)
	}
	s.Key = strings.TrimSpace(string(key))
}

// stop sends SIGTERM and waits for the process to exit.
func (s *server) stop() {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// response is a finished HTTP exchange.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r *response) JSON(t *testing.T) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("response is not a JSON object: %v\n%s", err, r.Body)
	}
	return v
}

// ErrorCodes returns the codes of a CertCentral error envelope.
func (r *response) ErrorCodes(t *testing.T) []string {
	t.Helper()
	var env struct {
		Errors []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(r.Body, &env); err != nil {
		t.Fatalf("response is not an error envelope: %v\n%s", err, r.Body)
	}
	codes := make([]string, 0, len(env.Errors))
	for _, e := range env.Errors {
		codes = append(codes, e.Code)
	}
	return codes
}

// do sends a request with the API key; body may be nil, a string, []byte or
// a value to encode as JSON.
func (s *server) do(method, path, key string, body any) *response {
	s.t.Helper()
	var reader io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		reader = strings.NewReader(b)
	case []byte:
		reader = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			s.t.Fatal(err)
		}
		reader = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, s.URL+path, reader)
	if err != nil {
		s.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("X-DC-DEVKEY", key)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return &response{Status: resp.StatusCode, Header: resp.Header, Body: raw}
}

// cli runs an operator command against the server's data directory.
func (s *server) cli(args ...string) string {
	s.t.Helper()
	args = append(args, "--data-dir", s.DataDir)
	out, err := docsignCommand(s.t, s.DataDir, args...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("docsign-ca %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// countRows opens the server's database beside the running server
// and counts the rows of a table.
func (s *server) countRows(table string) int {
	s.t.Helper()
	st, err := openDataDirStore(s.DataDir)
	if err != nil {
		s.t.Fatal(err)
	}
	defer st.Close()
	var n int
	if err := st.DB().QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil {
		s.t.Fatal(err)
	}
	return n
}

// rowCounts returns the row counts of every table an order writes to.
func (s *server) rowCounts() map[string]int {
	s.t.Helper()
	out := map[string]int{}
	for _, table := range []string{"orders", "requests", "certificates", "organizations", "validations", "issuance_intents"} {
		out[table] = s.countRows(table)
	}
	return out
}

var (
	keyOnce sync.Once
	rsaKey  *rsa.PrivateKey
)

// testRSAKey returns one RSA-2048 key shared by the package's tests.
func testRSAKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		rsaKey = k
	})
	return rsaKey
}

// csrPEM returns a PEM CSR for key with a subject the CA must ignore.
func csrPEM(t *testing.T, key any) string {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: "ignored.example", Organization: []string{"Not The Organization"}},
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
}

func newECKey(t *testing.T, curve elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func jsonBytes(v any) ([]byte, error) { return json.Marshal(v) }
