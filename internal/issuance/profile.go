package issuance

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Usage names, as CertCentral spells them in certificate.usage_designation.
const (
	UsageDocumentSigning              = "document_signing"
	UsageMSDocumentSigning            = "ms_document_signing"
	UsageAdobeAuthenticDocumentsTrust = "adobe_authentic_documents_trust"
)

// Key purpose OIDs of the document signing profile.
var (
	// OIDDocumentSigning is id-kp-documentSigning (RFC 9336 §3.1).
	OIDDocumentSigning = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 36}
	// OIDMSDocumentSigning is Microsoft's szOID_KP_DOCUMENT_SIGNING, used by Office.
	OIDMSDocumentSigning = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 10, 3, 12}
	// OIDAdobeAuthenticDocumentsTrust is Adobe's Authentic Documents Trust purpose.
	OIDAdobeAuthenticDocumentsTrust = asn1.ObjectIdentifier{1, 2, 840, 113583, 1, 1, 5}
	// OIDEmailProtection is id-kp-emailProtection (RFC 5280 §4.2.1.12).
	OIDEmailProtection = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 4}
)

// usageOIDs maps each usage name to its key purpose OID.
var usageOIDs = map[string]asn1.ObjectIdentifier{
	UsageDocumentSigning:              OIDDocumentSigning,
	UsageMSDocumentSigning:            OIDMSDocumentSigning,
	UsageAdobeAuthenticDocumentsTrust: OIDAdobeAuthenticDocumentsTrust,
}

// Usages returns the usage names a Request accepts.
func Usages() []string {
	return []string{UsageDocumentSigning, UsageMSDocumentSigning, UsageAdobeAuthenticDocumentsTrust}
}

// ErrInvalidRequest is wrapped by every error that Prepare returns for a
// Request that breaks a rule. The message lists every problem found.
var ErrInvalidRequest = errors.New("invalid issuance request")

// Upper bounds from RFC 5280 Appendix A.1 (ub-common-name, ub-organization-name,
// ub-locality-name, ub-state-name), counted in characters.
const (
	maxCommonNameLength   = 64
	maxOrganizationLength = 64
	maxLocalityLength     = 128
	maxProvinceLength     = 128
)

// maxSerialBits keeps a positive serial within 20 octets of DER, the maximum
// in RFC 5280 §4.1.2.2, because DER adds a zero byte when bit 160 is set.
const maxSerialBits = 159

var countryPattern = regexp.MustCompile(`^[A-Z]{2}$`)

// validateRequest returns an error wrapping ErrInvalidRequest that lists every
// problem of req, or nil.
func validateRequest(req *Request, issuerCert *x509.Certificate) error {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	switch {
	case req.Serial == nil:
		add("Serial is missing; use NewSerial")
	case req.Serial.Sign() <= 0:
		add("Serial %s is not positive (RFC 5280 §4.1.2.2); use NewSerial", req.Serial)
	case req.Serial.BitLen() > maxSerialBits:
		add("Serial has %d bits, more than the %d that fit in 20 octets (RFC 5280 §4.1.2.2)", req.Serial.BitLen(), maxSerialBits)
	}

	if req.PublicKey == nil {
		add("PublicKey is missing")
	}

	checkName(add, "CommonName", req.CommonName, true, maxCommonNameLength)
	checkName(add, "Organization", req.Organization, true, maxOrganizationLength)
	checkName(add, "Locality", req.Locality, false, maxLocalityLength)
	checkName(add, "Province", req.Province, false, maxProvinceLength)
	if !countryPattern.MatchString(req.Country) {
		add("Country %q is not an upper-case ISO 3166-1 alpha-2 code such as \"DE\"", req.Country)
	}

	checkUsages(add, req.Usages)
	checkValidity(add, req.NotBefore, req.NotAfter, issuerCert)

	switch req.SignatureHash {
	case crypto.SHA256, crypto.SHA384, crypto.SHA512:
	default:
		add("SignatureHash %v is not supported; use SHA-256, SHA-384 or SHA-512", req.SignatureHash)
	}

	checkURL(add, "CRLURL", req.CRLURL)
	checkURL(add, "OCSPURL", req.OCSPURL)
	checkURL(add, "IssuerURL", req.IssuerURL)

	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrInvalidRequest, strings.Join(problems, "; "))
}

func checkName(add func(string, ...any), field, value string, required bool, maxLength int) {
	if value == "" {
		if required {
			add("%s is missing", field)
		}
		return
	}

	if !utf8.ValidString(value) {
		add("%s is not valid UTF-8", field)
		return
	}
	if length := utf8.RuneCountInString(value); length > maxLength {
		add("%s has %d characters, more than the maximum of %d (RFC 5280 Appendix A.1)", field, length, maxLength)
	}
	if strings.TrimSpace(value) != value {
		add("%s %q has leading or trailing white space", field, value)
	}
	if strings.ContainsFunc(value, isControl) {
		add("%s %q contains a control character", field, value)
	}
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }

func checkUsages(add func(string, ...any), usages []string) {
	if len(usages) == 0 {
		add("Usages is empty; give at least one of %s", strings.Join(Usages(), ", "))
		return
	}

	seen := make(map[string]bool, len(usages))
	for _, usage := range usages {
		if _, known := usageOIDs[usage]; !known {
			add("usage %q is not supported; use %s", usage, strings.Join(Usages(), ", "))
			continue
		}
		if seen[usage] {
			add("usage %q is listed twice", usage)
		}
		seen[usage] = true
	}
}

func checkValidity(add func(string, ...any), notBefore, notAfter time.Time, issuerCert *x509.Certificate) {
	if notBefore.IsZero() || notAfter.IsZero() {
		add("NotBefore and NotAfter are both required")
		return
	}

	notBefore, notAfter = certificateTime(notBefore), certificateTime(notAfter)
	if !notBefore.Before(notAfter) {
		add("NotBefore %s is not before NotAfter %s", notBefore.Format(time.RFC3339), notAfter.Format(time.RFC3339))
	}

	// A certificate valid outside its issuer's validity cannot be validated for
	// that time, so the profile never issues one.
	if notAfter.After(issuerCert.NotAfter) {
		add("NotAfter %s is after the issuer's NotAfter %s; shorten the validity or use a newer issuer",
			notAfter.Format(time.RFC3339), issuerCert.NotAfter.Format(time.RFC3339))
	}
	if notBefore.Before(issuerCert.NotBefore) {
		add("NotBefore %s is before the issuer's NotBefore %s",
			notBefore.Format(time.RFC3339), issuerCert.NotBefore.Format(time.RFC3339))
	}
}

// certificateTime returns t as it is encoded in a certificate: UTC, whole seconds.
func certificateTime(t time.Time) time.Time { return t.UTC().Truncate(time.Second) }

func checkURL(add func(string, ...any), field, value string) {
	if value == "" {
		return
	}

	// RFC 5280 §4.2.1.13 and §4.2.2.1 name HTTP URIs for CRLs and AIA; a
	// relying party fetches them without authentication.
	parsed, err := url.Parse(value)
	if err != nil || (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "" {
		add("%s %q is not an absolute http URL such as http://crl.example.com/issuing-1.crl", field, value)
	}
}

// ekuOIDs returns the key purposes for usages, in request order, followed by
// id-kp-emailProtection.
//
// emailProtection is always present because poppler's pdfsig (tested with
// poppler 22.12) and other NSS-based validators such as LibreOffice check a
// signer certificate for NSS's certificateUsageEmailSigner, which rejects a
// certificate whose extKeyUsage lacks emailProtection. The profile never adds
// an email address, so the certificate stays outside the CA/Browser Forum
// S/MIME Baseline Requirements, which cover emailProtection with a mailbox.
func ekuOIDs(usages []string) []asn1.ObjectIdentifier {
	oids := make([]asn1.ObjectIdentifier, 0, len(usages)+1)
	for _, usage := range usages {
		oids = append(oids, usageOIDs[usage])
	}
	return append(oids, OIDEmailProtection)
}

// newTemplate builds the certificate template of the document signing
// profile. req must have passed validateRequest.
func newTemplate(req *Request, sigAlg x509.SignatureAlgorithm) (*x509.Certificate, error) {
	_, ski, err := publicKeyInfo(req.PublicKey)
	if err != nil {
		return nil, err
	}

	template := &x509.Certificate{
		SerialNumber:       req.Serial,
		SignatureAlgorithm: sigAlg,
		Subject:            subjectName(req),
		NotBefore:          certificateTime(req.NotBefore),
		NotAfter:           certificateTime(req.NotAfter),

		// crypto/x509 marks keyUsage critical, as RFC 5280 §4.2.1.3 recommends.
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,

		// crypto/x509 writes ExtKeyUsage first and then UnknownExtKeyUsage, so
		// putting every purpose in UnknownExtKeyUsage keeps the request order.
		// The extension is non-critical (RFC 9336 §3.1 leaves this to the CA).
		UnknownExtKeyUsage: ekuOIDs(req.Usages),

		// basicConstraints critical with cA FALSE, so that no validator mistakes
		// the certificate for a CA (RFC 5280 §4.2.1.9).
		BasicConstraintsValid: true,
		IsCA:                  false,
		MaxPathLen:            -1,

		SubjectKeyId: ski,
	}

	if req.CRLURL != "" {
		template.CRLDistributionPoints = []string{req.CRLURL}
	}
	if req.OCSPURL != "" {
		template.OCSPServer = []string{req.OCSPURL}
	}
	if req.IssuerURL != "" {
		template.IssuingCertificateURL = []string{req.IssuerURL}
	}
	return template, nil
}

// subjectName returns C, ST, L, O and CN (crypto/x509 writes them in that
// order), leaving out an empty ST or L.
func subjectName(req *Request) pkix.Name {
	name := pkix.Name{
		CommonName:   req.CommonName,
		Organization: []string{req.Organization},
		Country:      []string{req.Country},
	}
	if req.Locality != "" {
		name.Locality = []string{req.Locality}
	}
	if req.Province != "" {
		name.Province = []string{req.Province}
	}
	return name
}

// signatureAlgorithm returns the algorithm that the issuer key signs with for
// hash: RSASSA-PKCS1-v1_5 for RSA keys and ECDSA for ECDSA keys.
func signatureAlgorithm(issuerKey crypto.PublicKey, hash crypto.Hash) (x509.SignatureAlgorithm, error) {
	rsaAlgorithms := map[crypto.Hash]x509.SignatureAlgorithm{
		crypto.SHA256: x509.SHA256WithRSA,
		crypto.SHA384: x509.SHA384WithRSA,
		crypto.SHA512: x509.SHA512WithRSA,
	}
	ecdsaAlgorithms := map[crypto.Hash]x509.SignatureAlgorithm{
		crypto.SHA256: x509.ECDSAWithSHA256,
		crypto.SHA384: x509.ECDSAWithSHA384,
		crypto.SHA512: x509.ECDSAWithSHA512,
	}

	var algorithm x509.SignatureAlgorithm
	switch issuerKey.(type) {
	case *rsa.PublicKey:
		algorithm = rsaAlgorithms[hash]
	case *ecdsa.PublicKey:
		algorithm = ecdsaAlgorithms[hash]
	default:
		return x509.UnknownSignatureAlgorithm, fmt.Errorf("issuer key type %T is not supported", issuerKey)
	}

	if algorithm == x509.UnknownSignatureAlgorithm {
		return algorithm, fmt.Errorf("%w: SignatureHash %v is not supported", ErrInvalidRequest, hash)
	}
	return algorithm, nil
}

// hashForAlgorithm returns the hash of a signature algorithm that this package
// signs with, and whether the algorithm is one of them.
func hashForAlgorithm(algorithm x509.SignatureAlgorithm) (crypto.Hash, bool) {
	switch algorithm {
	case x509.SHA256WithRSA, x509.ECDSAWithSHA256:
		return crypto.SHA256, true
	case x509.SHA384WithRSA, x509.ECDSAWithSHA384:
		return crypto.SHA384, true
	case x509.SHA512WithRSA, x509.ECDSAWithSHA512:
		return crypto.SHA512, true
	default:
		return 0, false
	}
}
