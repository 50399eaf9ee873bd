package notify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"net/url"
	"os"
	"time"
)

// Sender delivers an encoded message to its recipients.
type Sender interface {
	Send(ctx context.Context, from string, to []string, message []byte) error
	// Describe names the destination for logs, without credentials.
	Describe() string
}

// SMTPSender sends through an SMTP relay (RFC 5321).
type SMTPSender struct {
	host        string
	addr        string
	implicitTLS bool
	startTLS    bool
	username    string
	password    string
	rootCAs     *x509.CertPool
	helloName   string
	// Timeout bounds one delivery, from dialing to QUIT.
	Timeout  time.Duration
	redacted string
}

// NewSMTPSender parses a relay URL:
//
//	smtp://[user[:password]@]host[:port]   port 587; STARTTLS (RFC 3207) is required
//	smtp://host:25?starttls=off            no TLS, for a relay on loopback only
//	smtps://[user[:password]@]host[:port]  port 465; TLS from the first byte (RFC 8314)
//
// With a user, the sender authenticates with AUTH PLAIN (RFC 4616), which
// net/smtp allows only over TLS or to localhost. rootCAs verifies the
// relay's certificate; nil uses the system roots.
func NewSMTPSender(raw string, rootCAs *x509.CertPool) (*SMTPSender, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("invalid SMTP URL: %w", err)
	}
	s := &SMTPSender{rootCAs: rootCAs, Timeout: time.Minute, redacted: u.Redacted(), helloName: helloName()}

	port := ""
	switch u.Scheme {
	case "smtp":
		port, s.startTLS = "587", true
	case "smtps":
		port, s.implicitTLS = "465", true
	default:
		return nil, fmt.Errorf("invalid SMTP URL %s: the scheme must be smtp or smtps", s.redacted)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("invalid SMTP URL %s: missing host; use smtp://host:587", s.redacted)
	}
	if u.Port() != "" {
		port = u.Port()
	}
	s.host, s.addr = u.Hostname(), net.JoinHostPort(u.Hostname(), port)

	if err := s.readQuery(u); err != nil {
		return nil, err
	}
	if u.User != nil {
		s.username = u.User.Username()
		s.password, _ = u.User.Password()
	}
	return s, nil
}

func (s *SMTPSender) readQuery(u *url.URL) error {
	for key, values := range u.Query() {
		switch {
		case key == "starttls" && u.Scheme == "smtp" && len(values) == 1 && values[0] == "off":
			s.startTLS = false
		default:
			return fmt.Errorf("invalid SMTP URL %s: unsupported parameter %s; the only one is starttls=off with smtp://", s.redacted, key)
		}
	}
	return nil
}

func helloName() string {
	name, err := os.Hostname()
	if err != nil || name == "" {
		return "localhost"
	}
	return name
}

// Describe returns the URL with its password masked.
func (s *SMTPSender) Describe() string { return s.redacted }

func (s *SMTPSender) tlsConfig() *tls.Config {
	return &tls.Config{ServerName: s.host, RootCAs: s.rootCAs, MinVersion: tls.VersionTLS12}
}

// Send delivers one message: EHLO, STARTTLS when configured, AUTH when a
// user is set, MAIL, one RCPT per recipient, DATA and QUIT.
func (s *SMTPSender) Send(ctx context.Context, from string, to []string, message []byte) error {
	ctx, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()

	conn, err := s.dial(ctx)
	if err != nil {
		return err
	}
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)

	client, err := smtp.NewClient(conn, s.host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("SMTP greeting from %s: %w", s.addr, err)
	}
	defer client.Close()

	if err := s.session(client, from, to, message); err != nil {
		return err
	}
	return client.Quit()
}

func (s *SMTPSender) dial(ctx context.Context) (net.Conn, error) {
	dialer := &net.Dialer{}
	var conn net.Conn
	var err error
	if s.implicitTLS {
		conn, err = (&tls.Dialer{NetDialer: dialer, Config: s.tlsConfig()}).DialContext(ctx, "tcp", s.addr)
	} else {
		conn, err = dialer.DialContext(ctx, "tcp", s.addr)
	}
	if err != nil {
		return nil, fmt.Errorf("connect to SMTP relay %s: %w", s.addr, err)
	}
	return conn, nil
}

func (s *SMTPSender) session(client *smtp.Client, from string, to []string, message []byte) error {
	if err := client.Hello(s.helloName); err != nil {
		return fmt.Errorf("SMTP EHLO: %w", err)
	}
	if s.startTLS {
		if ok, _ := client.Extension("STARTTLS"); !ok {
			return fmt.Errorf("SMTP relay %s does not offer STARTTLS; use smtps:// for TLS on connect, or starttls=off for a relay on loopback", s.addr)
		}
		if err := client.StartTLS(s.tlsConfig()); err != nil {
			return fmt.Errorf("SMTP STARTTLS with %s: %w", s.addr, err)
		}
	}
	if s.username != "" {
		if ok, _ := client.Extension("AUTH"); !ok {
			return fmt.Errorf("SMTP relay %s does not offer AUTH, but the URL has a user; remove the user from the URL", s.addr)
		}
		if err := client.Auth(smtp.PlainAuth("", s.username, s.password, s.host)); err != nil {
			return fmt.Errorf("SMTP AUTH PLAIN as %q: %w", s.username, err)
		}
	}

	if err := client.Mail(from); err != nil {
		return fmt.Errorf("SMTP MAIL FROM:<%s>: %w", from, err)
	}
	for _, rcpt := range to {
		if err := client.Rcpt(rcpt); err != nil {
			return fmt.Errorf("SMTP RCPT TO:<%s>: %w", rcpt, err)
		}
	}
	w, err := client.Data()
	if err != nil {
		return fmt.Errorf("SMTP DATA: %w", err)
	}
	if _, err := w.Write(message); err != nil {
		w.Close()
		return fmt.Errorf("SMTP DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("SMTP end of DATA: %w", err)
	}
	return nil
}

// errNoRecipients is returned for a message without recipients.
var errNoRecipients = errors.New("no recipients")
