// Package certformat encodes an issued certificate and its chain in the
// download formats of CertCentral's certificate download API.
package certformat

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// Format names, as CertCentral spells them.
const (
	PEMAll            = "pem_all"
	PEMNoRoot         = "pem_noroot"
	PEMNoIntermediate = "pem_nointermediate"
	P7B               = "p7b"
	CER               = "cer"
)

// Content types of the formats.
const (
	ContentTypePEM   = "application/x-pem-file"
	ContentTypePKCS7 = "application/x-pkcs7-certificates"
	ContentTypeCER   = "application/pkix-cert"
)

// ErrUnknownFormat is wrapped by the error Encode returns for a format name
// it does not know.
var ErrUnknownFormat = errors.New("unknown certificate format")

// Formats returns the supported format names.
func Formats() []string {
	return []string{PEMAll, PEMNoRoot, PEMNoIntermediate, P7B, CER}
}

// Encode returns the content type and body of leaf and its chain in format.
//
// chain is the issuer's chain upward, [intermediate, root]: its last element
// is the root and every element before it is an intermediate. A certificate
// appears at most once in the output even if the chain repeats it or
// contains the leaf.
func Encode(format string, leaf *x509.Certificate, chain []*x509.Certificate) (contentType string, body []byte, err error) {
	if leaf == nil {
		return "", nil, errors.New("encode certificate: the leaf certificate is missing")
	}

	switch format {
	case PEMAll:
		certs, err := selectCertificates(leaf, chain, true, true)
		if err != nil {
			return "", nil, err
		}
		return ContentTypePEM, encodePEM(certs), nil

	case PEMNoRoot:
		certs, err := selectCertificates(leaf, chain, true, false)
		if err != nil {
			return "", nil, err
		}
		return ContentTypePEM, encodePEM(certs), nil

	case PEMNoIntermediate:
		certs, err := selectCertificates(leaf, chain, false, true)
		if err != nil {
			return "", nil, err
		}
		return ContentTypePEM, encodePEM(certs), nil

	case P7B:
		certs, err := selectCertificates(leaf, chain, true, true)
		if err != nil {
			return "", nil, err
		}
		body, err := encodePKCS7(certs)
		if err != nil {
			return "", nil, err
		}
		return ContentTypePKCS7, body, nil

	case CER:
		return ContentTypeCER, bytes.Clone(leaf.Raw), nil

	default:
		return "", nil, fmt.Errorf("%w %q: use one of %s", ErrUnknownFormat, format, strings.Join(Formats(), ", "))
	}
}

// selectCertificates returns the leaf, then the intermediates if wanted, then
// the root if wanted, leaving out repeats.
func selectCertificates(leaf *x509.Certificate, chain []*x509.Certificate, intermediates, root bool) ([]*x509.Certificate, error) {
	if len(chain) == 0 {
		return nil, errors.New("encode certificate: the issuer chain is empty; pass [intermediate, root]")
	}
	for i, cert := range chain {
		if cert == nil {
			return nil, fmt.Errorf("encode certificate: chain[%d] is missing", i)
		}
	}

	selected := []*x509.Certificate{leaf}
	if intermediates {
		selected = append(selected, chain[:len(chain)-1]...)
	}
	if root {
		selected = append(selected, chain[len(chain)-1])
	}

	var unique []*x509.Certificate
	for _, cert := range selected {
		if !containsCertificate(unique, cert) {
			unique = append(unique, cert)
		}
	}
	return unique, nil
}

func containsCertificate(certs []*x509.Certificate, target *x509.Certificate) bool {
	for _, cert := range certs {
		if cert.Equal(target) {
			return true
		}
	}
	return false
}

func encodePEM(certs []*x509.Certificate) []byte {
	var out bytes.Buffer
	for _, cert := range certs {
		// pem.Encode fails only when the writer fails, and bytes.Buffer does not.
		_ = pem.Encode(&out, &pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
	}
	return out.Bytes()
}

var (
	oidSignedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidData       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
)

// encodePKCS7 returns a degenerate PKCS#7 SignedData (RFC 2315 §9.1, RFC 5652
// §5.1) that carries certificates only: no content, no digest algorithms and
// no signers, the form that "openssl crl2pkcs7 -nocrl" writes.
//
// The certificates keep the given order, leaf first, as openssl crl2pkcs7
// writes them too (a test compares the bytes). DER would sort the SET OF, but
// RFC 5652 §1 allows BER for CMS values, so the order may stay.
func encodePKCS7(certs []*x509.Certificate) ([]byte, error) {
	var rawCerts []byte
	for _, cert := range certs {
		rawCerts = append(rawCerts, cert.Raw...)
	}

	type contentInfo struct {
		ContentType asn1.ObjectIdentifier
	}
	signedData := struct {
		Version          int
		DigestAlgorithms asn1.RawValue
		ContentInfo      contentInfo
		Certificates     asn1.RawValue
		SignerInfos      asn1.RawValue
	}{
		Version:          1,
		DigestAlgorithms: emptySet(),
		ContentInfo:      contentInfo{ContentType: oidData},
		// certificates [0] IMPLICIT SET OF Certificate
		Certificates: asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: rawCerts},
		SignerInfos:  emptySet(),
	}

	signedDataDER, err := asn1.Marshal(signedData)
	if err != nil {
		return nil, fmt.Errorf("encode PKCS#7 SignedData: %w", err)
	}

	// ContentInfo ::= SEQUENCE { contentType, content [0] EXPLICIT ANY }
	outer := struct {
		ContentType asn1.ObjectIdentifier
		Content     asn1.RawValue
	}{
		ContentType: oidSignedData,
		Content:     asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: signedDataDER},
	}

	der, err := asn1.Marshal(outer)
	if err != nil {
		return nil, fmt.Errorf("encode PKCS#7 ContentInfo: %w", err)
	}
	return der, nil
}

func emptySet() asn1.RawValue {
	return asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: []byte{}}
}
