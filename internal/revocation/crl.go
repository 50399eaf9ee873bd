package revocation

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/store"
)

// CRL is a signed full CRL of an issuing CA.
type CRL struct {
	DER        []byte
	Number     int64
	ThisUpdate time.Time
	NextUpdate time.Time
}

// publishedCRL is the newest stored CRL of a CA with the serial numbers it
// lists, in the upper-case hex that the store uses.
type publishedCRL struct {
	CRL
	serials map[string]bool
}

// CRL returns the current CRL of the issuing CA with the ca_cert_id, after
// making a new one when the stored one is stale (see crlStale). It returns
// ErrUnknownCA for a ca_cert_id that names no issuing CA.
func (s *Service) CRL(ctx context.Context, caCertID string) (*CRL, error) {
	issuer, ok := s.issuerByCACertID(caCertID)
	if !ok {
		return nil, fmt.Errorf("ca_cert_id %q names no issuing CA: %w", caCertID, ErrUnknownCA)
	}
	published, err := s.currentCRL(ctx, issuer)
	if err != nil {
		return nil, err
	}
	crl := published.CRL
	return &crl, nil
}

// currentCRL returns the CA's newest CRL, making a new one first when
// there is none or it is stale.
func (s *Service) currentCRL(ctx context.Context, issuer *issuerState) (*publishedCRL, error) {
	issuer.crlMu.Lock()
	defer issuer.crlMu.Unlock()

	published, err := s.loadCRL(ctx, issuer)
	if err != nil {
		return nil, err
	}
	revoked, err := s.store.RevokedCertificates(ctx, issuer.CAID)
	if err != nil {
		return nil, err
	}

	now := s.now()
	if published != nil && !s.crlStale(published, revoked, now) {
		return published, nil
	}
	return s.makeCRL(ctx, issuer, published, revoked, now)
}

// crlStale reports whether a new CRL is due: when half of the CRL's
// validity has passed, or when a revocation older than the CRL delay is
// missing from it.
func (s *Service) crlStale(published *publishedCRL, revoked []store.RevokedCertificate, now time.Time) bool {
	if !now.Before(published.ThisUpdate.Add(s.cfg.CRLValidity / 2)) {
		return true
	}

	// With no delay, any revocation missing from the CRL makes it stale,
	// whatever its timestamp: revocation times come from the database's
	// clock, which may run a second ahead of this service's.
	cutoff := now.Add(-s.cfg.CRLDelay)
	for _, r := range revoked {
		if published.serials[r.SerialNumber] {
			continue
		}
		if s.cfg.CRLDelay <= 0 || !r.RevokedAt.After(cutoff) {
			return true
		}
	}
	return false
}

// loadCRL returns the CA's stored CRL, or nil when there is none yet. The
// parsed form is kept until another CRL replaces it, possibly one that
// another server sharing the database made.
func (s *Service) loadCRL(ctx context.Context, issuer *issuerState) (*publishedCRL, error) {
	record, err := s.store.CRL(ctx, issuer.CAID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if issuer.crl != nil && issuer.crl.Number == record.Number {
		return issuer.crl, nil
	}

	published, err := parseCRL(record.DER, issuer.Cert)
	if err != nil {
		return nil, fmt.Errorf("stored CRL %d of CA %s: %w", record.Number, issuer.CACertID, err)
	}
	issuer.crl = published
	return published, nil
}

// parseCRL parses a DER CRL, checks its signature, and collects its serials.
func parseCRL(der []byte, issuerCert *x509.Certificate) (*publishedCRL, error) {
	list, err := x509.ParseRevocationList(der)
	if err != nil {
		return nil, err
	}
	if err := list.CheckSignatureFrom(issuerCert); err != nil {
		return nil, fmt.Errorf("signature does not verify under the issuing CA: %w", err)
	}

	published := &publishedCRL{
		CRL:     CRL{DER: der, Number: list.Number.Int64(), ThisUpdate: list.ThisUpdate, NextUpdate: list.NextUpdate},
		serials: make(map[string]bool, len(list.RevokedCertificateEntries)),
	}
	for _, entry := range list.RevokedCertificateEntries {
		published.serials[serialHex(entry.SerialNumber)] = true
	}
	return published, nil
}

// makeCRL signs and stores a new full CRL that lists every revoked
// certificate of the CA, with a cRLNumber one above the previous one.
func (s *Service) makeCRL(ctx context.Context, issuer *issuerState, previous *publishedCRL, revoked []store.RevokedCertificate, now time.Time) (*publishedCRL, error) {
	number := int64(1)
	if previous != nil {
		number = previous.Number + 1
	}
	thisUpdate := now.UTC().Truncate(time.Second)
	nextUpdate := thisUpdate.Add(s.cfg.CRLValidity)

	entries, err := crlEntries(revoked)
	if err != nil {
		return nil, err
	}

	// crypto/x509 adds the authorityKeyIdentifier (RFC 5280 §5.2.1) from
	// the issuer's subjectKeyIdentifier and the cRLNumber (§5.2.3) from
	// Number, and leaves out a reasonCode of 0 (unspecified), as §5.3.1
	// recommends.
	template := &x509.RevocationList{
		Number:                    big.NewInt(number),
		ThisUpdate:                thisUpdate,
		NextUpdate:                nextUpdate,
		RevokedCertificateEntries: entries,
	}
	der, err := x509.CreateRevocationList(rand.Reader, template, issuer.Cert, issuer.Signer)
	if err != nil {
		return nil, fmt.Errorf("sign CRL %d: %w", number, err)
	}

	saved, err := s.store.SaveCRL(ctx, store.CRLRecord{
		CAID: issuer.CAID, Number: number, ThisUpdate: thisUpdate, NextUpdate: nextUpdate, DER: der,
	})
	if err != nil {
		return nil, err
	}
	if !saved {
		// Another server stored a CRL with this number first: publish that one.
		s.log.Info("CRL number taken by another server; using the stored CRL", "ca_cert_id", issuer.CACertID, "crl_number", number)
		return s.loadCRL(ctx, issuer)
	}

	published, err := parseCRL(der, issuer.Cert)
	if err != nil {
		return nil, fmt.Errorf("parse new CRL %d: %w", number, err)
	}
	issuer.crl = published
	s.log.Info("CRL published", "ca_cert_id", issuer.CACertID, "crl_number", number, "entries", len(entries),
		"next_update", nextUpdate.Format(time.RFC3339))
	return published, nil
}

// crlEntries turns revoked certificates into CRL entries.
//
// NOTE: entries stay on the CRL after their certificates expire, so the CRL
// grows with every revocation. RFC 5280 §3.3 allows removing them; keeping
// them helps relying parties that validate a document signature long after
// it was made.
func crlEntries(revoked []store.RevokedCertificate) ([]x509.RevocationListEntry, error) {
	entries := make([]x509.RevocationListEntry, 0, len(revoked))
	for _, r := range revoked {
		serial, ok := new(big.Int).SetString(r.SerialNumber, 16)
		if !ok {
			return nil, fmt.Errorf("revoked certificate %d has an invalid serial number %q", r.ID, r.SerialNumber)
		}
		entries = append(entries, x509.RevocationListEntry{
			SerialNumber:   serial,
			RevocationTime: r.RevokedAt,
			ReasonCode:     r.Reason,
		})
	}
	return entries, nil
}

// serialHex formats a serial number the way the store keeps it: upper-case
// hex of its big-endian bytes.
func serialHex(n *big.Int) string {
	return strings.ToUpper(fmt.Sprintf("%x", n.Bytes()))
}
