// Package csr parses the key material that a client sends in certificate.csr
// of a ds_org order: a PKCS #10 certificate signing request (RFC 2986) or a
// bare SubjectPublicKeyInfo (RFC 5280 §4.1.2.7), and applies the key policy.
//
// Clients paste CSRs through many layers of copying, so Parse accepts the
// usual damage: CRLF line endings, JSON escape sequences left in the text,
// missing line breaks and missing PEM armor.
//
// No error from this package contains any part of the submitted text,
// because clients sometimes paste a private key into the CSR field.
package csr

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
)

// MaxInputSize is the maximum length in bytes of the text that Parse
// accepts. A CSR with an RSA 4096 key and a short subject is about 2 KiB of
// PEM, so the limit only bounds the work that a hostile request can cause.
const MaxInputSize = 64 << 10

// PEM labels, as RFC 7468 names them.
const (
	labelCSR       = "CERTIFICATE REQUEST"
	labelCSRLegacy = "NEW CERTIFICATE REQUEST"
	labelPublicKey = "PUBLIC KEY"
)

// ErrUnparseable wraps every failure to decode the submitted text. The
// wrapping error gives the reason.
var ErrUnparseable = errors.New("the CSR could not be parsed")

// ErrKeyNotAllowed wraps a rejection by the key policy. The wrapping error
// names the key found and the allowed keys.
var ErrKeyNotAllowed = errors.New("the key is not allowed")

// Request is the decoded content of certificate.csr.
type Request struct {
	PublicKey    crypto.PublicKey         // *rsa.PublicKey or *ecdsa.PublicKey
	PublicKeyDER []byte                   // DER SubjectPublicKeyInfo
	CSR          *x509.CertificateRequest // nil when a PUBLIC KEY block was sent
	PEM          string                   // canonical PEM re-encoded from the DER, with 64-column lines
	KeyType      string                   // "rsa" or "ecc"
	KeySize      int                      // RSA modulus bits, or 256 / 384 for P-256 / P-384
}

// Parse decodes a CSR or public key, verifies the CSR's self-signature and
// applies the key policy of CheckKey.
//
// It accepts a PEM block labeled CERTIFICATE REQUEST, NEW CERTIFICATE REQUEST
// or PUBLIC KEY, and bare base64 DER of a CSR or SubjectPublicKeyInfo. Text
// before and after the PEM block is ignored, as encoding/pem does, unless it
// contains another PEM block.
// Failures wrap ErrUnparseable or ErrKeyNotAllowed.
func Parse(text string) (*Request, error) {
	if len(text) > MaxInputSize {
		return nil, unparseable("the CSR is %d bytes long, which exceeds the limit of %d bytes (64 KiB); send only the PEM-encoded CSR",
			len(text), MaxInputSize)
	}

	text = normalize(text)
	if text == "" {
		return nil, unparseable("the CSR is empty; send a PEM-encoded CSR")
	}
	if containsPrivateKeyLabel(text) {
		return nil, errPrivateKey
	}

	label, der, err := decodeText(text)
	if err != nil {
		return nil, err
	}

	request, err := parseDER(label, der)
	if err != nil && isPrivateKeyDER(der) {
		// The DER under the wrong label, or under none, is a private key.
		return nil, errPrivateKey
	}
	return request, err
}

// parseDER parses DER by its PEM label. The label "" means the text had no
// PEM armor.
func parseDER(label string, der []byte) (*Request, error) {
	switch label {
	case labelCSR, labelCSRLegacy:
		return parseCSR(der)
	case labelPublicKey:
		return parsePublicKey(der)
	case "":
		return parseBareDER(der)
	default:
		return nil, unparseable("%s", describeLabel(label))
	}
}

// parseCSR parses a DER CSR, applies the key policy and verifies the
// signature. The key policy runs first because its error is the one a client
// can act on when the key is of a type that crypto/x509 cannot verify.
func parseCSR(der []byte) (*Request, error) {
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, parseCSRError(der)
	}

	// crypto/x509 leaves PublicKey nil for an algorithm it does not know.
	if csr.PublicKey == nil {
		if found, ok := describeUnsupportedKey(csr.RawSubjectPublicKeyInfo); ok {
			return nil, keyNotAllowed(found)
		}
	}
	keyType, keySize, err := CheckKey(csr.PublicKey)
	if err != nil {
		return nil, err
	}

	if err := checkSignature(csr); err != nil {
		return nil, err
	}

	return &Request{
		PublicKey:    csr.PublicKey,
		PublicKeyDER: csr.RawSubjectPublicKeyInfo,
		CSR:          csr,
		PEM:          encodePEM(labelCSR, csr.Raw),
		KeyType:      keyType,
		KeySize:      keySize,
	}, nil
}

// parseCSRError turns a failure of x509.ParseCertificateRequest into an
// error. A CSR with a key on a curve that crypto/x509 does not parse fails
// the key policy instead.
func parseCSRError(der []byte) error {
	if spki, ok := csrSubjectPublicKeyInfo(der); ok {
		if found, ok := describeUnsupportedKey(spki); ok {
			return keyNotAllowed(found)
		}
	}

	// NOTE: the x509 error is left out because some of its messages quote
	// values from the CSR, such as a malformed URI.
	return unparseable("the data is not a valid DER-encoded PKCS #10 certificate request; generate the CSR again")
}

// checkSignature verifies that the CSR is signed by the key it contains,
// which proves possession of the private key (RFC 2986 §3).
//
// SHA-1 signatures are accepted because the signature serves only as proof
// of possession to this CA and is not carried into the certificate.
// crypto/x509 (Go 1.26) CertificateRequest.CheckSignature accepts SHA-1 for
// CSRs, and TestParseSignatures fails if a later Go release stops doing so.
func checkSignature(csr *x509.CertificateRequest) error {
	err := csr.CheckSignature()
	if err == nil {
		return nil
	}

	if csr.SignatureAlgorithm == x509.UnknownSignatureAlgorithm {
		return unparseable("the CSR is signed with an unsupported signature algorithm; sign the CSR with RSA or ECDSA and SHA-256")
	}

	var insecure x509.InsecureAlgorithmError
	if errors.As(err, &insecure) {
		return unparseable("the CSR is signed with %s, which is not accepted; sign the CSR with SHA-256", csr.SignatureAlgorithm)
	}
	return unparseable("the CSR signature (%s) does not verify with the public key in the CSR; generate the CSR again with the matching private key",
		csr.SignatureAlgorithm)
}

// parsePublicKey parses a DER SubjectPublicKeyInfo and applies the key policy.
func parsePublicKey(der []byte) (*Request, error) {
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, parsePublicKeyError(der)
	}

	keyType, keySize, err := CheckKey(pub)
	if err != nil {
		return nil, err
	}

	return &Request{
		PublicKey:    pub,
		PublicKeyDER: der,
		PEM:          encodePEM(labelPublicKey, der),
		KeyType:      keyType,
		KeySize:      keySize,
	}, nil
}

// parsePublicKeyError turns a failure of x509.ParsePKIXPublicKey into an
// error. A well-formed key of an algorithm or curve that crypto/x509 does not
// parse fails the key policy instead.
func parsePublicKeyError(der []byte) error {
	if found, ok := describeUnsupportedKey(der); ok {
		return keyNotAllowed(found)
	}
	return unparseable("the data is not a valid DER-encoded SubjectPublicKeyInfo; export the public key again")
}

// parseBareDER parses the DER of base64 text that had no PEM armor, which
// must be a CSR or a SubjectPublicKeyInfo. The ASN.1 shape decides which
// parser reports the error.
func parseBareDER(der []byte) (*Request, error) {
	if _, ok := csrSubjectPublicKeyInfo(der); ok {
		return parseCSR(der)
	}
	if isSubjectPublicKeyInfo(der) {
		return parsePublicKey(der)
	}

	if _, err := x509.ParseCertificate(der); err == nil {
		return nil, unparseable("the text is a certificate, not a CSR; send a CSR in a PEM block labeled %s", labelCSR)
	}
	return nil, unparseable("the text has no PEM BEGIN line, and its base64 content is not a DER-encoded CSR; send the CSR in a PEM block labeled %s",
		labelCSR)
}

// isPrivateKeyDER reports whether der parses as a private key in any of the
// encodings that OpenSSL writes: PKCS #8 (RFC 5208), PKCS #1 (RFC 8017) or
// SEC 1 (RFC 5915).
func isPrivateKeyDER(der []byte) bool {
	if _, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		return true
	}
	if _, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return true
	}
	_, err := x509.ParseECPrivateKey(der)
	return err == nil
}

// encodePEM encodes der as one PEM block. encoding/pem wraps base64 at 64
// columns, as RFC 7468 requires of generators.
func encodePEM(label string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: label, Bytes: der}))
}

// errPrivateKey is returned whenever the submitted text contains a private
// key. Its message contains nothing from the key, so no part of it reaches a log.
var errPrivateKey = unparseable("the text contains a private key, which must never be sent; send only the CSR, " +
	"and generate a new key pair because the sent key must be treated as compromised")

func unparseable(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUnparseable, fmt.Sprintf(format, args...))
}
