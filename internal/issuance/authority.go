// Package issuance is the CA side of docsign-ca: it turns an approved request
// into a document signing certificate.
//
// Issuance has two steps. Prepare builds the certificate from the profile,
// signs it with a throwaway key under a mirror of the issuer certificate, and
// lints that lint certificate with zlint and the profile lints of this package.
// Sign then signs the same TBSCertificate bytes with the real issuer key, so
// the issued certificate is byte for byte the one that was linted, apart from
// the signature.
//
// The package never reads a CSR: only the public key comes from the customer,
// and every other field comes from the validated Request and the profile.
package issuance

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/zmap/zlint/v3/lint"
)

// Issuer is an issuing intermediate CA: its certificate, its private key, and
// its own chain upward.
type Issuer struct {
	Cert   *x509.Certificate
	Signer crypto.Signer
	// Chain is the issuer's chain starting with the issuer itself: [intermediate, root].
	Chain []*x509.Certificate
}

// Request is an approved certificate request. Every field has been validated
// by the order workflow, and Prepare checks them again.
type Request struct {
	Serial    *big.Int
	PublicKey crypto.PublicKey

	CommonName   string
	Organization string
	Locality     string
	Province     string
	// Country is an ISO 3166-1 alpha-2 code in upper case, such as "DE".
	Country string

	// Usages lists the document signing purposes, in the order they appear in
	// the extKeyUsage extension: UsageDocumentSigning, UsageMSDocumentSigning,
	// UsageAdobeAuthenticDocumentsTrust.
	Usages []string

	NotBefore time.Time
	NotAfter  time.Time

	// SignatureHash is crypto.SHA256, crypto.SHA384 or crypto.SHA512.
	SignatureHash crypto.Hash

	// CRLURL, OCSPURL and IssuerURL are optional http or https URLs. When set
	// they become the CRL distribution point and the AIA OCSP and caIssuers
	// entries.
	CRLURL, OCSPURL, IssuerURL string
}

// Authority signs certificates for one issuer after linting them.
// It is safe for concurrent use.
type Authority struct {
	issuer *Issuer

	// mirror is a self-signed copy of the issuer certificate with the same
	// subject, extensions and key algorithm, but a throwaway key
	// (mirrorSigner). Certificates signed under it have the same
	// TBSCertificate as certificates signed by the real issuer.
	mirror       *x509.Certificate
	mirrorSigner crypto.Signer

	registry lint.Registry

	// templateHook, when set by a test, changes the template after the
	// profile built it and before linting, to prove that the lints catch a
	// template that breaks the profile.
	templateHook func(*x509.Certificate)
}

// Prepared is a linted certificate waiting for the real signature. Only the
// Authority that created it can sign it.
type Prepared struct {
	authority *Authority
	tbs       []byte
	lintCert  []byte
	hash      crypto.Hash
	// lintDuration is the time zlint and the profile lints took.
	lintDuration time.Duration
}

// TBS returns the DER TBSCertificate that Sign will sign.
func (p *Prepared) TBS() []byte { return bytes.Clone(p.tbs) }

// LintCertificate returns the DER certificate that was linted: the TBS signed
// by the mirror key.
func (p *Prepared) LintCertificate() []byte { return bytes.Clone(p.lintCert) }

// LintDuration returns how long zlint and the profile lints took on the lint
// certificate, for metrics.
func (p *Prepared) LintDuration() time.Duration { return p.lintDuration }

// NewAuthority checks the issuer and builds the lint mirror of its certificate.
//
// The issuer certificate must be a CA certificate with keyCertSign and cRLSign
// and a subjectKeyIdentifier, the signer must hold the certificate's key, and
// the key must be RSA or ECDSA. A non-empty Chain must start with the issuer
// certificate, and each certificate must be signed by the next.
func NewAuthority(issuer *Issuer) (*Authority, error) {
	err := checkIssuer(issuer)
	if err != nil {
		return nil, err
	}

	mirror, mirrorSigner, err := newMirror(issuer.Cert)
	if err != nil {
		return nil, err
	}

	registry, err := zlintRegistry()
	if err != nil {
		return nil, err
	}

	authority := &Authority{
		issuer:       issuer,
		mirror:       mirror,
		mirrorSigner: mirrorSigner,
		registry:     registry,
	}
	return authority, nil
}

// Issuer returns the issuer this Authority signs for.
func (a *Authority) Issuer() *Issuer { return a.issuer }

func checkIssuer(issuer *Issuer) error {
	if issuer == nil || issuer.Cert == nil || issuer.Signer == nil {
		return errors.New("invalid issuer: the certificate and the signer are both required")
	}
	cert := issuer.Cert
	name := cert.Subject.String()

	if !cert.BasicConstraintsValid || !cert.IsCA {
		return fmt.Errorf("invalid issuer %q: the certificate is not a CA certificate (basicConstraints cA is not TRUE)", name)
	}

	// RFC 5280 §4.2.1.3: a CA that signs certificates and CRLs asserts
	// keyCertSign and cRLSign.
	want := x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	if cert.KeyUsage&want != want {
		return fmt.Errorf("invalid issuer %q: keyUsage lacks keyCertSign or cRLSign; reissue the CA certificate with both", name)
	}

	// RFC 5280 §4.2.1.1: issued certificates carry an authorityKeyIdentifier,
	// which is the issuer's subjectKeyIdentifier.
	if len(cert.SubjectKeyId) == 0 {
		return fmt.Errorf("invalid issuer %q: the certificate has no subjectKeyIdentifier", name)
	}

	err := checkSignerMatches(cert, issuer.Signer)
	if err != nil {
		return fmt.Errorf("invalid issuer %q: %w", name, err)
	}

	return checkChain(issuer)
}

func checkSignerMatches(cert *x509.Certificate, signer crypto.Signer) error {
	switch cert.PublicKey.(type) {
	case *rsa.PublicKey, *ecdsa.PublicKey:
	default:
		return fmt.Errorf("key type %T is not supported; use an RSA or ECDSA issuer key", cert.PublicKey)
	}

	type equaler interface{ Equal(crypto.PublicKey) bool }
	public, ok := signer.Public().(equaler)
	if !ok || !public.Equal(cert.PublicKey) {
		return errors.New("the signer's public key does not match the certificate; check the key URI")
	}
	return nil
}

func checkChain(issuer *Issuer) error {
	if len(issuer.Chain) == 0 {
		return nil
	}
	if !issuer.Chain[0].Equal(issuer.Cert) {
		return fmt.Errorf("invalid issuer chain: Chain[0] is %q, expected the issuer certificate itself", issuer.Chain[0].Subject)
	}

	for i := 0; i+1 < len(issuer.Chain); i++ {
		child, parent := issuer.Chain[i], issuer.Chain[i+1]
		err := child.CheckSignatureFrom(parent)
		if err != nil {
			return fmt.Errorf("invalid issuer chain: %q is not signed by %q: %w", child.Subject, parent.Subject, err)
		}
	}
	return nil
}
