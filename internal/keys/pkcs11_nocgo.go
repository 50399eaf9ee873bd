//go:build !cgo

package keys

import (
	"crypto"
	"errors"
)

// errNoPKCS11 is returned by every PKCS11 method in a build without cgo:
// the PKCS#11 binding (github.com/miekg/pkcs11) loads the module with dlopen
// through cgo.
var errNoPKCS11 = errors.New("this docsign-ca binary was built without cgo and cannot load a PKCS#11 module; rebuild it with CGO_ENABLED=1")

// PKCS11 is unavailable in a build without cgo; see errNoPKCS11.
type PKCS11 struct{}

// NewPKCS11 returns an error in a build without cgo.
func NewPKCS11(config PKCS11Config) (*PKCS11, error) { return nil, errNoPKCS11 }

// Open returns an error in a build without cgo.
func (p *PKCS11) Open(uri PKCS11URI) (crypto.Signer, error) { return nil, errNoPKCS11 }

// HasKey returns an error in a build without cgo.
func (p *PKCS11) HasKey(uri PKCS11URI) (bool, error) { return false, errNoPKCS11 }

// Generate returns an error in a build without cgo.
func (p *PKCS11) Generate(uri PKCS11URI, alg Algorithm) (crypto.Signer, PKCS11URI, error) {
	return nil, PKCS11URI{}, errNoPKCS11
}

// Close does nothing in a build without cgo.
func (p *PKCS11) Close() error { return nil }
