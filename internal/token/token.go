// Package token generates signing keys on a PKCS#11 token (a smart card,
// USB token or HSM) and stores certificates beside them. It serves the
// client app (docsign pickup) and the operator's token provisioning
// (docsign-ca tokens provision). A private key it generates never leaves
// the token: the token marks it sensitive and non-extractable.
package token

import (
	"crypto"
	"crypto/sha1"
	"crypto/x509"
	"fmt"
)

// Key is a key pair on a token.
type Key struct {
	Signer crypto.Signer
	// ID is the key pair's CKA_ID, shared with its certificate.
	ID    []byte
	Label string
}

// Algorithm names the key pair of an order: key type "rsa" with 2048,
// 3072 or 4096 bits, or "ecc" with 256 (P-256) or 384 (P-384).
type Algorithm struct {
	KeyType string
	KeySize int
}

func (a Algorithm) String() string {
	if a.KeyType == "ecc" {
		return fmt.Sprintf("ECC P-%d", a.KeySize)
	}
	return fmt.Sprintf("RSA %d", a.KeySize)
}

// Check rejects an algorithm outside the product's key policy.
func (a Algorithm) Check() error {
	switch {
	case a.KeyType == "rsa" && (a.KeySize == 2048 || a.KeySize == 3072 || a.KeySize == 4096):
	case a.KeyType == "ecc" && (a.KeySize == 256 || a.KeySize == 384):
	default:
		return fmt.Errorf("unsupported key %s %d; use rsa 2048, 3072 or 4096, or ecc 256 or 384", a.KeyType, a.KeySize)
	}
	return nil
}

// caCertificateID returns the CKA_ID under which a CA certificate is
// stored: its subject key identifier (RFC 5280 §4.2.1.2), or the SHA-1 of
// its public key when it has none.
func caCertificateID(cert *x509.Certificate) []byte {
	if len(cert.SubjectKeyId) > 0 {
		return cert.SubjectKeyId
	}
	sum := sha1.Sum(cert.RawSubjectPublicKeyInfo)
	return sum[:]
}
