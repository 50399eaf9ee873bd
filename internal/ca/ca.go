// Package ca runs the issuance cycle around the signing engine. It reserves
// a serial and records the intent to sign before the CA key is used, and it
// stores the certificate afterwards. So no signed certificate goes
// unrecorded, even when the process dies between the two steps.
package ca

import (
	"cmp"
	"context"
	"crypto"
	"crypto/sha1"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/issuance"
	"github.com/docsign-ca/docsign-ca/internal/keys"
	"github.com/docsign-ca/docsign-ca/internal/metrics"
	"github.com/docsign-ca/docsign-ca/internal/revocation"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

// ErrAlreadyIssuing is returned when another caller holds the issuance of
// the same certificate. It is not a failure: exactly one caller signs.
var ErrAlreadyIssuing = errors.New("certificate is already being issued")

// IssueRequest is an approved order reduced to what the CA needs.
type IssueRequest struct {
	OrderID       int64
	AccountID     int64
	CertificateID int64
	CAID          int64
	PublicKeyDER  []byte
	CommonName    string
	Organization  string
	Locality      string
	Province      string
	Country       string
	Usages        []string
	NotAfter      time.Time
	SignatureHash string // "sha256", "sha384" or "sha512"
}

// Issuer is one loaded issuing CA.
type Issuer struct {
	Record    store.CA
	Cert      *x509.Certificate
	Chain     []*x509.Certificate // [intermediate, root]
	authority *issuance.Authority
}

// Service issues certificates from the active issuing CAs in the store.
type Service struct {
	store   *store.Store
	log     *slog.Logger
	issuers map[int64]*Issuer
	// DefaultID is the issuing CA used when an order names none.
	DefaultID int64
	// PublicURL, when set, is the base URL of the CRL, OCSP and CA
	// certificate endpoints that issued certificates point to (see
	// revocation.StatusURLs).
	PublicURL string
}

// Load is LoadWithKeys with an Opener that has no passphrase and no
// PKCS#11 module: it loads development CAs, whose keys are unencrypted
// files, and nothing else.
func Load(ctx context.Context, st *store.Store, log *slog.Logger) (*Service, error) {
	return LoadWithKeys(ctx, st, log, &keys.Opener{})
}

// Issuer returns the loaded intermediate with the given id, active or
// retired, so that the certificates of a retired CA keep their chain.
func (s *Service) Issuer(id int64) (*Issuer, bool) {
	i, ok := s.issuers[id]
	return i, ok
}

// IssuerByCACertID returns the active issuing CA whose ca_cert_id is id.
// A retired CA is not returned, because it takes no new orders.
func (s *Service) IssuerByCACertID(id string) (*Issuer, bool) {
	for _, i := range s.issuers {
		if i.Active() && strings.EqualFold(i.Record.CACertID, id) {
			return i, true
		}
	}
	return nil, false
}

// Issuers lists the active issuing CAs, oldest first; the first is the
// default (DefaultID).
func (s *Service) Issuers() []*Issuer {
	out := make([]*Issuer, 0, len(s.issuers))
	for _, i := range s.issuers {
		if i.Active() {
			out = append(out, i)
		}
	}
	slices.SortFunc(out, func(a, b *Issuer) int { return cmp.Compare(a.Record.ID, b.Record.ID) })
	return out
}

// Issue runs the issuance cycle for one certificate and returns its DER.
//  1. Build the template and lint it under a mirror of the issuer, with a
//     throwaway key (issuance.Prepare). A lint finding aborts here.
//  2. Record the intent with the serial and the exact TBSCertificate.
//  3. Sign that TBS with the real key.
//  4. Store the certificate and mark the order issued.
func (s *Service) Issue(ctx context.Context, req IssueRequest) (der []byte, err error) {
	start := time.Now()
	defer func() {
		// A lost race is not an issuance: the winner records its own.
		if !errors.Is(err, ErrAlreadyIssuing) {
			metrics.ObserveIssuance(time.Since(start), err)
		}
	}()

	issuer, ok := s.issuers[req.CAID]
	if !ok {
		return nil, fmt.Errorf("issuing CA %d is not loaded", req.CAID)
	}
	if !issuer.Active() {
		err := fmt.Errorf("issuing CA %s (%s) was retired after the order was placed; place a new order, which uses an active CA",
			issuer.Record.CACertID, issuer.Record.CommonName)
		s.recordFailure(ctx, req.OrderID, 0, err)
		return nil, err
	}

	prepared, serial, err := s.prepare(issuer, req)
	if err != nil {
		s.recordFailure(ctx, req.OrderID, 0, err)
		return nil, err
	}
	metrics.ObserveLint(prepared.LintDuration())

	leaseStart := time.Now()
	intentID, err := s.store.CreateIntent(ctx, store.Intent{
		CertificateID: req.CertificateID,
		OrderID:       req.OrderID,
		SerialNumber:  serialHex(serial),
		CAID:          req.CAID,
		TBS:           prepared.TBS(),
	})
	if errors.Is(err, store.ErrConflict) {
		return nil, fmt.Errorf("order %d: %w", req.OrderID, ErrAlreadyIssuing)
	}
	if err != nil {
		return nil, err
	}
	// Another replica may claim the intent once its lease ends, so sign only
	// with most of the lease left: then no two servers sign one
	// TBSCertificate. RecoverStale completes a skipped intent.
	if time.Since(leaseStart) > s.store.IntentLease()/2 {
		return nil, fmt.Errorf("order %d: the intent's lease of %s ran short before signing; a server completes it when the lease ends",
			req.OrderID, s.store.IntentLease())
	}
	s.log.Info("signing certificate", "order_id", req.OrderID, "certificate_id", req.CertificateID,
		"serial", serialHex(serial), "ca_id", req.CAID)

	signStart := time.Now()
	der, err = issuer.authority.Sign(prepared)
	metrics.ObserveSign(time.Since(signStart))
	if err != nil {
		s.recordFailure(ctx, req.OrderID, intentID, err)
		return nil, fmt.Errorf("sign certificate of order %d: %w", req.OrderID, err)
	}

	if err := s.complete(ctx, intentID, req, der); err != nil {
		return nil, err
	}
	return der, nil
}

func (s *Service) prepare(issuer *Issuer, req IssueRequest) (*issuance.Prepared, *big.Int, error) {
	pub, err := x509.ParsePKIXPublicKey(req.PublicKeyDER)
	if err != nil {
		return nil, nil, fmt.Errorf("parse public key of order %d: %w", req.OrderID, err)
	}
	hash, err := hashByName(req.SignatureHash)
	if err != nil {
		return nil, nil, err
	}
	serial, err := issuance.NewSerial()
	if err != nil {
		return nil, nil, err
	}

	var urls revocation.URLs
	if s.PublicURL != "" {
		urls = revocation.StatusURLs(s.PublicURL, issuer.Record.CACertID)
	}
	prepared, err := issuer.authority.Prepare(issuance.Request{
		Serial:        serial,
		PublicKey:     pub,
		CommonName:    req.CommonName,
		Organization:  req.Organization,
		Locality:      req.Locality,
		Province:      req.Province,
		Country:       req.Country,
		Usages:        req.Usages,
		NotBefore:     time.Now().UTC().Truncate(time.Second),
		NotAfter:      req.NotAfter,
		SignatureHash: hash,
		CRLURL:        urls.CRL,
		OCSPURL:       urls.OCSP,
		IssuerURL:     urls.Issuer,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("prepare certificate of order %d: %w", req.OrderID, err)
	}
	return prepared, serial, nil
}

func (s *Service) complete(ctx context.Context, intentID int64, req IssueRequest, der []byte) error {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return fmt.Errorf("parse signed certificate of order %d: %w", req.OrderID, err)
	}
	err = s.store.CompleteIssuance(ctx, store.IssuedCertificate{
		IntentID:      intentID,
		CertificateID: req.CertificateID,
		OrderID:       req.OrderID,
		AccountID:     req.AccountID,
		CAID:          req.CAID,
		SerialNumber:  serialHex(cert.SerialNumber),
		Thumbprint:    Thumbprint(der),
		DER:           der,
		ValidFrom:     cert.NotBefore,
		ValidTill:     cert.NotAfter,
	})
	if err != nil {
		return fmt.Errorf("store certificate of order %d: %w", req.OrderID, err)
	}
	s.log.Info("certificate issued", "order_id", req.OrderID, "certificate_id", req.CertificateID,
		"serial", serialHex(cert.SerialNumber), "thumbprint", Thumbprint(der))
	return nil
}

func (s *Service) recordFailure(ctx context.Context, orderID, intentID int64, cause error) {
	s.log.Error("issuance failed", "order_id", orderID, "intent_id", intentID, "error", cause)
	if err := s.store.FailIssuance(ctx, orderID, intentID, cause.Error()); err != nil {
		s.log.Error("record issuance failure", "order_id", orderID, "error", err)
	}
}

// Recover completes the issuances that a crash interrupted. An open intent
// holds the exact TBSCertificate that was about to be signed, so signing it
// again yields the same certificate content and serial: either the one that
// was lost before it reached the database, or the first one.
//
// On SQLite the server owns its database, so every open intent at start-up
// was left by a crash. On PostgreSQL other replicas may be signing their
// intents right now, so Recover takes only those whose lease has ended,
// and RecoverStale, which the server runs periodically, takes the others
// as their leases end.
func (s *Service) Recover(ctx context.Context) error {
	var (
		intents []store.Intent
		err     error
	)
	if s.store.Postgres() {
		intents, err = s.store.ClaimStaleIntents(ctx, 1000)
	} else {
		intents, err = s.store.OpenIntents(ctx)
	}
	if err != nil {
		return err
	}
	for _, in := range intents {
		if err := s.recoverIntent(ctx, in); err != nil {
			return fmt.Errorf("recover issuance intent %d of order %d: %w", in.ID, in.OrderID, err)
		}
	}
	return nil
}

// RecoverStale completes the intents whose lease has ended and returns how
// many it completed. A failure is logged and the intent is left for the
// next run, when its new lease has ended.
func (s *Service) RecoverStale(ctx context.Context) int {
	intents, err := s.store.ClaimStaleIntents(ctx, 100)
	if err != nil {
		s.log.Error("claim stale issuance intents", "error", err)
		return 0
	}
	done := 0
	for _, in := range intents {
		if err := s.recoverIntent(ctx, in); err != nil {
			s.log.Error("recover issuance intent", "intent_id", in.ID, "order_id", in.OrderID, "error", err)
			continue
		}
		done++
	}
	return done
}

func (s *Service) recoverIntent(ctx context.Context, in store.Intent) error {
	issuer, ok := s.issuers[in.CAID]
	if !ok {
		return fmt.Errorf("issuing CA %d is not loaded", in.CAID)
	}
	order, err := s.store.OrderByID(ctx, in.OrderID)
	if err != nil {
		return err
	}

	der, err := issuer.authority.SignTBS(in.TBS)
	if err != nil {
		return err
	}
	req := IssueRequest{OrderID: in.OrderID, AccountID: order.AccountID, CertificateID: in.CertificateID, CAID: in.CAID}
	if err := s.complete(ctx, in.ID, req, der); err != nil {
		return err
	}
	s.log.Warn("completed an issuance interrupted by a crash", "order_id", in.OrderID, "intent_id", in.ID, "serial", in.SerialNumber)
	return nil
}

// Thumbprint returns the SHA-1 fingerprint of a certificate in upper-case
// hex, the form CertCentral uses for certificate.thumbprint.
func Thumbprint(der []byte) string {
	sum := sha1.Sum(der)
	return strings.ToUpper(fmt.Sprintf("%x", sum[:]))
}

// serialHex formats a serial number as even-length upper-case hex.
func serialHex(n *big.Int) string {
	return fmt.Sprintf("%X", n.Bytes())
}

func hashByName(name string) (crypto.Hash, error) {
	switch name {
	case "sha256", "":
		return crypto.SHA256, nil
	case "sha384":
		return crypto.SHA384, nil
	case "sha512":
		return crypto.SHA512, nil
	}
	return 0, fmt.Errorf("unsupported signature hash %q", name)
}
