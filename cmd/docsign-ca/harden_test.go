package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func parsedHTTPConfig(t *testing.T, args ...string) *httpConfig {
	t.Helper()
	var c httpConfig
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.register(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return &c
}

func TestHTTPConfigCheck(t *testing.T) {
	cases := []struct {
		name     string
		args     []string
		wantText string // "" means valid
	}{
		{"defaults", nil, ""},
		{"certificate and key", []string{"--tls-cert", "c.pem", "--tls-key", "k.pem"}, ""},
		{"certificate without key", []string{"--tls-cert", "c.pem"}, "go together"},
		{"key without certificate", []string{"--tls-key", "k.pem"}, "go together"},
		{"zero header timeout", []string{"--read-header-timeout", "0s"}, "--read-header-timeout"},
		{"negative read timeout", []string{"--read-timeout", "-1s"}, "--read-timeout"},
		{"zero write timeout", []string{"--write-timeout", "0"}, "--write-timeout"},
		{"zero idle timeout", []string{"--idle-timeout", "0"}, "--idle-timeout"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := parsedHTTPConfig(t, tc.args...).check()
			switch {
			case tc.wantText == "" && err != nil:
				t.Errorf("check() = %v, want no error", err)
			case tc.wantText != "" && (err == nil || !strings.Contains(err.Error(), tc.wantText)):
				t.Errorf("check() = %v, want an error naming %q", err, tc.wantText)
			}
		})
	}
}

func TestHTTPServerSettings(t *testing.T) {
	c := parsedHTTPConfig(t, "--read-header-timeout", "2s", "--read-timeout", "3s", "--write-timeout", "4s", "--idle-timeout", "5s")
	srv, err := c.newServer(http.NotFoundHandler(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if srv.ReadHeaderTimeout != 2*time.Second || srv.ReadTimeout != 3*time.Second || srv.WriteTimeout != 4*time.Second || srv.IdleTimeout != 5*time.Second {
		t.Errorf("timeouts %v %v %v %v, want 2s 3s 4s 5s", srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout)
	}
	if srv.MaxHeaderBytes != 64<<10 {
		t.Errorf("MaxHeaderBytes %d, want 64 KiB", srv.MaxHeaderBytes)
	}
	if srv.TLSConfig != nil {
		t.Error("a server without --tls-cert has a TLS configuration")
	}
}

func TestHTTPServerTLS(t *testing.T) {
	certFile, keyFile := writeTestServerCertificate(t)
	c := parsedHTTPConfig(t, "--tls-cert", certFile, "--tls-key", keyFile)
	srv, err := c.newServer(http.NotFoundHandler(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if srv.TLSConfig.MinVersion != tls.VersionTLS12 {
		t.Errorf("MinVersion %x, want TLS 1.2", srv.TLSConfig.MinVersion)
	}
	for _, id := range srv.TLSConfig.CipherSuites {
		suite := tls.CipherSuiteName(id)
		if !strings.Contains(suite, "ECDHE") || !(strings.Contains(suite, "GCM") || strings.Contains(suite, "CHACHA20")) {
			t.Errorf("cipher suite %s is not a forward-secret AEAD suite", suite)
		}
	}

	bad := parsedHTTPConfig(t, "--tls-cert", certFile, "--tls-key", certFile)
	if _, err := bad.newServer(http.NotFoundHandler(), slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil ||
		!strings.Contains(err.Error(), "--tls-key") {
		t.Errorf("a certificate given as its own key: err = %v, want an error naming --tls-key", err)
	}
}

// writeTestServerCertificate writes a self-signed ECDSA certificate for
// 127.0.0.1 and its key, and returns the two file names.
func writeTestServerCertificate(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	template := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "server.pem"), filepath.Join(dir, "server.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}
