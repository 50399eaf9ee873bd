package notify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docsign-ca/docsign-ca/internal/notify/smtptest"
)

// relay starts a test SMTP server and returns it with a pool that trusts
// its certificate.
func relay(t *testing.T, config smtptest.Config, withTLS bool) (*smtptest.Server, *x509.CertPool) {
	t.Helper()
	var roots *x509.CertPool
	if withTLS {
		cert, pemBytes, err := smtptest.NewCertificate()
		if err != nil {
			t.Fatal(err)
		}
		config.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
		roots = x509.NewCertPool()
		roots.AppendCertsFromPEM(pemBytes)
	}
	server, err := smtptest.Start(config)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close() })
	return server, roots
}

const testBody = "Subject: test\r\n\r\nHello.\r\n"

func TestSMTPSenderDelivers(t *testing.T) {
	cases := []struct {
		name     string
		config   smtptest.Config
		withTLS  bool
		url      string // %s is the relay's host:port
		user     string
		expectTL bool
	}{
		{"STARTTLS and AUTH PLAIN", smtptest.Config{Username: "mailer", Password: "s3cret"}, true, "smtp://mailer:s3cret@%s", "mailer", true},
		{"STARTTLS without AUTH", smtptest.Config{}, true, "smtp://%s", "", true},
		{"TLS on connect", smtptest.Config{ImplicitTLS: true, Username: "mailer", Password: "s3cret"}, true, "smtps://mailer:s3cret@%s", "mailer", true},
		{"plain relay on loopback", smtptest.Config{}, false, "smtp://%s?starttls=off", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			server, roots := relay(t, tc.config, tc.withTLS)
			sender, err := NewSMTPSender(strings.Replace(tc.url, "%s", server.Addr, 1), roots)
			if err != nil {
				t.Fatal(err)
			}
			to := []string{"ann@example.com", "bo@example.org"}
			if err := sender.Send(context.Background(), "ca@example.com", to, []byte(testBody)); err != nil {
				t.Fatalf("Send: %v", err)
			}

			got := server.Messages()
			if len(got) != 1 {
				t.Fatalf("relay received %d messages, expected 1", len(got))
			}
			m := got[0]
			if m.From != "ca@example.com" || strings.Join(m.To, ",") != "ann@example.com,bo@example.org" {
				t.Errorf("envelope from %q to %v", m.From, m.To)
			}
			if m.TLS != tc.expectTL {
				t.Errorf("TLS = %v, expected %v", m.TLS, tc.expectTL)
			}
			if m.User != tc.user {
				t.Errorf("authenticated as %q, expected %q", m.User, tc.user)
			}
			if string(m.Data) != testBody {
				t.Errorf("data = %q, expected %q", m.Data, testBody)
			}
			if strings.Contains(sender.Describe(), "s3cret") {
				t.Errorf("Describe shows the password: %s", sender.Describe())
			}
		})
	}
}

func TestSMTPSenderFailures(t *testing.T) {
	cases := []struct {
		name    string
		config  smtptest.Config
		withTLS bool
		trusted bool
		url     string
		message string
	}{
		{"wrong password", smtptest.Config{Username: "mailer", Password: "s3cret"}, true, true, "smtp://mailer:wrong@%s", "AUTH PLAIN"},
		{"relay without STARTTLS", smtptest.Config{}, false, false, "smtp://%s", "does not offer STARTTLS"},
		{"untrusted relay certificate", smtptest.Config{}, true, false, "smtp://%s", "STARTTLS"},
		{"user for a relay without AUTH", smtptest.Config{}, true, true, "smtp://mailer:s3cret@%s", "does not offer AUTH"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			server, roots := relay(t, tc.config, tc.withTLS)
			if !tc.trusted {
				roots = x509.NewCertPool()
			}
			sender, err := NewSMTPSender(strings.Replace(tc.url, "%s", server.Addr, 1), roots)
			if err != nil {
				t.Fatal(err)
			}
			err = sender.Send(context.Background(), "ca@example.com", []string{"ann@example.com"}, []byte(testBody))
			if err == nil {
				t.Fatal("Send succeeded")
			}
			if !strings.Contains(err.Error(), tc.message) {
				t.Errorf("error %q does not mention %q", err, tc.message)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error shows the password: %v", err)
			}
			if n := len(server.Messages()); n != 0 {
				t.Errorf("relay accepted %d messages", n)
			}
		})
	}
}

func TestNewSMTPSenderRejectsURL(t *testing.T) {
	cases := []string{
		"http://relay.example.com",
		"smtp://",
		"smtp://relay.example.com?tls=on",
		"smtps://relay.example.com?starttls=off",
		"smtp://relay.example.com?starttls=maybe",
		"::not a url",
	}
	for _, raw := range cases {
		if _, err := NewSMTPSender(raw, nil); err == nil {
			t.Errorf("NewSMTPSender(%q) accepted the URL", raw)
		}
	}
}

func TestNewSMTPSenderDefaultPorts(t *testing.T) {
	cases := map[string]string{
		"smtp://relay.example.com":      "relay.example.com:587",
		"smtps://relay.example.com":     "relay.example.com:465",
		"smtp://relay.example.com:2525": "relay.example.com:2525",
		"smtp://[::1]:25?starttls=off":  "[::1]:25",
	}
	for raw, expected := range cases {
		s, err := NewSMTPSender(raw, nil)
		if err != nil {
			t.Errorf("NewSMTPSender(%q): %v", raw, err)
			continue
		}
		if s.addr != expected {
			t.Errorf("NewSMTPSender(%q) dials %s, expected %s", raw, s.addr, expected)
		}
	}
}

func TestOutboxWritesEMLFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox")
	outbox := &Outbox{Dir: dir, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, body := range []string{testBody, strings.Replace(testBody, "Hello", "Again", 1)} {
		if err := outbox.Send(context.Background(), "ca@example.com", []string{"ann@example.com"}, []byte(body)); err != nil {
			t.Fatal(err)
		}
	}

	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Fatalf("outbox holds %d files, expected 2", len(entries))
	}
	for i, e := range entries {
		if !strings.HasSuffix(e.Name(), ".eml") {
			t.Errorf("file %s is not an .eml file", e.Name())
		}
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != 0o600 {
			t.Errorf("file %s has mode %o, expected 600", e.Name(), info.Mode().Perm())
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		// Names sort in sending order.
		expected := []string{"Hello", "Again"}[i]
		if !strings.Contains(string(data), expected) {
			t.Errorf("file %d holds %q, expected the message with %q", i, data, expected)
		}
	}
}
