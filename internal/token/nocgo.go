//go:build !cgo

package token

import (
	"crypto/x509"
	"errors"
)

// errNoCgo is returned by every Token method in a build without cgo: the
// PKCS#11 modules are C libraries.
var errNoCgo = errors.New("this docsign build has no PKCS#11 support because it was built with CGO_ENABLED=0; rebuild with cgo, or use --key-file for development")

// Token is unavailable without cgo.
type Token struct {
	Module string
	Label  string
	Serial string
}

// Open returns an error in a build without cgo.
func Open(module, label, pin string) (*Token, error) { return nil, errNoCgo }

// Close does nothing.
func (t *Token) Close() error { return nil }

// GenerateKey returns an error in a build without cgo.
func (t *Token) GenerateKey(alg Algorithm, label string) (*Key, error) { return nil, errNoCgo }

// FindKey returns an error in a build without cgo.
func (t *Token) FindKey(id []byte, label string) (*Key, error) { return nil, errNoCgo }

// FindKeyByLabel returns an error in a build without cgo.
func (t *Token) FindKeyByLabel(label string) (*Key, error) { return nil, errNoCgo }

// WriteCertificates returns an error in a build without cgo.
func (t *Token) WriteCertificates(key *Key, leaf *x509.Certificate, chain []*x509.Certificate) error {
	return errNoCgo
}
