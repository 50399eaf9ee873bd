package revocation

import (
	"context"
	"crypto"
	"crypto/rand"
	_ "crypto/sha1" // SHA-1 for key identifiers and OCSP CertIDs
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/issuance"
	"github.com/docsign-ca/docsign-ca/internal/keys"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

// oidOCSPNoCheck is id-pkix-ocsp-nocheck (RFC 6960 §4.2.2.2.1): relying
// parties need not check the revocation of the responder certificate.
var oidOCSPNoCheck = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 5}

// responderBackdate moves a new responder certificate's notBefore into the
// past, so that a relying party whose clock is slightly behind accepts it.
const responderBackdate = time.Hour

// responder is a delegated OCSP responder of an issuing CA.
type responder struct {
	id     int64 // row id in the store
	cert   *x509.Certificate
	signer crypto.Signer
	// keyHash is the SHA-1 hash of the responder's subjectPublicKey, the
	// ResponderID byKey of RFC 6960 §4.2.1.
	keyHash []byte
}

// currentResponder returns the responder that signs the CA's OCSP responses.
func (issuer *issuerState) currentResponder() *responder {
	issuer.responderMu.Lock()
	defer issuer.responderMu.Unlock()
	return issuer.responder
}

func (issuer *issuerState) setResponder(r *responder) {
	issuer.responderMu.Lock()
	defer issuer.responderMu.Unlock()
	issuer.responder = r
	// Cached responses carry the old responder certificate.
	issuer.responses = map[string]*cachedResponse{}
}

// refreshResponder gives the CA a responder that is not about to expire:
// the current one, the newest stored one, or a new one.
func (s *Service) refreshResponder(ctx context.Context, issuer *issuerState) error {
	now := s.now()
	if current := issuer.currentResponder(); current != nil && !s.responderExpiring(issuer, current, now) {
		return nil
	}

	stored, err := s.loadResponder(ctx, issuer)
	if err != nil {
		s.log.Warn("stored OCSP responder is unusable; creating a new one", "ca_cert_id", issuer.CACertID, "error", err)
	}
	if stored != nil && !s.responderExpiring(issuer, stored, now) {
		issuer.setResponder(stored)
		return nil
	}

	created, err := s.createResponder(ctx, issuer, now)
	if err != nil {
		return err
	}
	issuer.setResponder(created)
	return nil
}

// responderExpiring reports whether a responder certificate has less than
// half of its validity left. A certificate cut short by the end of the
// issuing CA's validity is replaced only when it has expired, because a new
// one could not last longer.
func (s *Service) responderExpiring(issuer *issuerState, r *responder, now time.Time) bool {
	remaining := r.cert.NotAfter.Sub(now)
	if remaining <= 0 {
		return true
	}
	if !r.cert.NotAfter.Before(issuer.Cert.NotAfter) {
		return false
	}
	return remaining < s.cfg.ResponderValidity/2
}

// loadResponder returns the CA's stored responder that expires last, or nil
// when there is none. It checks that the certificate was issued by the CA
// and that the key file holds its key.
func (s *Service) loadResponder(ctx context.Context, issuer *issuerState) (*responder, error) {
	record, err := s.store.LatestOCSPResponder(ctx, issuer.CAID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}

	cert, err := x509.ParseCertificate(record.CertDER)
	if err != nil {
		return nil, fmt.Errorf("parse responder certificate %d: %w", record.ID, err)
	}
	if err := cert.CheckSignatureFrom(issuer.Cert); err != nil {
		return nil, fmt.Errorf("responder certificate %d was not issued by this CA: %w", record.ID, err)
	}
	signer, err := keys.Open(record.KeyURI)
	if err != nil {
		return nil, fmt.Errorf("open key of responder certificate %d: %w", record.ID, err)
	}
	return newResponder(record.ID, cert, signer)
}

func newResponder(id int64, cert *x509.Certificate, signer crypto.Signer) (*responder, error) {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	public, ok := signer.Public().(equaler)
	if !ok || !public.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("the key of responder certificate %d does not match the certificate", id)
	}

	keyHash, err := publicKeyHash(cert.RawSubjectPublicKeyInfo, crypto.SHA1)
	if err != nil {
		return nil, err
	}
	return &responder{id: id, cert: cert, signer: signer, keyHash: keyHash}, nil
}

// createResponder makes a new responder key (ECDSA P-256, in a new file
// with mode 0600 under KeyDir), has the CA certify it, and stores the
// certificate.
func (s *Service) createResponder(ctx context.Context, issuer *issuerState, now time.Time) (*responder, error) {
	serial, err := issuance.NewSerial()
	if err != nil {
		return nil, err
	}

	dir := filepath.Join(s.cfg.KeyDir, issuer.CACertID)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create OCSP responder key directory %s: %w", dir, err)
	}
	// TODO: delete the key files of expired responder certificates; they
	// are never used again but stay on disk.
	path := filepath.Join(dir, fmt.Sprintf("responder-%X.key", serial.Bytes()))
	signer, keyURI, err := keys.GenerateFile(path, keys.ECDSAP256)
	if err != nil {
		return nil, fmt.Errorf("create OCSP responder key: %w", err)
	}

	template, err := responderTemplate(issuer, serial, signer.Public(), now, s.cfg.ResponderValidity)
	if err != nil {
		return nil, err
	}
	der, err := x509.CreateCertificate(rand.Reader, template, issuer.Cert, signer.Public(), issuer.Signer)
	if err != nil {
		return nil, fmt.Errorf("sign OCSP responder certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse new OCSP responder certificate: %w", err)
	}

	id, err := s.store.InsertOCSPResponder(ctx, store.OCSPResponder{
		CAID: issuer.CAID, CertDER: der, KeyURI: keyURI, NotBefore: cert.NotBefore, NotAfter: cert.NotAfter,
	})
	if err != nil {
		return nil, err
	}
	s.log.Info("OCSP responder certificate created", "ca_cert_id", issuer.CACertID, "serial", serialHex(cert.SerialNumber),
		"not_after", cert.NotAfter.Format(time.RFC3339), "key_file", path)
	return newResponder(id, cert, signer)
}

// responderTemplate returns the profile of a delegated responder
// certificate (RFC 6960 §4.2.2.2). The CA whose certificates it reports on
// issues it, with id-kp-OCSPSigning as its only extended key usage and with
// id-pkix-ocsp-nocheck. Its validity is short, so that the missing
// revocation check matters little.
func responderTemplate(issuer *issuerState, serial *big.Int, public crypto.PublicKey, now time.Time, validity time.Duration) (*x509.Certificate, error) {
	spki, err := x509.MarshalPKIXPublicKey(public)
	if err != nil {
		return nil, fmt.Errorf("encode OCSP responder public key: %w", err)
	}
	ski, err := publicKeyHash(spki, crypto.SHA1)
	if err != nil {
		return nil, err
	}

	now = now.UTC().Truncate(time.Second)
	notBefore := now.Add(-responderBackdate)
	if notBefore.Before(issuer.Cert.NotBefore) {
		notBefore = issuer.Cert.NotBefore
	}
	notAfter := now.Add(validity)
	if notAfter.After(issuer.Cert.NotAfter) {
		notAfter = issuer.Cert.NotAfter
	}

	return &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			CommonName:   "OCSP Responder " + issuer.CACertID,
			Organization: issuer.Cert.Subject.Organization,
		},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning},
		BasicConstraintsValid: true,
		IsCA:                  false,
		SubjectKeyId:          ski,
		// The extension's value is an ASN.1 NULL.
		ExtraExtensions: []pkix.Extension{{Id: oidOCSPNoCheck, Value: []byte{0x05, 0x00}}},
	}, nil
}

// publicKeyHash hashes the subjectPublicKey BIT STRING value of a DER
// SubjectPublicKeyInfo, as RFC 6960 §4.1.1 (issuerKeyHash), §4.2.1
// (ResponderID byKey) and RFC 5280 §4.2.1.2 (key identifier method 1) do.
func publicKeyHash(spki []byte, hash crypto.Hash) ([]byte, error) {
	var info struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(spki, &info); err != nil {
		return nil, fmt.Errorf("parse SubjectPublicKeyInfo: %w", err)
	}
	h := hash.New()
	h.Write(info.PublicKey.RightAlign())
	return h.Sum(nil), nil
}
