package csr

import (
	"crypto"
	"crypto/dsa" //nolint:staticcheck // DSA keys are parsed only to be rejected by name.
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
)

// allowedKeys lists the keys that CheckKey accepts, for error messages.
const allowedKeys = "RSA 2048/3072/4096 or ECDSA P-256/P-384"

// CheckKey applies the key policy: RSA with a 2048, 3072 or 4096-bit
// modulus, or ECDSA on P-256 or P-384. It returns the key type as
// CertCentral names it ("rsa" or "ecc") and the key size in bits.
// Any other key returns an error wrapping ErrKeyNotAllowed.
func CheckKey(pub crypto.PublicKey) (keyType string, keySize int, err error) {
	switch key := pub.(type) {
	case *rsa.PublicKey:
		return checkRSAKey(key)
	case *ecdsa.PublicKey:
		return checkECDSAKey(key)
	case ed25519.PublicKey:
		return "", 0, keyNotAllowed("Ed25519")
	case *dsa.PublicKey:
		if key == nil || key.P == nil {
			return "", 0, keyNotAllowed("DSA")
		}
		return "", 0, keyNotAllowed(fmt.Sprintf("DSA %d", key.P.BitLen()))
	case *ecdh.PublicKey:
		return "", 0, keyNotAllowed(describeECDHKey(key))
	case nil:
		return "", 0, keyNotAllowed("no public key of a known algorithm")
	default:
		return "", 0, keyNotAllowed(fmt.Sprintf("a public key of Go type %T", pub))
	}
}

func checkRSAKey(key *rsa.PublicKey) (string, int, error) {
	if key == nil || key.N == nil {
		return "", 0, keyNotAllowed("an RSA key without a modulus")
	}

	bits := key.N.BitLen()
	switch bits {
	case 2048, 3072, 4096:
		return "rsa", bits, nil
	default:
		return "", 0, keyNotAllowed(fmt.Sprintf("RSA %d", bits))
	}
}

func checkECDSAKey(key *ecdsa.PublicKey) (string, int, error) {
	if key == nil || key.Curve == nil {
		return "", 0, keyNotAllowed("an ECDSA key without a curve")
	}

	switch key.Curve {
	case elliptic.P256():
		return "ecc", 256, nil
	case elliptic.P384():
		return "ecc", 384, nil
	}

	name := key.Curve.Params().Name
	if name == "" {
		return "", 0, keyNotAllowed("ECDSA on an unnamed curve")
	}
	return "", 0, keyNotAllowed("ECDSA " + name)
}

// describeECDHKey names a key-agreement key. crypto/x509 returns
// *ecdh.PublicKey only for X25519 (Go 1.26).
func describeECDHKey(key *ecdh.PublicKey) string {
	if key == nil {
		return "an ECDH key"
	}
	if key.Curve() == ecdh.X25519() {
		return "X25519"
	}
	return fmt.Sprintf("ECDH %v", key.Curve())
}

func keyNotAllowed(found string) error {
	return fmt.Errorf("%w: found %s, but the allowed keys are %s; generate a new key pair of an allowed type and a new CSR",
		ErrKeyNotAllowed, found, allowedKeys)
}

// Object identifiers of public key algorithms (RFC 3279, RFC 4055,
// RFC 8410) and named curves (RFC 5480, SEC 2, RFC 5639).
var (
	oidRSAEncryption = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidDSA           = asn1.ObjectIdentifier{1, 2, 840, 10040, 4, 1}
	oidECPublicKey   = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidX25519        = asn1.ObjectIdentifier{1, 3, 101, 110}
	oidEd25519       = asn1.ObjectIdentifier{1, 3, 101, 112}
)

// unsupportedAlgorithmNames names public key algorithms that crypto/x509
// (Go 1.26) cannot parse, keyed by dotted OID.
var unsupportedAlgorithmNames = map[string]string{
	"1.2.840.113549.1.1.10": "RSASSA-PSS",
	"1.3.101.111":           "X448",
	"1.3.101.113":           "Ed448",
	"1.2.156.10197.1.301":   "SM2",
}

// curveNames names the curves of ecPublicKey keys, keyed by dotted OID.
// The curves that crypto/x509 parses map to "", because a parse failure
// with one of them means the key is malformed, not of a rejected type.
var curveNames = map[string]string{
	"1.3.132.0.33":          "",
	"1.2.840.10045.3.1.7":   "",
	"1.3.132.0.34":          "",
	"1.3.132.0.35":          "",
	"1.2.840.10045.3.1.1":   "P-192",
	"1.3.132.0.10":          "secp256k1",
	"1.3.36.3.3.2.8.1.1.7":  "brainpoolP256r1",
	"1.3.36.3.3.2.8.1.1.11": "brainpoolP384r1",
	"1.3.36.3.3.2.8.1.1.13": "brainpoolP512r1",
}

// subjectPublicKeyInfo is the ASN.1 structure of RFC 5280 §4.1.2.7.
type subjectPublicKeyInfo struct {
	Algorithm pkix.AlgorithmIdentifier
	PublicKey asn1.BitString
}

// describeUnsupportedKey names the algorithm of a well-formed
// SubjectPublicKeyInfo whose key type crypto/x509 cannot parse, so that the
// key policy can reject it by name. It returns false for malformed DER and
// for algorithms that crypto/x509 parses.
func describeUnsupportedKey(spkiDER []byte) (string, bool) {
	var spki subjectPublicKeyInfo
	if rest, err := asn1.Unmarshal(spkiDER, &spki); err != nil || len(rest) > 0 {
		return "", false
	}

	algorithm := spki.Algorithm.Algorithm
	switch {
	case algorithm.Equal(oidECPublicKey):
		return describeUnsupportedCurve(spki.Algorithm.Parameters)
	case algorithm.Equal(oidRSAEncryption), algorithm.Equal(oidDSA), algorithm.Equal(oidEd25519), algorithm.Equal(oidX25519):
		return "", false
	}

	if name, ok := unsupportedAlgorithmNames[algorithm.String()]; ok {
		return name, true
	}
	return "a key of an unsupported public key algorithm", true
}

// describeUnsupportedCurve names the curve in ecPublicKey parameters
// (RFC 5480 §2.1.1) when crypto/x509 cannot parse keys on it.
func describeUnsupportedCurve(parameters asn1.RawValue) (string, bool) {
	var curve asn1.ObjectIdentifier
	rest, err := asn1.Unmarshal(parameters.FullBytes, &curve)
	if err != nil || len(rest) > 0 {
		// RFC 5480 §2.1.1 forbids explicit curve parameters in certificates.
		return "ECDSA with explicit or missing curve parameters", true
	}

	name, known := curveNames[curve.String()]
	switch {
	case !known:
		return "ECDSA on an unsupported curve", true
	case name == "":
		return "", false
	default:
		return "ECDSA " + name, true
	}
}

// isSubjectPublicKeyInfo reports whether der has the ASN.1 shape of a
// SubjectPublicKeyInfo, whatever the key inside.
func isSubjectPublicKeyInfo(der []byte) bool {
	var spki subjectPublicKeyInfo
	rest, err := asn1.Unmarshal(der, &spki)
	return err == nil && len(rest) == 0
}

// csrSubjectPublicKeyInfo returns the DER SubjectPublicKeyInfo inside a DER
// CertificationRequest (RFC 2986 §4) without parsing the key, so that a CSR
// whose key crypto/x509 cannot parse can still be rejected by key type.
// It returns false when der does not have the shape of a CSR.
func csrSubjectPublicKeyInfo(der []byte) ([]byte, bool) {
	request, ok := readElement(der, asn1.TagSequence)
	if !ok {
		return nil, false
	}
	info, ok := readElement(request.Bytes, asn1.TagSequence)
	if !ok {
		return nil, false
	}

	version, ok := readElement(info.Bytes, asn1.TagInteger)
	if !ok {
		return nil, false
	}
	subject, ok := readElement(version.rest, asn1.TagSequence)
	if !ok {
		return nil, false
	}
	spki, ok := readElement(subject.rest, asn1.TagSequence)
	if !ok {
		return nil, false
	}
	return spki.FullBytes, true
}

// element is one universal ASN.1 element and the bytes that follow it.
type element struct {
	asn1.RawValue
	rest []byte
}

func readElement(der []byte, tag int) (element, bool) {
	var value asn1.RawValue
	rest, err := asn1.Unmarshal(der, &value)
	if err != nil || value.Class != asn1.ClassUniversal || value.Tag != tag {
		return element{}, false
	}
	return element{RawValue: value, rest: rest}, true
}
