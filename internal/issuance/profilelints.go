package issuance

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"slices"
	"strings"
	"time"
)

// maxValidity is the longest validity of a document signing certificate:
// three years plus a leap day, counted the RFC 5280 §4.1.2.5 way (both ends
// inclusive). Signatures outlive the certificate through RFC 3161 time stamps.
const maxValidity = 1096 * 24 * time.Hour

var (
	oidExtensionKeyUsage         = asn1.ObjectIdentifier{2, 5, 29, 15}
	oidExtensionSubjectAltName   = asn1.ObjectIdentifier{2, 5, 29, 17}
	oidExtensionBasicConstraints = asn1.ObjectIdentifier{2, 5, 29, 19}
	oidExtensionExtKeyUsage      = asn1.ObjectIdentifier{2, 5, 29, 37}

	oidAnyExtendedKeyUsage = asn1.ObjectIdentifier{2, 5, 29, 37, 0}
	oidServerAuth          = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 1}
	oidClientAuth          = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 2}
	oidCodeSigning         = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 3}
)

// profileLint is a rule of the document signing profile that zlint does not
// check. check returns "" when cert follows the rule, and otherwise the
// details of the violation.
type profileLint struct {
	name  string
	check func(cert *x509.Certificate, ext parsedExtensions) string
}

// parsedExtensions holds what the profile lints need from the raw extensions,
// because crypto/x509 folds criticality and key purpose OIDs into other fields.
type parsedExtensions struct {
	byOID map[string]*extensionInfo
	// eku is every key purpose OID in the extKeyUsage extension, in order.
	eku []asn1.ObjectIdentifier
}

type extensionInfo struct {
	critical bool
}

func parseExtensions(cert *x509.Certificate) (parsedExtensions, error) {
	parsed := parsedExtensions{byOID: make(map[string]*extensionInfo, len(cert.Extensions))}

	for _, ext := range cert.Extensions {
		parsed.byOID[ext.Id.String()] = &extensionInfo{critical: ext.Critical}

		if ext.Id.Equal(oidExtensionExtKeyUsage) {
			_, err := asn1.Unmarshal(ext.Value, &parsed.eku)
			if err != nil {
				return parsed, fmt.Errorf("parse extKeyUsage of the lint certificate: %w", err)
			}
		}
	}
	return parsed, nil
}

func (p parsedExtensions) get(oid asn1.ObjectIdentifier) *extensionInfo { return p.byOID[oid.String()] }

// profileLints are the rules of the document signing profile.
var profileLints = []profileLint{
	{name: "e_ds_eku_missing", check: checkEKUPresent},
	{name: "e_ds_eku_critical", check: checkEKUNotCritical},
	{name: "e_ds_eku_document_signing_missing", check: checkDocumentSigningPurpose},
	{name: "e_ds_eku_email_protection_missing", check: checkEmailProtectionPurpose},
	{name: "e_ds_eku_prohibited_purpose", check: checkProhibitedPurposes},
	{name: "e_ds_key_usage_not_ds_nr", check: checkKeyUsageBits},
	{name: "e_ds_key_usage_not_critical", check: checkKeyUsageCritical},
	{name: "e_ds_basic_constraints_not_end_entity", check: checkEndEntity},
	{name: "e_ds_san_present", check: checkNoSAN},
	{name: "e_ds_validity_too_long", check: checkValidityLength},
	{name: "e_ds_public_key_not_allowed", check: checkPublicKey},
	{name: "e_ds_subject_attribute_missing", check: checkSubjectAttributes},
	{name: "e_rsa_fermat_factorization", check: checkFermatFactorization},
}

// runProfileLints returns a finding for each profile rule that cert breaks.
// When expectedEKU is not nil, the extKeyUsage must also list exactly those key
// purposes in that order (lint e_ds_eku_not_as_requested).
func runProfileLints(cert *x509.Certificate, expectedEKU []asn1.ObjectIdentifier) ([]Finding, error) {
	ext, err := parseExtensions(cert)
	if err != nil {
		return nil, err
	}

	var findings []Finding
	for _, rule := range profileLints {
		details := rule.check(cert, ext)
		if details != "" {
			findings = append(findings, Finding{Lint: rule.name, Status: "error", Details: details})
		}
	}

	if expectedEKU != nil && !slices.EqualFunc(ext.eku, expectedEKU, asn1.ObjectIdentifier.Equal) {
		findings = append(findings, Finding{
			Lint:    "e_ds_eku_not_as_requested",
			Status:  "error",
			Details: fmt.Sprintf("extKeyUsage is [%s], the request needs [%s]", joinOIDs(ext.eku), joinOIDs(expectedEKU)),
		})
	}
	return findings, nil
}

// checkEKUPresent requires an extKeyUsage extension. RFC 9336 §4 lets a
// relying party exclude a certificate without one, and zlint treats such a
// certificate as a TLS server certificate.
func checkEKUPresent(_ *x509.Certificate, ext parsedExtensions) string {
	if ext.get(oidExtensionExtKeyUsage) == nil {
		return "the extKeyUsage extension is missing"
	}
	return ""
}

// checkEKUNotCritical keeps extKeyUsage non-critical as the profile defines it,
// so that software which does not know a document signing OID still accepts
// the certificate.
func checkEKUNotCritical(_ *x509.Certificate, ext parsedExtensions) string {
	info := ext.get(oidExtensionExtKeyUsage)
	if info != nil && info.critical {
		return "the extKeyUsage extension is critical"
	}
	return ""
}

func checkDocumentSigningPurpose(_ *x509.Certificate, ext parsedExtensions) string {
	for _, oid := range ext.eku {
		if oid.Equal(OIDDocumentSigning) || oid.Equal(OIDMSDocumentSigning) || oid.Equal(OIDAdobeAuthenticDocumentsTrust) {
			return ""
		}
	}
	return "extKeyUsage has none of id-kp-documentSigning, Microsoft Document Signing and Adobe Authentic Documents Trust"
}

// checkEmailProtectionPurpose requires id-kp-emailProtection, which NSS-based
// PDF validators such as poppler's pdfsig need (see ekuOIDs).
func checkEmailProtectionPurpose(_ *x509.Certificate, ext parsedExtensions) string {
	if !slices.ContainsFunc(ext.eku, OIDEmailProtection.Equal) {
		return "extKeyUsage lacks id-kp-emailProtection"
	}
	return ""
}

// checkProhibitedPurposes rejects purposes that would make the certificate
// valid for TLS or code signing. RFC 9336 §6 explains that a separate
// document signing purpose exists to keep these uses apart.
func checkProhibitedPurposes(_ *x509.Certificate, ext parsedExtensions) string {
	prohibited := map[string]string{
		oidAnyExtendedKeyUsage.String(): "anyExtendedKeyUsage",
		oidServerAuth.String():          "serverAuth",
		oidClientAuth.String():          "clientAuth",
		oidCodeSigning.String():         "codeSigning",
	}

	var found []string
	for _, oid := range ext.eku {
		if name, ok := prohibited[oid.String()]; ok {
			found = append(found, name)
		}
	}
	if len(found) > 0 {
		return "extKeyUsage contains " + strings.Join(found, ", ")
	}
	return ""
}

// checkKeyUsageBits requires exactly digitalSignature and nonRepudiation
// (contentCommitment). A signing key needs no encipherment or CA bits, and
// setting both signature bits satisfies validators that require either one.
func checkKeyUsageBits(cert *x509.Certificate, _ parsedExtensions) string {
	want := x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment
	if cert.KeyUsage != want {
		return fmt.Sprintf("keyUsage bits are %#x, expected digitalSignature and nonRepudiation only (%#x)", int(cert.KeyUsage), int(want))
	}
	return ""
}

// checkKeyUsageCritical follows RFC 5280 §4.2.1.3: keyUsage SHOULD be critical.
func checkKeyUsageCritical(_ *x509.Certificate, ext parsedExtensions) string {
	info := ext.get(oidExtensionKeyUsage)
	if info == nil {
		return "the keyUsage extension is missing"
	}
	if !info.critical {
		return "the keyUsage extension is not critical"
	}
	return ""
}

// checkEndEntity requires a critical basicConstraints with cA FALSE.
func checkEndEntity(cert *x509.Certificate, ext parsedExtensions) string {
	info := ext.get(oidExtensionBasicConstraints)
	if info == nil || !cert.BasicConstraintsValid {
		return "the basicConstraints extension is missing"
	}
	if cert.IsCA {
		return "basicConstraints has cA TRUE"
	}
	if !info.critical {
		return "the basicConstraints extension is not critical"
	}
	return ""
}

// checkNoSAN rejects a subjectAltName. An email address combined with
// emailProtection would put the certificate in scope of the CA/Browser Forum
// S/MIME Baseline Requirements, and the profile needs no other name type.
func checkNoSAN(_ *x509.Certificate, ext parsedExtensions) string {
	if ext.get(oidExtensionSubjectAltName) != nil {
		return "the certificate has a subjectAltName extension"
	}
	return ""
}

func checkValidityLength(cert *x509.Certificate, _ parsedExtensions) string {
	// RFC 5280 §4.1.2.5: the validity period includes both notBefore and
	// notAfter, so it is one second longer than their difference.
	validity := cert.NotAfter.Sub(cert.NotBefore) + time.Second
	if validity > maxValidity {
		return fmt.Sprintf("validity is %s, longer than the maximum of %d days",
			validity, int(maxValidity/(24*time.Hour)))
	}
	return ""
}

// checkPublicKey accepts the subscriber keys of the profile: RSA with at
// least 2048 bits, and ECDSA on P-256 or P-384.
func checkPublicKey(cert *x509.Certificate, _ parsedExtensions) string {
	switch key := cert.PublicKey.(type) {
	case *rsa.PublicKey:
		if key.N.BitLen() < 2048 {
			return fmt.Sprintf("RSA key has %d bits, fewer than 2048", key.N.BitLen())
		}
		return ""
	case *ecdsa.PublicKey:
		if key.Curve != elliptic.P256() && key.Curve != elliptic.P384() {
			return fmt.Sprintf("ECDSA curve %s is not allowed; use P-256 or P-384", key.Curve.Params().Name)
		}
		return ""
	default:
		return fmt.Sprintf("public key algorithm %s is not allowed; use RSA (2048 bits or more) or ECDSA P-256 or P-384", cert.PublicKeyAlgorithm)
	}
}

// checkSubjectAttributes requires commonName, organizationName and
// countryName: the signer's display name and the validated organization.
func checkSubjectAttributes(cert *x509.Certificate, _ parsedExtensions) string {
	var missing []string
	if cert.Subject.CommonName == "" {
		missing = append(missing, "commonName")
	}
	if len(cert.Subject.Organization) == 0 || cert.Subject.Organization[0] == "" {
		missing = append(missing, "organizationName")
	}
	if len(cert.Subject.Country) == 0 || cert.Subject.Country[0] == "" {
		missing = append(missing, "countryName")
	}
	if len(missing) > 0 {
		return "subject lacks " + strings.Join(missing, ", ")
	}
	return ""
}

func joinOIDs(oids []asn1.ObjectIdentifier) string {
	parts := make([]string, 0, len(oids))
	for _, oid := range oids {
		parts = append(parts, oid.String())
	}
	return strings.Join(parts, ", ")
}
