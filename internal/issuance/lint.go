package issuance

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/fips140"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"slices"
	"strings"
	"sync"

	zx509 "github.com/zmap/zcrypto/x509"
	"github.com/zmap/zlint/v3/lint"
)

// Finding is one lint result at warning level or above.
type Finding struct {
	// Lint is the lint name, such as "e_ext_key_usage_without_bits" from zlint
	// or "e_ds_key_usage_not_ds_nr" from this package.
	Lint string
	// Status is "warn", "error" or "fatal".
	Status  string
	Details string
}

// LintError is returned when pre-issuance linting finds a problem. Nothing
// was signed with the issuer key.
type LintError struct {
	Findings []Finding
}

func (e *LintError) Error() string {
	parts := make([]string, 0, len(e.Findings))
	for _, finding := range e.Findings {
		part := finding.Lint
		if finding.Details != "" {
			part += " (" + finding.Details + ")"
		}
		parts = append(parts, part)
	}
	return "certificate failed pre-issuance linting: " + strings.Join(parts, "; ")
}

// Names returns the names of the lints that failed.
func (e *LintError) Names() []string {
	names := make([]string, 0, len(e.Findings))
	for _, finding := range e.Findings {
		names = append(names, finding.Lint)
	}
	return names
}

// excludedLintSources are the zlint sources that do not apply to a document
// signing certificate. Every other source stays in the registry:
//
//   - RFC 3279, 5280, 5480, 5891, 6962 and 8813, Mozilla (key and algorithm
//     encodings, RSA >= 2048) and Community lints apply to any X.509 certificate.
//   - ETSI ESI lints apply only when the certificate carries ETSI QC
//     statements, which matter for EU qualified electronic seals.
//   - CA/Browser Forum TLS (CABF_BR), S/MIME (CABF_SMIME_BR) and code signing
//     (CABF_CS_BR) lints stay. zlint's framework filter in
//     lint.CertificateLint.Execute (zlint v3.7.3) marks them not applicable
//     unless the certificate is in their scope. TLS scope means no EKU,
//     anyExtendedKeyUsage or serverAuth. S/MIME scope means emailProtection
//     with a mailbox address. Code signing scope means a CA/Browser Forum code
//     signing policy OID. A certificate of this profile is in none of them,
//     and a test checks that. Should a template ever drift into one of those
//     scopes, their lints report it.
//
// Excluded:
//   - Apple: its CT notice (n_ct_sct_policy_count_unsatisfied) fires on every
//     certificate without SCTs, and its other lints limit TLS server
//     certificate lifetimes.
//   - Chrome: the Chrome Root Program governs TLS server certificates only.
//   - CABF_EV: the EV Guidelines cover TLS certificates, and zlint applies no
//     framework filter to them.
var excludedLintSources = lint.SourceList{
	lint.AppleRootStorePolicy,
	lint.ChromeRootStorePolicy,
	lint.CABFEVGuidelines,
}

// excludedLintNames are single lints that cannot fire on a lint certificate.
//
//   - e_cert_issued_by_compromised_emudhra_ca (Community) verifies the
//     certificate's signature under eight fixed P-384 keys of compromised
//     eMudhra CAs. A lint certificate is signed by the mirror's throwaway
//     key, never by one of those, so the lint passes every time. Its eight
//     P-384 verifications took about 80 % of the time of Prepare under an
//     ECDSA issuer (go test -bench PrepareECDSAP384Issuer).
//   - e_rsa_fermat_factorization (Community) is replaced by the profile lint
//     of the same name (checkFermatFactorization), which tries the same 100
//     candidates without a square root for most of them. zlint's version took
//     13 % of the server's CPU with an ECDSA P-256 issuer and RSA-2048
//     subscriber keys.
var excludedLintNames = []string{
	"e_cert_issued_by_compromised_emudhra_ca",
	"e_rsa_fermat_factorization",
}

// zlintRegistry returns zlint's global registry without excludedLintSources
// and excludedLintNames. Filtering copies the registry, so it runs once per
// process.
var zlintRegistry = sync.OnceValues(func() (lint.Registry, error) {
	registry, err := lint.GlobalRegistry().Filter(lint.FilterOptions{
		ExcludeSources: excludedLintSources,
		ExcludeNames:   excludedLintNames,
	})
	if err != nil {
		return nil, fmt.Errorf("filter zlint registry: %w", err)
	}
	return registry, nil
})

// runZlint lints a DER certificate with registry and returns the findings at
// warning level or above, sorted by lint name.
func runZlint(der []byte, registry lint.Registry) ([]Finding, error) {
	cert, err := zx509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse lint certificate for zlint: %w", err)
	}

	// zlint.LintCertificateEx (v3.7.3) runs the same lints, but it also lists
	// and sorts every lint name and keeps every result in a map, which cost
	// about a fifth of its time in a server CPU profile.
	config := registry.GetConfiguration()
	var findings []Finding
	for _, certificateLint := range registry.CertificateLints().Lints() {
		result := certificateLint.Execute(cert, config)
		if result.Status < lint.Warn {
			continue
		}
		findings = append(findings, Finding{Lint: certificateLint.Name, Status: result.Status.String(), Details: result.Details})
	}

	slices.SortFunc(findings, func(a, b Finding) int { return strings.Compare(a.Lint, b.Lint) })
	return findings, nil
}

// newMirror returns a self-signed certificate with the issuer's serial,
// subject, validity and extensions, and a new key of the same algorithm as
// the issuer key (see newThrowawayKey for its size).
//
// A certificate signed under the mirror has the same TBSCertificate as one
// signed under the issuer. The issuer name and authorityKeyIdentifier come
// from the mirror's subject and subjectKeyIdentifier, which equal the
// issuer's. The signature algorithm identifier depends only on the key
// algorithm and the hash.
func newMirror(issuerCert *x509.Certificate) (*x509.Certificate, crypto.Signer, error) {
	signer, err := newThrowawayKey(issuerCert.PublicKey)
	if err != nil {
		return nil, nil, err
	}

	// Copying the issuer's extensions as ExtraExtensions makes crypto/x509
	// write them unchanged. The template leaves IsCA, KeyUsage and the key
	// identifiers unset so that crypto/x509 adds no extension of its own.
	template := &x509.Certificate{
		SerialNumber:    issuerCert.SerialNumber,
		RawSubject:      issuerCert.RawSubject,
		NotBefore:       issuerCert.NotBefore,
		NotAfter:        issuerCert.NotAfter,
		ExtraExtensions: issuerCert.Extensions,
	}

	der, err := x509.CreateCertificate(rand.Reader, template, template, signer.Public(), signer)
	if err != nil {
		return nil, nil, fmt.Errorf("create lint mirror of issuer %q: %w", issuerCert.Subject, err)
	}

	mirror, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("parse lint mirror of issuer %q: %w", issuerCert.Subject, err)
	}
	return mirror, signer, nil
}

// newThrowawayKey returns the mirror's key.
//
// For ECDSA it is on the issuer's curve, so the lint signature has the
// issuer's length, which zlint's Mozilla ECDSA encoding lint uses to infer
// the issuer's curve.
//
// For RSA it is a small key, because the signature algorithm identifier
// (sha256WithRSAEncryption and the like) does not name the key size. An
// RSA signature costs roughly the cube of the modulus size, so a mirror
// key as large as a 3072-bit issuer's made linting cost a second real
// signature.
// The lint certificate's signature is then shorter than the issued one's.
// zlint v3.7.3 reads the signature value only in ECDSA lints and in the
// excluded eMudhra lint, so no lint depends on the difference.
func newThrowawayKey(issuerKey crypto.PublicKey) (crypto.Signer, error) {
	switch key := issuerKey.(type) {
	case *rsa.PublicKey:
		return rsa.GenerateKey(rand.Reader, min(key.N.BitLen(), mirrorRSABits()))
	case *ecdsa.PublicKey:
		return ecdsa.GenerateKey(key.Curve, rand.Reader)
	default:
		return nil, fmt.Errorf("issuer key type %T is not supported; use RSA or ECDSA", issuerKey)
	}
}

// mirrorRSABits is the size of an RSA mirror key: 1024 bits, the smallest
// that crypto/rsa generates, or 2048 bits in FIPS 140-3 mode, which rejects
// smaller keys.
func mirrorRSABits() int {
	if fips140.Enabled() {
		return 2048
	}
	return 1024
}
