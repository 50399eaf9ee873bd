package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// serverTLSFiles writes a self-signed certificate for 127.0.0.1 and its
// key, and returns the file names and a pool that trusts the certificate.
func serverTLSFiles(t *testing.T) (certFile, keyFile string, roots *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	template := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "docsign-ca e2e"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:   time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "tls.pem"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), 0o600); err != nil {
		t.Fatal(err)
	}
	roots = x509.NewCertPool()
	roots.AddCert(cert)
	return certFile, keyFile, roots
}

// startTLSServer starts docsign-ca serve with HTTPS and waits for /healthz
// over TLS. It returns the address.
func startTLSServer(t *testing.T, certFile, keyFile string, roots *x509.CertPool) string {
	t.Helper()
	addr := freeAddr(t)
	dataDir := t.TempDir()
	cmd := docsignCommand(t, dataDir, "serve", "--listen", addr, "--public-url", "https://"+addr, "--data-dir", dataDir,
		"--rate-limit", "off", "--tls-cert", certFile, "--tls-key", keyFile)
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})

	client := tlsClient(roots, tls.VersionTLS12, tls.VersionTLS13)
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := client.Get("https://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return addr
			}
		}
		select {
		case <-done:
			t.Fatalf("server exited during start:\n%s", logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not become healthy over HTTPS:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func tlsClient(roots *x509.CertPool, minVersion, maxVersion uint16) *http.Client {
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{
			RootCAs: roots, MinVersion: minVersion, MaxVersion: maxVersion,
		}},
	}
}

func TestHTTPSWithTLS12Minimum(t *testing.T) {
	certFile, keyFile, roots := serverTLSFiles(t)
	addr := startTLSServer(t, certFile, keyFile, roots)

	cbcOnly := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		RootCAs: roots, MaxVersion: tls.VersionTLS12,
		CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA},
	}}}
	cases := []struct {
		name   string
		client *http.Client
		url    string
		ok     bool
	}{
		{"TLS 1.3", tlsClient(roots, tls.VersionTLS13, tls.VersionTLS13), "https://" + addr, true},
		{"TLS 1.2", tlsClient(roots, tls.VersionTLS12, tls.VersionTLS12), "https://" + addr, true},
		{"TLS 1.1", tlsClient(roots, tls.VersionTLS10, tls.VersionTLS11), "https://" + addr, false},
		{"TLS 1.2 with CBC suites only", cbcOnly, "https://" + addr, false},
		{"plain HTTP", &http.Client{Timeout: 10 * time.Second}, "http://" + addr, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := tc.client.Get(tc.url + "/healthz")
			if err != nil {
				if tc.ok {
					t.Fatalf("request failed: %v", err)
				}
				t.Logf("refused as expected: %v", err)
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if tc.ok && resp.StatusCode != http.StatusOK {
				t.Errorf("status %d, want 200: %s", resp.StatusCode, body)
			}
			if !tc.ok && (resp.StatusCode == http.StatusOK || strings.Contains(string(body), `"status"`)) {
				t.Errorf("the server answered the API over this connection: %d %s", resp.StatusCode, body)
			}
		})
	}
}
