package ca

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrOutsideValidity is wrapped by CheckIssuingCA when the time is before
// the certificate's notBefore or after its notAfter.
var ErrOutsideValidity = errors.New("the certificate is outside its validity period")

// CheckIssuingCA checks what an issuing CA needs before it signs:
//   - the certificate is a CA certificate (RFC 5280 §4.2.1.9, cA TRUE);
//   - its keyUsage has keyCertSign and cRLSign (RFC 5280 §4.2.1.3), so it
//     may sign certificates and CRLs;
//   - signer holds the private half of the certificate's public key;
//   - now is within [notBefore, notAfter] (RFC 5280 §4.1.2.5).
//
// It returns every failed check in one error; a validity failure wraps
// ErrOutsideValidity.
func CheckIssuingCA(cert *x509.Certificate, signer crypto.Signer, now time.Time) error {
	problems := checkCAKey(cert, signer)
	if err := checkValidity(cert, now); err != nil {
		problems = append(problems, err)
	}
	return joinProblems(problems)
}

// checkCAKey returns the failed checks of CheckIssuingCA other than validity.
func checkCAKey(cert *x509.Certificate, signer crypto.Signer) []error {
	var problems []error
	if !cert.BasicConstraintsValid || !cert.IsCA {
		problems = append(problems, errors.New("the certificate is not a CA certificate (basicConstraints cA is not TRUE)"))
	}

	want := x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	if cert.KeyUsage&want != want {
		problems = append(problems, errors.New("the certificate's keyUsage lacks keyCertSign or cRLSign; issue a new CA certificate with both"))
	}

	if !publicKeysEqual(signer.Public(), cert.PublicKey) {
		problems = append(problems, errors.New("the key's public half does not match the certificate's public key; check the key URI"))
	}
	return problems
}

func checkValidity(cert *x509.Certificate, now time.Time) error {
	switch {
	case now.Before(cert.NotBefore):
		return fmt.Errorf("%w: it is valid from %s", ErrOutsideValidity, cert.NotBefore.UTC().Format(time.RFC3339))
	case now.After(cert.NotAfter):
		return fmt.Errorf("%w: it expired at %s", ErrOutsideValidity, cert.NotAfter.UTC().Format(time.RFC3339))
	}
	return nil
}

// problemList is several failed checks in one error, on one line, so that
// a log line stays one line.
type problemList []error

func (p problemList) Error() string {
	messages := make([]string, 0, len(p))
	for _, err := range p {
		messages = append(messages, err.Error())
	}
	return strings.Join(messages, "; ")
}

func (p problemList) Unwrap() []error { return p }

func joinProblems(problems []error) error {
	if len(problems) == 0 {
		return nil
	}
	return problemList(problems)
}
