// Package smtptest runs a small SMTP server (RFC 5321) on loopback for
// tests: EHLO, STARTTLS (RFC 3207), AUTH PLAIN (RFC 4616), MAIL, RCPT,
// DATA, RSET, NOOP and QUIT. It records every accepted message.
package smtptest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"time"
)

// Message is one message the server accepted.
type Message struct {
	From string
	To   []string
	Data []byte
	// TLS is true when the message came over a STARTTLS connection.
	TLS bool
	// User is the name the client authenticated as, or "".
	User string
}

// Config sets what the server offers and requires.
type Config struct {
	// TLS, when set, makes the server offer STARTTLS and require it
	// before AUTH and MAIL.
	TLS *tls.Config
	// ImplicitTLS makes the server start TLS with TLS on connect, as on
	// port 465 (RFC 8314 §3.3), instead of offering STARTTLS.
	ImplicitTLS bool
	// Username and Password, when set, make the server offer AUTH PLAIN
	// and require it before MAIL.
	Username string
	Password string
}

// Server is a running test SMTP server.
type Server struct {
	// Addr is the host:port the server listens on.
	Addr string

	config   Config
	listener net.Listener
	wg       sync.WaitGroup

	mu       sync.Mutex
	messages []Message
	failData int
	changed  chan struct{}
}

// Start listens on 127.0.0.1 with a free port and serves until Close.
func Start(config Config) (*Server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{Addr: l.Addr().String(), config: config, listener: l, changed: make(chan struct{})}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// Close stops the server and waits for its connections to end.
func (s *Server) Close() error {
	err := s.listener.Close()
	s.wg.Wait()
	return err
}

// FailData makes the next n DATA commands fail with 451, a transient
// error after which a client retries.
func (s *Server) FailData(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failData = n
}

// Messages returns the accepted messages, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// WaitFor waits until match returns true for an accepted message and
// returns that message, or returns an error after timeout.
func (s *Server) WaitFor(timeout time.Duration, match func(Message) bool) (Message, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		for _, m := range s.messages {
			if match(m) {
				s.mu.Unlock()
				return m, nil
			}
		}
		changed := s.changed
		s.mu.Unlock()

		select {
		case <-changed:
		case <-deadline.C:
			return Message{}, fmt.Errorf("no matching message among %d received within %s", len(s.Messages()), timeout)
		}
	}
}

func (s *Server) record(m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages = append(s.messages, m)
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Server) takeDataFailure() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failData > 0 {
		s.failData--
		return true
	}
	return false
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		conn, err := s.listener.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(time.Minute))
			c := &session{server: s, conn: conn}
			if s.config.ImplicitTLS {
				tlsConn := tls.Server(conn, s.config.TLS)
				if err := tlsConn.Handshake(); err != nil {
					return
				}
				c.conn, c.tls = tlsConn, true
			}
			c.text = textproto.NewConn(c.conn)
			c.serve()
		}()
	}
}

// session is the state of one connection.
type session struct {
	server *Server
	conn   net.Conn
	text   *textproto.Conn
	tls    bool
	user   string
	from   string
	to     []string
}

func (c *session) reply(code int, text string) {
	_ = c.text.PrintfLine("%d %s", code, text)
}

func (c *session) serve() {
	c.reply(220, "smtptest ESMTP ready")
	for {
		line, err := c.text.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		if !c.handle(strings.ToUpper(verb), arg) {
			return
		}
	}
}

// handle runs one command and returns false when the connection ends.
func (c *session) handle(verb, arg string) bool {
	switch verb {
	case "EHLO", "HELO":
		c.ehlo()
	case "STARTTLS":
		return c.startTLS()
	case "AUTH":
		c.auth(arg)
	case "MAIL":
		c.mail(arg)
	case "RCPT":
		c.rcpt(arg)
	case "DATA":
		return c.data()
	case "RSET":
		c.from, c.to = "", nil
		c.reply(250, "OK")
	case "NOOP":
		c.reply(250, "OK")
	case "QUIT":
		c.reply(221, "bye")
		return false
	default:
		c.reply(502, "command not implemented")
	}
	return true
}

func (c *session) ehlo() {
	lines := []string{"smtptest"}
	if c.server.config.TLS != nil && !c.tls {
		lines = append(lines, "STARTTLS")
	}
	if c.server.config.Username != "" && (c.tls || c.server.config.TLS == nil) {
		lines = append(lines, "AUTH PLAIN")
	}
	for i, l := range lines {
		sep := "-"
		if i == len(lines)-1 {
			sep = " "
		}
		_ = c.text.PrintfLine("250%s%s", sep, l)
	}
}

func (c *session) startTLS() bool {
	if c.server.config.TLS == nil || c.tls {
		c.reply(502, "STARTTLS not available")
		return true
	}
	c.reply(220, "ready to start TLS")
	tlsConn := tls.Server(c.conn, c.server.config.TLS)
	if err := tlsConn.Handshake(); err != nil {
		return false
	}
	// RFC 3207 §4.2: the client starts over with EHLO after the handshake.
	c.conn, c.text, c.tls = tlsConn, textproto.NewConn(tlsConn), true
	c.user, c.from, c.to = "", "", nil
	return true
}

func (c *session) auth(arg string) {
	mechanism, initial, _ := strings.Cut(arg, " ")
	if c.server.config.Username == "" || !strings.EqualFold(mechanism, "PLAIN") {
		c.reply(504, "unrecognized authentication type")
		return
	}
	if c.server.config.TLS != nil && !c.tls {
		c.reply(538, "encryption required for requested authentication mechanism")
		return
	}
	if initial == "" {
		c.reply(334, "")
		line, err := c.text.ReadLine()
		if err != nil {
			return
		}
		initial = line
	}
	user, err := checkPlain(initial, c.server.config.Username, c.server.config.Password)
	if err != nil {
		c.reply(535, "authentication credentials invalid")
		return
	}
	c.user = user
	c.reply(235, "authentication succeeded")
}

// checkPlain decodes an RFC 4616 PLAIN response: authzid NUL authcid NUL passwd.
func checkPlain(encoded, username, password string) (string, error) {
	raw, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return "", err
	}
	parts := bytes.Split(raw, []byte{0})
	if len(parts) != 3 || string(parts[1]) != username || string(parts[2]) != password {
		return "", errors.New("wrong credentials")
	}
	return username, nil
}

func (c *session) mail(arg string) {
	switch {
	case c.server.config.TLS != nil && !c.tls:
		c.reply(530, "must issue a STARTTLS command first")
		return
	case c.server.config.Username != "" && c.user == "":
		c.reply(530, "authentication required")
		return
	}
	addr, ok := pathArgument(arg, "FROM:")
	if !ok {
		c.reply(501, "syntax: MAIL FROM:<address>")
		return
	}
	c.from, c.to = addr, nil
	c.reply(250, "OK")
}

func (c *session) rcpt(arg string) {
	addr, ok := pathArgument(arg, "TO:")
	if !ok || c.from == "" {
		c.reply(503, "need MAIL before RCPT, and RCPT TO:<address>")
		return
	}
	c.to = append(c.to, addr)
	c.reply(250, "OK")
}

// pathArgument reads "FROM:<addr> [params]" or "TO:<addr> [params]".
func pathArgument(arg, prefix string) (string, bool) {
	if len(arg) < len(prefix) || !strings.EqualFold(arg[:len(prefix)], prefix) {
		return "", false
	}
	rest := strings.TrimSpace(arg[len(prefix):])
	if !strings.HasPrefix(rest, "<") {
		return "", false
	}
	end := strings.IndexByte(rest, '>')
	if end < 0 {
		return "", false
	}
	return rest[1:end], true
}

func (c *session) data() bool {
	if c.from == "" || len(c.to) == 0 {
		c.reply(503, "need MAIL and RCPT before DATA")
		return true
	}
	c.reply(354, "end data with <CR><LF>.<CR><LF>")
	body, err := c.text.ReadDotBytes()
	if err != nil {
		return false
	}
	if c.server.takeDataFailure() {
		c.reply(451, "temporary failure, try again later")
		return true
	}
	// ReadDotBytes turns CRLF into LF; the stored message has CRLF again,
	// as it was sent.
	data := bytes.ReplaceAll(body, []byte("\n"), []byte("\r\n"))
	c.server.record(Message{From: c.from, To: c.to, Data: data, TLS: c.tls, User: c.user})
	c.from, c.to = "", nil
	c.reply(250, "OK: queued")
	return true
}

// NewCertificate returns a self-signed ECDSA P-256 certificate for
// 127.0.0.1 and localhost, valid for a day, and its PEM encoding, for the
// server's STARTTLS and the client's trust store.
func NewCertificate() (tls.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	template := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "smtptest"},
		NotBefore:             time.Now().Add(-time.Minute),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pemBytes, nil
}
