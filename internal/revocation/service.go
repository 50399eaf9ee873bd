// Package revocation publishes the revocation status of the certificates
// that docsign-ca issued. It makes one full CRL per issuing CA (RFC 5280
// §5) and runs an OCSP responder (RFC 6960, in the RFC 5019 profile), which
// signs with a delegated responder certificate per issuing CA. It also
// serves the CA certificates that the AIA caIssuers URLs name.
//
// Certificates are revoked by the order workflow in the database; this
// package only reads their status. OCSP reads it on every request, so a
// revocation shows on OCSP at once, and a CRL lists it at the latest
// Config.CRLDelay after it happened.
package revocation

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/store"
)

// Defaults of Config.
const (
	DefaultCRLValidity       = 24 * time.Hour
	DefaultCRLDelay          = 5 * time.Minute
	DefaultOCSPValidity      = time.Hour
	DefaultResponderValidity = 7 * 24 * time.Hour
)

// ErrUnknownCA is returned for a ca_cert_id that names no CA of this server.
var ErrUnknownCA = errors.New("unknown CA")

// Issuer is an issuing CA whose certificates this package reports on.
type Issuer struct {
	CAID     int64
	CACertID string
	Cert     *x509.Certificate
	// Signer is the CA's private key. It signs the CRLs and the responder
	// certificates, never an OCSP response.
	Signer crypto.Signer
}

// Config sets the timing of CRLs and OCSP responses.
type Config struct {
	// CRLValidity is the time from a CRL's thisUpdate to its nextUpdate. A
	// new CRL is made when half of it has passed.
	CRLValidity time.Duration
	// CRLDelay is the longest time a revocation waits before a new CRL
	// lists it. Revocations that come within the delay share one new CRL.
	CRLDelay time.Duration
	// OCSPValidity is the time from an OCSP response's thisUpdate to its
	// nextUpdate. Relying parties may cache a response that long.
	OCSPValidity time.Duration
	// ResponderValidity is the lifetime of a responder certificate. A new
	// one replaces it when half of it has passed.
	ResponderValidity time.Duration
	// KeyDir is the directory for the responder keys, one file with mode
	// 0600 per key.
	KeyDir string
}

// withDefaults fills zero fields with the defaults and checks the rest.
func (c Config) withDefaults() (Config, error) {
	if c.CRLValidity == 0 {
		c.CRLValidity = DefaultCRLValidity
	}
	if c.OCSPValidity == 0 {
		c.OCSPValidity = DefaultOCSPValidity
	}
	if c.ResponderValidity == 0 {
		c.ResponderValidity = DefaultResponderValidity
	}

	switch {
	case c.CRLValidity < time.Minute:
		return c, fmt.Errorf("CRL validity %s is shorter than one minute; use for example 24h", c.CRLValidity)
	case c.CRLDelay < 0:
		return c, fmt.Errorf("CRL delay %s is negative; use 0 to publish every revocation at the next CRL request", c.CRLDelay)
	case c.OCSPValidity < time.Minute:
		return c, fmt.Errorf("OCSP validity %s is shorter than one minute; use for example 1h", c.OCSPValidity)
	case c.ResponderValidity < time.Hour:
		return c, fmt.Errorf("OCSP responder certificate validity %s is shorter than one hour; use for example 168h", c.ResponderValidity)
	case c.KeyDir == "":
		return c, errors.New("the directory for OCSP responder keys is missing")
	}
	return c, nil
}

// Service makes CRLs and OCSP responses for a set of issuing CAs.
// It is safe for concurrent use.
type Service struct {
	store   *store.Store
	log     *slog.Logger
	cfg     Config
	issuers []*issuerState
	now     func() time.Time
}

// issuerState is an issuing CA with its responder and its caches.
type issuerState struct {
	Issuer

	// certIDHashes holds the issuerNameHash and issuerKeyHash of this CA
	// for each hash algorithm an OCSP CertID may use.
	certIDHashes map[crypto.Hash]certIDHash

	// crlMu serializes the making of this CA's CRLs, and guards crl.
	crlMu sync.Mutex
	crl   *publishedCRL

	// responderMu guards responder and responses.
	responderMu sync.Mutex
	responder   *responder
	responses   map[string]*cachedResponse
}

// New returns a Service for the issuing CAs. Call Start before serving.
func New(st *store.Store, issuers []Issuer, cfg Config, log *slog.Logger) (*Service, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if len(issuers) == 0 {
		return nil, errors.New("no issuing CA to publish revocation status for")
	}

	s := &Service{store: st, log: log, cfg: cfg, now: func() time.Time { return time.Now().UTC() }}
	for _, issuer := range issuers {
		hashes, err := newCertIDHashes(issuer.Cert)
		if err != nil {
			return nil, fmt.Errorf("issuing CA %s: %w", issuer.CACertID, err)
		}
		s.issuers = append(s.issuers, &issuerState{Issuer: issuer, certIDHashes: hashes, responses: map[string]*cachedResponse{}})
	}
	return s, nil
}

// Start makes sure that every issuing CA has a valid responder certificate
// and a current CRL. A CA key that cannot sign stops the start here rather
// than at the first request.
func (s *Service) Start(ctx context.Context) error {
	for _, issuer := range s.issuers {
		if err := s.refreshResponder(ctx, issuer); err != nil {
			return fmt.Errorf("OCSP responder of issuing CA %s: %w", issuer.CACertID, err)
		}
		if _, err := s.currentCRL(ctx, issuer); err != nil {
			return fmt.Errorf("CRL of issuing CA %s: %w", issuer.CACertID, err)
		}
	}
	return nil
}

// Run replaces expiring responder certificates and stale CRLs until ctx
// ends, so that a CRL stays current even when nobody fetches it.
func (s *Service) Run(ctx context.Context) {
	ticker := time.NewTicker(s.tickInterval())
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			s.refreshAll(ctx)
		}
	}
}

// tickInterval is how often Run looks for work: the CRL delay, between one
// second and one minute.
func (s *Service) tickInterval() time.Duration {
	return min(max(s.cfg.CRLDelay, time.Second), time.Minute)
}

func (s *Service) refreshAll(ctx context.Context) {
	for _, issuer := range s.issuers {
		if err := s.refreshResponder(ctx, issuer); err != nil {
			s.log.Error("renewing the OCSP responder certificate failed", "ca_cert_id", issuer.CACertID, "error", err)
		}
		if _, err := s.currentCRL(ctx, issuer); err != nil {
			s.log.Error("renewing the CRL failed", "ca_cert_id", issuer.CACertID, "error", err)
		}
	}
}

// issuerByCACertID returns the issuing CA with the ca_cert_id, in any letter case.
func (s *Service) issuerByCACertID(caCertID string) (*issuerState, bool) {
	for _, issuer := range s.issuers {
		if strings.EqualFold(issuer.CACertID, caCertID) {
			return issuer, true
		}
	}
	return nil, false
}

// CACertificate returns the DER certificate of the root or intermediate CA
// with the ca_cert_id, or ErrUnknownCA.
func (s *Service) CACertificate(ctx context.Context, caCertID string) ([]byte, error) {
	cas, err := s.store.CAs(ctx)
	if err != nil {
		return nil, err
	}
	for _, ca := range cas {
		if strings.EqualFold(ca.CACertID, caCertID) {
			return ca.CertDER, nil
		}
	}
	return nil, fmt.Errorf("ca_cert_id %q: %w", caCertID, ErrUnknownCA)
}
