package issuance

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"path/filepath"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/keys"
)

// Names and lifetimes of the development hierarchy. The subjects contain
// "NOT FOR PRODUCTION" so that a certificate chaining to this root is
// recognizable wherever it shows up.
const (
	devRootCommonName         = "docsign-ca Development Root CA - NOT FOR PRODUCTION"
	devIntermediateCommonName = "docsign-ca Development Issuing CA 1 - NOT FOR PRODUCTION"
	devOrganization           = "docsign-ca development"

	devRootKeyFile         = "root.key"
	devIntermediateKeyFile = "issuing-1.key"

	devRootYears         = 20
	devIntermediateYears = 10
)

// Hierarchy is a root CA and one issuing intermediate, with the URIs of their keys.
type Hierarchy struct {
	RootDER         []byte
	IntermediateDER []byte
	Root            *x509.Certificate
	Intermediate    *x509.Certificate

	RootKeyURI         string
	IntermediateKeyURI string
}

// Issuer opens the intermediate key and returns the intermediate as an
// Issuer with the chain [intermediate, root].
func (h *Hierarchy) Issuer() (*Issuer, error) {
	signer, err := keys.Open(h.IntermediateKeyURI)
	if err != nil {
		return nil, err
	}

	issuer := &Issuer{
		Cert:   h.Intermediate,
		Signer: signer,
		Chain:  []*x509.Certificate{h.Intermediate, h.Root},
	}
	return issuer, nil
}

// CreateDevelopmentHierarchy creates a development root CA (ECDSA P-384,
// 20 years, pathLenConstraint 1) and an issuing intermediate under it
// (RSA 3072, 10 years, pathLenConstraint 0), both valid from now.
//
// The keys are written with mode 0600 to keyDir as root.key and
// issuing-1.key. Existing key files are never overwritten, so a second call
// with the same keyDir fails.
func CreateDevelopmentHierarchy(keyDir string, now time.Time) (*Hierarchy, error) {
	rootSigner, rootURI, err := keys.GenerateFile(filepath.Join(keyDir, devRootKeyFile), keys.ECDSAP384)
	if err != nil {
		return nil, fmt.Errorf("create development root key: %w", err)
	}

	intermediateSigner, intermediateURI, err := keys.GenerateFile(filepath.Join(keyDir, devIntermediateKeyFile), keys.RSA3072)
	if err != nil {
		return nil, fmt.Errorf("create development intermediate key: %w", err)
	}

	notBefore := certificateTime(now)

	rootTemplate, err := caTemplate(devRootCommonName, rootSigner.Public(), notBefore, notBefore.AddDate(devRootYears, 0, 0), 1)
	if err != nil {
		return nil, err
	}
	rootDER, root, err := createCACertificate(rootTemplate, rootTemplate, rootSigner.Public(), rootSigner)
	if err != nil {
		return nil, err
	}

	intermediateTemplate, err := caTemplate(devIntermediateCommonName, intermediateSigner.Public(),
		notBefore, notBefore.AddDate(devIntermediateYears, 0, 0), 0)
	if err != nil {
		return nil, err
	}
	intermediateDER, intermediate, err := createCACertificate(intermediateTemplate, root, intermediateSigner.Public(), rootSigner)
	if err != nil {
		return nil, err
	}

	hierarchy := &Hierarchy{
		RootDER:            rootDER,
		IntermediateDER:    intermediateDER,
		Root:               root,
		Intermediate:       intermediate,
		RootKeyURI:         rootURI,
		IntermediateKeyURI: intermediateURI,
	}
	return hierarchy, nil
}

// caTemplate returns a CA certificate template. The root signs with
// ECDSA-with-SHA384, which zlint's Mozilla lints require for a P-384 key.
func caTemplate(commonName string, publicKey crypto.PublicKey, notBefore, notAfter time.Time, maxPathLen int) (*x509.Certificate, error) {
	serial, err := NewSerial()
	if err != nil {
		return nil, err
	}

	_, ski, err := publicKeyInfo(publicKey)
	if err != nil {
		return nil, err
	}

	template := &x509.Certificate{
		SerialNumber:       serial,
		SignatureAlgorithm: x509.ECDSAWithSHA384,
		Subject: pkix.Name{
			CommonName:   commonName,
			Organization: []string{devOrganization},
		},
		NotBefore: notBefore,
		NotAfter:  notAfter,

		// RFC 5280 §4.2.1.3 and §4.2.1.9: a CA asserts keyCertSign (and cRLSign
		// to sign CRLs) in a critical keyUsage, and cA TRUE in a critical
		// basicConstraints.
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            maxPathLen,
		MaxPathLenZero:        maxPathLen == 0,

		SubjectKeyId: ski,
	}
	return template, nil
}

func createCACertificate(template, parent *x509.Certificate, publicKey crypto.PublicKey, signer crypto.Signer) ([]byte, *x509.Certificate, error) {
	der, err := x509.CreateCertificate(rand.Reader, template, parent, publicKey, signer)
	if err != nil {
		return nil, nil, fmt.Errorf("create CA certificate %q: %w", template.Subject.CommonName, err)
	}

	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("parse CA certificate %q: %w", template.Subject.CommonName, err)
	}
	return der, cert, nil
}
