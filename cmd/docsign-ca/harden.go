package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// maxHeaderBytes bounds the request line and headers together (64 KiB).
// net/http responds to a larger header with 431.
const maxHeaderBytes = 64 << 10

// httpConfig holds the flags of the HTTP listener: HTTPS, and the timeouts
// that bound how long a slow or idle client can hold a connection.
type httpConfig struct {
	tlsCert           string
	tlsKey            string
	readHeaderTimeout time.Duration
	readTimeout       time.Duration
	writeTimeout      time.Duration
	idleTimeout       time.Duration
}

func (c *httpConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&c.tlsCert, "tls-cert", "",
		"PEM file with the server's certificate chain, leaf first; with --tls-key the server speaks HTTPS only, TLS 1.2 or newer")
	fs.StringVar(&c.tlsKey, "tls-key", "", "PEM file with the private key of --tls-cert")
	fs.DurationVar(&c.readHeaderTimeout, "read-header-timeout", 10*time.Second,
		"time a client has to send the request line and headers (and to finish the TLS handshake)")
	fs.DurationVar(&c.readTimeout, "read-timeout", 30*time.Second, "time a client has to send a whole request, body included")
	fs.DurationVar(&c.writeTimeout, "write-timeout", 60*time.Second,
		"time from the end of the request headers to the end of the response")
	fs.DurationVar(&c.idleTimeout, "idle-timeout", 120*time.Second, "time a keep-alive connection may wait for its next request")
}

// check reports the first invalid flag.
func (c *httpConfig) check() error {
	if (c.tlsCert == "") != (c.tlsKey == "") {
		return errors.New("--tls-cert and --tls-key go together; give both for HTTPS, or neither for plain HTTP")
	}
	timeouts := []struct {
		name  string
		value time.Duration
	}{
		{"--read-header-timeout", c.readHeaderTimeout},
		{"--read-timeout", c.readTimeout},
		{"--write-timeout", c.writeTimeout},
		{"--idle-timeout", c.idleTimeout},
	}
	for _, t := range timeouts {
		// Zero means "no timeout" to net/http, which would let one slow
		// client hold a connection forever.
		if t.value <= 0 {
			return fmt.Errorf("invalid %s %s; give a positive duration such as 10s", t.name, t.value)
		}
	}
	return nil
}

// newServer returns the http.Server for handler with the configured limits
// and, when --tls-cert is set, the TLS configuration.
func (c *httpConfig) newServer(handler http.Handler, log *slog.Logger) (*http.Server, error) {
	if err := c.check(); err != nil {
		return nil, err
	}

	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: c.readHeaderTimeout,
		ReadTimeout:       c.readTimeout,
		WriteTimeout:      c.writeTimeout,
		IdleTimeout:       c.idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		// net/http reports TLS handshake failures and similar connection
		// errors here; they go to the server's log, not to stderr.
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if c.tlsCert == "" {
		return srv, nil
	}

	cert, err := tls.LoadX509KeyPair(c.tlsCert, c.tlsKey)
	if err != nil {
		return nil, fmt.Errorf("load --tls-cert %s and --tls-key %s: %w", c.tlsCert, c.tlsKey, err)
	}
	// TLS 1.0 and 1.1 are deprecated (RFC 8996). TLS 1.3 suites are
	// fixed by crypto/tls; TLS 1.2 is held to tls12CipherSuites.
	srv.TLSConfig = &tls.Config{
		MinVersion:   tls.VersionTLS12,
		CipherSuites: tls12CipherSuites,
		Certificates: []tls.Certificate{cert},
	}
	return srv, nil
}

// tls12CipherSuites are the forward-secret AEAD suites of TLS 1.2. Go's
// default list also has CBC suites with HMAC-SHA1, which this leaves out.
var tls12CipherSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// serve accepts connections on listener until the server is shut down.
func (c *httpConfig) serve(srv *http.Server, listener net.Listener) error {
	if srv.TLSConfig != nil {
		return srv.ServeTLS(listener, "", "")
	}
	return srv.Serve(listener)
}

// scheme returns "https" or "http", for the start-up log.
func (c *httpConfig) scheme() string {
	if c.tlsCert != "" {
		return "https"
	}
	return "http"
}
