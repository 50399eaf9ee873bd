package issuance

import (
	"crypto"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"time"
)

// Extension and access method OIDs of RFC 5280 §4.2, beside those that the
// profile lints read.
var (
	oidExtensionSubjectKeyID               = asn1.ObjectIdentifier{2, 5, 29, 14}
	oidExtensionAuthorityKeyID             = asn1.ObjectIdentifier{2, 5, 29, 35}
	oidExtensionCRLDistribution            = asn1.ObjectIdentifier{2, 5, 29, 31}
	oidExtensionAuthorityInfoAccess        = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 1, 1}
	oidAccessMethodOCSP                    = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1}
	oidAccessMethodCAIssuers               = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 2}
	keyUsageDigitalSignatureNonRepudiation = asn1.BitString{Bytes: []byte{0xc0}, BitLength: 2}
)

// signatureAlgorithmOIDs are the signature algorithms of signatureAlgorithm:
// RSASSA-PKCS1-v1_5 (RFC 4055 §5) and ECDSA (RFC 5758 §3.2).
var signatureAlgorithmOIDs = map[x509.SignatureAlgorithm]asn1.ObjectIdentifier{
	x509.SHA256WithRSA:   {1, 2, 840, 113549, 1, 1, 11},
	x509.SHA384WithRSA:   {1, 2, 840, 113549, 1, 1, 12},
	x509.SHA512WithRSA:   {1, 2, 840, 113549, 1, 1, 13},
	x509.ECDSAWithSHA256: {1, 2, 840, 10045, 4, 3, 2},
	x509.ECDSAWithSHA384: {1, 2, 840, 10045, 4, 3, 3},
	x509.ECDSAWithSHA512: {1, 2, 840, 10045, 4, 3, 4},
}

// tbsCertificate is TBSCertificate of RFC 5280 §4.1, with the parts that
// the profile takes whole as DER.
type tbsCertificate struct {
	Version          int `asn1:"explicit,tag:0"`
	SerialNumber     *big.Int
	Signature        asn1.RawValue
	Issuer           asn1.RawValue
	Validity         tbsValidity
	Subject          asn1.RawValue
	SubjectPublicKey asn1.RawValue
	Extensions       []pkix.Extension `asn1:"explicit,tag:3"`
}

// tbsValidity holds times that encoding/asn1 writes as UTCTime through 2049
// and as GeneralizedTime from 2050, as RFC 5280 §4.1.2.5 requires.
type tbsValidity struct {
	NotBefore, NotAfter time.Time
}

type authorityKeyID struct {
	KeyIdentifier []byte `asn1:"optional,tag:0"`
}

type accessDescription struct {
	Method   asn1.ObjectIdentifier
	Location asn1.RawValue
}

// distributionPoint has only the fullName of RFC 5280 §4.2.1.13, because
// the profile sets neither reasons nor cRLIssuer.
type distributionPoint struct {
	Name distributionPointName `asn1:"optional,tag:0"`
}

type distributionPointName struct {
	FullName []asn1.RawValue `asn1:"optional,tag:0"`
}

// publicKeyInfo returns the DER SubjectPublicKeyInfo of publicKey and its
// key identifier: the SHA-1 hash of the subjectPublicKey BIT STRING value,
// method 1 of RFC 5280 §4.2.1.2.
func publicKeyInfo(publicKey crypto.PublicKey) (spki, keyID []byte, err error) {
	spki, err = x509.MarshalPKIXPublicKey(publicKey)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: PublicKey of type %T cannot be encoded: %v", ErrInvalidRequest, publicKey, err)
	}

	var info struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	_, err = asn1.Unmarshal(spki, &info)
	if err != nil {
		return nil, nil, fmt.Errorf("parse encoded SubjectPublicKeyInfo: %w", err)
	}

	sum := sha1.Sum(info.PublicKey.Bytes)
	return spki, sum[:], nil
}

// encodeTBS returns the DER TBSCertificate of the document signing profile
// for req, issued under the certificate issuer. req must have passed
// validateRequest.
//
// Its bytes equal those that crypto/x509.CreateCertificate writes for
// newTemplate's template, which a test checks field by field. Encoding the
// TBSCertificate here saves CreateCertificate's second signature and its
// verification: a certificate that is only linted needs no proof that the
// throwaway key signed it.
func encodeTBS(req *Request, sigAlg x509.SignatureAlgorithm, issuer *x509.Certificate) ([]byte, error) {
	algorithm, err := algorithmIdentifier(sigAlg)
	if err != nil {
		return nil, err
	}

	subject, err := asn1.Marshal(subjectName(req).ToRDNSequence())
	if err != nil {
		return nil, fmt.Errorf("encode subject of serial %x: %w", req.Serial, err)
	}

	spki, keyID, err := publicKeyInfo(req.PublicKey)
	if err != nil {
		return nil, err
	}

	extensions, err := profileExtensions(req, keyID, issuer.SubjectKeyId)
	if err != nil {
		return nil, err
	}

	tbs := tbsCertificate{
		Version:          2, // v3, RFC 5280 §4.1.2.1
		SerialNumber:     req.Serial,
		Signature:        asn1.RawValue{FullBytes: algorithm},
		Issuer:           asn1.RawValue{FullBytes: issuer.RawSubject},
		Validity:         tbsValidity{certificateTime(req.NotBefore), certificateTime(req.NotAfter)},
		Subject:          asn1.RawValue{FullBytes: subject},
		SubjectPublicKey: asn1.RawValue{FullBytes: spki},
		Extensions:       extensions,
	}
	der, err := asn1.Marshal(tbs)
	if err != nil {
		return nil, fmt.Errorf("encode TBSCertificate of serial %x: %w", req.Serial, err)
	}
	return der, nil
}

// algorithmIdentifier returns the DER AlgorithmIdentifier of sigAlg. RSA
// algorithms carry NULL parameters (RFC 4055 §5) and ECDSA algorithms none
// (RFC 5758 §3.2).
func algorithmIdentifier(sigAlg x509.SignatureAlgorithm) ([]byte, error) {
	oid, ok := signatureAlgorithmOIDs[sigAlg]
	if !ok {
		return nil, fmt.Errorf("signature algorithm %s is not supported", sigAlg)
	}

	identifier := pkix.AlgorithmIdentifier{Algorithm: oid}
	if sigAlg == x509.SHA256WithRSA || sigAlg == x509.SHA384WithRSA || sigAlg == x509.SHA512WithRSA {
		identifier.Parameters = asn1.NullRawValue
	}
	return asn1.Marshal(identifier)
}

// profileExtensions returns the extensions of newTemplate in the order
// crypto/x509 writes them: keyUsage, extKeyUsage, basicConstraints, the
// subject and authority key identifiers, authorityInfoAccess and the CRL
// distribution point.
func profileExtensions(req *Request, keyID, issuerKeyID []byte) ([]pkix.Extension, error) {
	var list extensionList

	// keyUsage is critical (RFC 5280 §4.2.1.3) and extKeyUsage is not
	// (RFC 9336 §3.1). basicConstraints is critical with cA FALSE and no
	// pathLenConstraint, which DER writes as an empty SEQUENCE (RFC 5280
	// §4.2.1.9).
	list.add(oidExtensionKeyUsage, true, keyUsageDigitalSignatureNonRepudiation)
	list.add(oidExtensionExtKeyUsage, false, ekuOIDs(req.Usages))
	list.add(oidExtensionBasicConstraints, true, struct{}{})
	list.add(oidExtensionSubjectKeyID, false, keyID)
	if len(issuerKeyID) > 0 {
		list.add(oidExtensionAuthorityKeyID, false, authorityKeyID{KeyIdentifier: issuerKeyID})
	}

	var access []accessDescription
	if req.OCSPURL != "" {
		access = append(access, accessDescription{Method: oidAccessMethodOCSP, Location: uriName(req.OCSPURL)})
	}
	if req.IssuerURL != "" {
		access = append(access, accessDescription{Method: oidAccessMethodCAIssuers, Location: uriName(req.IssuerURL)})
	}
	if len(access) > 0 {
		list.add(oidExtensionAuthorityInfoAccess, false, access)
	}

	if req.CRLURL != "" {
		points := []distributionPoint{{Name: distributionPointName{FullName: []asn1.RawValue{uriName(req.CRLURL)}}}}
		list.add(oidExtensionCRLDistribution, false, points)
	}

	if list.err != nil {
		return nil, fmt.Errorf("encode extensions of serial %x: %w", req.Serial, list.err)
	}
	return list.extensions, nil
}

// extensionList collects DER extensions and keeps the first encoding error.
type extensionList struct {
	extensions []pkix.Extension
	err        error
}

func (l *extensionList) add(oid asn1.ObjectIdentifier, critical bool, value any) {
	if l.err != nil {
		return
	}
	der, err := asn1.Marshal(value)
	if err != nil {
		l.err = fmt.Errorf("extension %s: %w", oid, err)
		return
	}
	l.extensions = append(l.extensions, pkix.Extension{Id: oid, Critical: critical, Value: der})
}

// uriName returns a GeneralName uniformResourceIdentifier ([6] IA5String,
// RFC 5280 §4.2.1.6).
func uriName(uri string) asn1.RawValue {
	return asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 6, Bytes: []byte(uri)}
}
