package ca

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	zx509 "github.com/zmap/zcrypto/x509"
	"github.com/zmap/zlint/v3"
	"github.com/zmap/zlint/v3/lint"

	"github.com/docsign-ca/docsign-ca/internal/issuance"
)

// CACertificateRequest describes a root or intermediate CA certificate that
// a key ceremony creates.
type CACertificateRequest struct {
	Subject   pkix.Name
	PublicKey crypto.PublicKey
	NotBefore time.Time
	NotAfter  time.Time
	// MaxPathLen is the basicConstraints pathLenConstraint (RFC 5280
	// §4.2.1.9): 0 for an intermediate that issues only end-entity
	// certificates, -1 for no constraint.
	MaxPathLen int
	// CRLURLs become the cRLDistributionPoints (RFC 5280 §4.2.1.13), and
	// OCSPURLs and IssuerURLs the authorityInfoAccess OCSP and caIssuers
	// entries (RFC 5280 §4.2.2.1). They describe the issuer's CRL and
	// certificate, so a self-signed root has none.
	CRLURLs    []string
	OCSPURLs   []string
	IssuerURLs []string
}

// LintFinding is a zlint result at warning level or above.
type LintFinding struct {
	Lint    string `json:"lint"`
	Status  string `json:"status"`
	Details string `json:"details,omitempty"`
}

// CreateCACertificate signs a CA certificate and returns its DER, the
// parsed certificate, and the zlint warnings it has. A nil parent makes a
// self-signed root, signed by signer, whose public key must be
// req.PublicKey.
//
// The certificate has a critical keyUsage with keyCertSign and cRLSign
// (RFC 5280 §4.2.1.3) and a critical basicConstraints with cA TRUE
// (RFC 5280 §4.2.1.9). Go adds the subjectKeyIdentifier and, under a
// parent, the authorityKeyIdentifier. RSA parents sign with SHA-256, P-256
// parents with ECDSA-SHA256 and P-384 parents with ECDSA-SHA384.
//
// The certificate is linted with zlint's RFC 5280 and RFC 5480 lints. A
// finding at error level or above is an error and nothing is returned.
func CreateCACertificate(req CACertificateRequest, parent *x509.Certificate, signer crypto.Signer) ([]byte, *x509.Certificate, []LintFinding, error) {
	if err := checkCARequest(req, parent); err != nil {
		return nil, nil, nil, err
	}
	if parent == nil && !publicKeysEqual(signer.Public(), req.PublicKey) {
		return nil, nil, nil, fmt.Errorf("root CA certificate %q: the signing key is not the certificate's key", req.Subject.CommonName)
	}
	template, err := caTemplate(req, signer)
	if err != nil {
		return nil, nil, nil, err
	}
	issuerCert := parent
	if parent == nil {
		issuerCert = template
	}

	der, err := x509.CreateCertificate(rand.Reader, template, issuerCert, req.PublicKey, signer)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("sign CA certificate %q: %w", req.Subject.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("parse new CA certificate %q: %w", req.Subject.CommonName, err)
	}

	// The signature is checked because a token signs with its own code: a
	// wrong mechanism or a truncated signature shows here, not at a client.
	verifier := parent
	if parent == nil {
		verifier = cert
	}
	if err := cert.CheckSignatureFrom(verifier); err != nil {
		return nil, nil, nil, fmt.Errorf("new CA certificate %q does not verify under %q: %w", req.Subject.CommonName, verifier.Subject.CommonName, err)
	}

	findings, err := lintCACertificate(der)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("CA certificate %q: %w", req.Subject.CommonName, err)
	}
	return der, cert, findings, nil
}

func checkCARequest(req CACertificateRequest, parent *x509.Certificate) error {
	var problems []error
	if strings.TrimSpace(req.Subject.CommonName) == "" {
		problems = append(problems, errors.New("the subject has no common name"))
	}
	if !req.NotAfter.After(req.NotBefore) {
		problems = append(problems, fmt.Errorf("not_after %s is not after not_before %s", req.NotAfter.Format(time.RFC3339), req.NotBefore.Format(time.RFC3339)))
	}
	if req.MaxPathLen < -1 {
		problems = append(problems, fmt.Errorf("path length %d is negative; use 0 or more, or leave it out for no constraint", req.MaxPathLen))
	}

	if parent == nil && len(req.CRLURLs)+len(req.OCSPURLs)+len(req.IssuerURLs) > 0 {
		problems = append(problems, errors.New("a self-signed root takes no CRL, OCSP or caIssuers URLs, since no issuer above it publishes them"))
	}
	if parent != nil {
		problems = append(problems, checkUnderParent(req, parent)...)
	}

	for _, u := range slices.Concat(req.CRLURLs, req.OCSPURLs, req.IssuerURLs) {
		if err := checkHTTPURL(u); err != nil {
			problems = append(problems, err)
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("invalid CA certificate %q: %w", req.Subject.CommonName, joinProblems(problems))
	}
	return nil
}

// checkUnderParent checks that the parent may issue the new CA. RFC 5280
// §6.1.4 (l) and (m) reduce the path length by one per CA below the parent.
// §6.1.3 (a)(2) requires every certificate of the path to be valid at
// validation time, so a child that outlives its parent would fail
// validation in its last years.
func checkUnderParent(req CACertificateRequest, parent *x509.Certificate) []error {
	var problems []error
	if !parent.IsCA || parent.KeyUsage&x509.KeyUsageCertSign == 0 {
		problems = append(problems, fmt.Errorf("parent %q is not a CA certificate with keyCertSign", parent.Subject.CommonName))
	}
	parentLimited := parent.MaxPathLen > 0 || parent.MaxPathLenZero
	if parentLimited && (req.MaxPathLen < 0 || req.MaxPathLen >= parent.MaxPathLen) {
		problems = append(problems, fmt.Errorf("path length %d is not below the parent's %d", req.MaxPathLen, parent.MaxPathLen))
	}
	notBefore, notAfter := req.NotBefore.Truncate(time.Second), req.NotAfter.Truncate(time.Second)
	if notBefore.Before(parent.NotBefore) || notAfter.After(parent.NotAfter) {
		problems = append(problems, fmt.Errorf("the validity %s to %s is not within the parent's %s to %s",
			req.NotBefore.Format(time.RFC3339), req.NotAfter.Format(time.RFC3339),
			parent.NotBefore.Format(time.RFC3339), parent.NotAfter.Format(time.RFC3339)))
	}
	return problems
}

func checkHTTPURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("URL %q is not an absolute http or https URL", raw)
	}
	return nil
}

func caTemplate(req CACertificateRequest, signer crypto.Signer) (*x509.Certificate, error) {
	serial, err := issuance.NewSerial()
	if err != nil {
		return nil, err
	}
	algorithm, err := caSignatureAlgorithm(signer.Public())
	if err != nil {
		return nil, err
	}

	template := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               req.Subject,
		NotBefore:             req.NotBefore.UTC().Truncate(time.Second),
		NotAfter:              req.NotAfter.UTC().Truncate(time.Second),
		SignatureAlgorithm:    algorithm,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            req.MaxPathLen,
		MaxPathLenZero:        req.MaxPathLen == 0,
		CRLDistributionPoints: req.CRLURLs,
		OCSPServer:            req.OCSPURLs,
		IssuingCertificateURL: req.IssuerURLs,
	}
	return template, nil
}

// caSignatureAlgorithm picks the signature algorithm for the signing key.
// zlint's Mozilla lints pair P-384 with SHA-384 and P-256 with SHA-256.
func caSignatureAlgorithm(public crypto.PublicKey) (x509.SignatureAlgorithm, error) {
	switch key := public.(type) {
	case *rsa.PublicKey:
		return x509.SHA256WithRSA, nil
	case *ecdsa.PublicKey:
		switch key.Curve {
		case elliptic.P256():
			return x509.ECDSAWithSHA256, nil
		case elliptic.P384():
			return x509.ECDSAWithSHA384, nil
		}
		return 0, fmt.Errorf("unsupported ECDSA curve %s for a CA key; use P-256 or P-384", key.Curve.Params().Name)
	}
	return 0, fmt.Errorf("unsupported CA key type %T; use RSA or ECDSA", public)
}

// caLintRegistry is zlint's registry reduced to the lints that apply to
// any CA certificate: RFC 5280 (structure, extensions) and RFC 5480
// (elliptic curve key and signature encodings). The CA/Browser Forum lints
// are left out because they cover TLS and S/MIME hierarchies.
var caLintRegistry = sync.OnceValues(func() (lint.Registry, error) {
	return lint.GlobalRegistry().Filter(lint.FilterOptions{IncludeSources: lint.SourceList{lint.RFC5280, lint.RFC5480}})
})

func lintCACertificate(der []byte) ([]LintFinding, error) {
	registry, err := caLintRegistry()
	if err != nil {
		return nil, fmt.Errorf("filter zlint registry: %w", err)
	}
	cert, err := zx509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse for zlint: %w", err)
	}

	var findings []LintFinding
	var failures []string
	for name, result := range zlint.LintCertificateEx(cert, registry).Results {
		if result.Status < lint.Warn {
			continue
		}
		findings = append(findings, LintFinding{Lint: name, Status: result.Status.String(), Details: result.Details})
		if result.Status >= lint.Error {
			failures = append(failures, name)
		}
	}
	slices.SortFunc(findings, func(a, b LintFinding) int { return strings.Compare(a.Lint, b.Lint) })

	if len(failures) > 0 {
		slices.Sort(failures)
		return nil, fmt.Errorf("zlint reports errors: %s", strings.Join(failures, ", "))
	}
	return findings, nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	k, ok := a.(equaler)
	return ok && k.Equal(b)
}
