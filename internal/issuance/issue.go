package issuance

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// Prepare builds the certificate for req and lints it before anything is
// signed with the issuer key.
//
// It returns an error wrapping ErrInvalidRequest when req breaks a rule, and a
// *LintError when zlint or a profile lint reports a warning, an error or a
// fatal finding.
func (a *Authority) Prepare(req Request) (*Prepared, error) {
	err := validateRequest(&req, a.issuer.Cert)
	if err != nil {
		return nil, err
	}

	sigAlg, err := signatureAlgorithm(a.issuer.Cert.PublicKey, req.SignatureHash)
	if err != nil {
		return nil, err
	}

	tbs, err := a.buildTBS(&req, sigAlg)
	if err != nil {
		return nil, err
	}

	lintDER, err := signTBS(tbs, a.mirrorSigner, req.SignatureHash)
	if err != nil {
		return nil, fmt.Errorf("sign lint certificate for serial %x: %w", req.Serial, err)
	}

	lintStart := time.Now()
	lintCert, err := a.lint(lintDER, ekuOIDs(req.Usages))
	if err != nil {
		return nil, err
	}

	prepared := &Prepared{
		authority:    a,
		tbs:          lintCert.RawTBSCertificate,
		lintCert:     lintDER,
		hash:         req.SignatureHash,
		lintDuration: time.Since(lintStart),
	}
	return prepared, nil
}

// buildTBS returns the DER TBSCertificate for req. A test that sets
// templateHook gets crypto/x509's encoding of the changed template instead,
// because encodeTBS writes only what the profile allows.
func (a *Authority) buildTBS(req *Request, sigAlg x509.SignatureAlgorithm) ([]byte, error) {
	if a.templateHook == nil {
		return encodeTBS(req, sigAlg, a.issuer.Cert)
	}

	template, err := newTemplate(req, sigAlg)
	if err != nil {
		return nil, err
	}
	a.templateHook(template)

	der, err := x509.CreateCertificate(rand.Reader, template, a.mirror, req.PublicKey, a.mirrorSigner)
	if err != nil {
		return nil, fmt.Errorf("sign hooked template for serial %x: %w", req.Serial, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse hooked template for serial %x: %w", req.Serial, err)
	}
	return cert.RawTBSCertificate, nil
}

// lint runs zlint and the profile lints on a DER lint certificate and returns
// it parsed. expectedEKU, when not nil, is the extKeyUsage the request needs.
func (a *Authority) lint(lintDER []byte, expectedEKU []asn1.ObjectIdentifier) (*x509.Certificate, error) {
	lintCert, err := x509.ParseCertificate(lintDER)
	if err != nil {
		return nil, fmt.Errorf("parse lint certificate: %w", err)
	}

	zlintFindings, err := runZlint(lintDER, a.registry)
	if err != nil {
		return nil, err
	}

	profileFindings, err := runProfileLints(lintCert, expectedEKU)
	if err != nil {
		return nil, err
	}

	findings := append(zlintFindings, profileFindings...)
	if len(findings) > 0 {
		return nil, &LintError{Findings: findings}
	}
	return lintCert, nil
}

// Sign signs the TBSCertificate of p with the issuer key and returns the DER
// certificate, after checking that its signature verifies under the issuer
// certificate.
func (a *Authority) Sign(p *Prepared) ([]byte, error) {
	if p == nil || p.authority != a {
		return nil, errors.New("sign: the prepared certificate was not created by this authority's Prepare")
	}

	return a.sign(p.tbs, p.hash)
}

// SignTBS signs a DER TBSCertificate that an earlier Prepare produced, such as
// one recorded before a crash, and returns the DER certificate.
//
// Because the bytes come from storage, SignTBS checks that they name this
// issuer and one of its signature algorithms, and lints them again under the
// mirror before the issuer key signs them. The request-specific extKeyUsage
// check of Prepare cannot run here, but every profile lint does.
func (a *Authority) SignTBS(tbs []byte) ([]byte, error) {
	hash, err := a.checkStoredTBS(tbs)
	if err != nil {
		return nil, err
	}

	lintDER, err := signTBS(tbs, a.mirrorSigner, hash)
	if err != nil {
		return nil, fmt.Errorf("sign stored TBSCertificate with the lint key: %w", err)
	}

	_, err = a.lint(lintDER, nil)
	if err != nil {
		return nil, err
	}

	return a.sign(tbs, hash)
}

// checkStoredTBS parses tbs enough to check that this authority can sign it,
// and returns the hash of its signature algorithm.
func (a *Authority) checkStoredTBS(tbs []byte) (crypto.Hash, error) {
	// An unsigned certificate lets crypto/x509 parse the TBSCertificate,
	// which ParseCertificate does without checking the signature.
	var fields struct {
		Version   int `asn1:"optional,explicit,default:0,tag:0"`
		Serial    *big.Int
		Signature asn1.RawValue
	}
	rest, err := asn1.Unmarshal(tbs, &fields)
	if err != nil || len(rest) != 0 {
		return 0, errors.New("stored TBSCertificate is not one DER TBSCertificate")
	}

	unsigned, err := assembleCertificate(tbs, fields.Signature.FullBytes, nil)
	if err != nil {
		return 0, err
	}
	cert, err := x509.ParseCertificate(unsigned)
	if err != nil {
		return 0, fmt.Errorf("stored TBSCertificate is invalid: %w", err)
	}

	if !bytes.Equal(cert.RawIssuer, a.issuer.Cert.RawSubject) {
		return 0, fmt.Errorf("stored TBSCertificate names issuer %q, not this authority's %q", cert.Issuer, a.issuer.Cert.Subject)
	}

	hash, ok := hashForAlgorithm(cert.SignatureAlgorithm)
	if ok {
		expected, err := signatureAlgorithm(a.issuer.Cert.PublicKey, hash)
		ok = err == nil && expected == cert.SignatureAlgorithm
	}
	if !ok {
		return 0, fmt.Errorf("stored TBSCertificate uses signature algorithm %s, which the issuer's %s key does not sign with",
			cert.SignatureAlgorithm, a.issuer.Cert.PublicKeyAlgorithm)
	}
	return hash, nil
}

// sign signs tbs with the issuer key and checks the result.
func (a *Authority) sign(tbs []byte, hash crypto.Hash) ([]byte, error) {
	der, err := signTBS(tbs, a.issuer.Signer, hash)
	if err != nil {
		return nil, fmt.Errorf("sign with the issuer key: %w", err)
	}

	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse signed certificate: %w", err)
	}
	if !bytes.Equal(cert.RawTBSCertificate, tbs) {
		return nil, errors.New("signed certificate's TBSCertificate differs from the linted one")
	}

	// Verifying here catches a faulty signer, such as a hardware fault or a
	// key that does not match the certificate, before the certificate is used.
	err = cert.CheckSignatureFrom(a.issuer.Cert)
	if err != nil {
		return nil, fmt.Errorf("signed certificate does not verify under issuer %q: %w", a.issuer.Cert.Subject, err)
	}
	return der, nil
}

// signTBS signs tbs with signer and returns the DER certificate. The
// signatureAlgorithm outside the TBSCertificate is copied from the one inside,
// as RFC 5280 §4.1.1.2 requires them to be equal.
func signTBS(tbs []byte, signer crypto.Signer, hash crypto.Hash) ([]byte, error) {
	var fields struct {
		Version   int `asn1:"optional,explicit,default:0,tag:0"`
		Serial    *big.Int
		Signature asn1.RawValue
	}
	_, err := asn1.Unmarshal(tbs, &fields)
	if err != nil {
		return nil, fmt.Errorf("parse TBSCertificate: %w", err)
	}

	digest := hash.New()
	digest.Write(tbs)

	// For RSA keys, crypto.Signer with a crypto.Hash as options produces an
	// RSASSA-PKCS1-v1_5 signature, and for ECDSA keys an ASN.1 ECDSA-Sig-Value.
	signature, err := signer.Sign(rand.Reader, digest.Sum(nil), hash)
	if err != nil {
		return nil, err
	}

	return assembleCertificate(tbs, fields.Signature.FullBytes, signature)
}

// assembleCertificate encodes Certificate ::= SEQUENCE { tbsCertificate,
// signatureAlgorithm, signatureValue } (RFC 5280 §4.1) from DER parts.
func assembleCertificate(tbs, signatureAlgorithm, signature []byte) ([]byte, error) {
	certificate := struct {
		TBSCertificate     asn1.RawValue
		SignatureAlgorithm asn1.RawValue
		SignatureValue     asn1.BitString
	}{
		TBSCertificate:     asn1.RawValue{FullBytes: tbs},
		SignatureAlgorithm: asn1.RawValue{FullBytes: signatureAlgorithm},
		SignatureValue:     asn1.BitString{Bytes: signature, BitLength: 8 * len(signature)},
	}

	der, err := asn1.Marshal(certificate)
	if err != nil {
		return nil, fmt.Errorf("encode certificate: %w", err)
	}
	return der, nil
}

// NewSerial returns a random positive serial number with 127 bits of CSPRNG
// output: 128 random bits with the top bit cleared, so that the DER INTEGER
// needs no leading zero byte and fits 16 octets. RFC 5280 §4.1.2.2 allows up
// to 20 octets, and the CA/Browser Forum Baseline Requirements (§7.1) require
// at least 64 bits of CSPRNG output.
func NewSerial() (*big.Int, error) {
	buf := make([]byte, 16)
	for {
		_, err := rand.Read(buf)
		if err != nil {
			return nil, fmt.Errorf("read random serial: %w", err)
		}
		buf[0] &= 0x7f

		serial := new(big.Int).SetBytes(buf)
		// Zero is not a valid serial. Its probability is 2^-127, but the loop
		// costs nothing.
		if serial.Sign() > 0 {
			return serial, nil
		}
	}
}
