//go:build cgo

package token

import (
	"bytes"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/ThalesGroup/crypto11"
	"github.com/miekg/pkcs11"

	"github.com/docsign-ca/docsign-ca/internal/keys"
)

// Token is a logged-in connection to one PKCS#11 token.
type Token struct {
	ctx    *crypto11.Context
	Module string
	Label  string
	// Serial is the token's serial number (CK_TOKEN_INFO serialNumber).
	Serial string
}

// Open logs in to the token labelled label with the user PIN. The PIN is
// passed to the module only; errors name the PKCS#11 return value (such
// as CKR_PIN_INCORRECT), never the PIN.
func Open(module, label, pin string) (*Token, error) {
	if label == "" {
		return nil, errors.New("missing token label; list the tokens with `pkcs11-tool --module MODULE --list-token-slots`")
	}
	serial, err := tokenSerial(module, label)
	if err != nil {
		return nil, err
	}
	ctx, err := crypto11.Configure(&crypto11.Config{
		Path:            module,
		TokenLabel:      label,
		Pin:             pin,
		PoolWaitTimeout: 30 * time.Second,
	})
	if err != nil {
		return nil, fmt.Errorf("log in to token %q with module %s: %w", label, module, err)
	}
	return &Token{ctx: ctx, Module: module, Label: label, Serial: serial}, nil
}

// tokenSerial reads the serial number of the token labelled label, which
// crypto11 does not expose. It runs before crypto11 initializes the module
// and finalizes it again, unless the module was already initialized in
// this process.
func tokenSerial(module, label string) (string, error) {
	p := pkcs11.New(module)
	if p == nil {
		return "", fmt.Errorf("load PKCS#11 module %s: the file is missing or not a PKCS#11 library", module)
	}
	defer p.Destroy()
	err := p.Initialize()
	alreadyInitialized := errors.Is(err, pkcs11.Error(pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED))
	if err != nil && !alreadyInitialized {
		return "", fmt.Errorf("initialize PKCS#11 module %s: %w", module, err)
	}
	if !alreadyInitialized {
		defer p.Finalize()
	}

	slots, err := p.GetSlotList(true)
	if err != nil {
		return "", fmt.Errorf("list the tokens of %s: %w", module, err)
	}
	var labels []string
	for _, slot := range slots {
		info, err := p.GetTokenInfo(slot)
		if err != nil {
			continue
		}
		if info.Label == label {
			return info.SerialNumber, nil
		}
		labels = append(labels, fmt.Sprintf("%q", info.Label))
	}
	return "", fmt.Errorf("no token labelled %q in module %s; tokens present: %v", label, module, labels)
}

// Close logs out and ends the sessions.
func (t *Token) Close() error { return t.ctx.Close() }

// GenerateKey creates a key pair of the algorithm on the token, labelled
// label, with a new random 16-byte CKA_ID. It never replaces a key: when
// a private key with the label exists it returns an error.
//
// The private key is a token object that is private, sensitive and
// non-extractable (PKCS#11 v2.40 §4.9), and can sign but not decrypt,
// unwrap or derive: a document signing key only signs.
func (t *Token) GenerateKey(alg Algorithm, label string) (*Key, error) {
	if err := alg.Check(); err != nil {
		return nil, err
	}
	existing, err := t.ctx.FindPrivateKeys(nil, []byte(label))
	if err != nil {
		return nil, fmt.Errorf("search token %q for key %q: %w", t.Label, label, err)
	}
	if len(existing) > 0 {
		return nil, fmt.Errorf("a key labelled %q already exists on token %q; choose another --key-label, since a key is never overwritten", label, t.Label)
	}

	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return nil, fmt.Errorf("generate CKA_ID: %w", err)
	}
	public, private, err := keys.SigningKeyTemplates(id, label)
	if err != nil {
		return nil, err
	}

	var signer crypto11.Signer
	switch {
	case alg.KeyType == "rsa":
		signer, err = t.ctx.GenerateRSAKeyPairWithAttributes(public, private, alg.KeySize)
	case alg.KeySize == 256:
		signer, err = t.ctx.GenerateECDSAKeyPairWithAttributes(public, private, elliptic.P256())
	default:
		signer, err = t.ctx.GenerateECDSAKeyPairWithAttributes(public, private, elliptic.P384())
	}
	if err != nil {
		return nil, fmt.Errorf("generate %s key %q on token %q: %w", alg, label, t.Label, err)
	}
	return &Key{Signer: signer, ID: id, Label: label}, nil
}

// FindKey returns the key pair with the CKA_ID id.
func (t *Token) FindKey(id []byte, label string) (*Key, error) {
	signer, err := t.ctx.FindKeyPair(id, nil)
	if err != nil {
		return nil, fmt.Errorf("find key %x on token %q: %w", id, t.Label, err)
	}
	if signer == nil {
		return nil, fmt.Errorf("no key pair with CKA_ID %x on token %q; the token is not the one the key was generated on", id, t.Label)
	}
	return &Key{Signer: signer, ID: id, Label: label}, nil
}

// FindKeyByLabel returns the key pair labelled label.
func (t *Token) FindKeyByLabel(label string) (*Key, error) {
	signers, err := t.ctx.FindKeyPairs(nil, []byte(label))
	if err != nil {
		return nil, fmt.Errorf("find key %q on token %q: %w", label, t.Label, err)
	}
	switch len(signers) {
	case 0:
		return nil, fmt.Errorf("no key pair labelled %q on token %q", label, t.Label)
	case 1:
	default:
		return nil, fmt.Errorf("%d key pairs are labelled %q on token %q; remove the extra ones", len(signers), label, t.Label)
	}
	id, err := t.ctx.GetAttribute(signers[0], crypto11.CkaId)
	if err != nil || id == nil {
		return nil, fmt.Errorf("read CKA_ID of key %q on token %q: %v", label, t.Label, err)
	}
	return &Key{Signer: signers[0], ID: id.Value, Label: label}, nil
}

// WriteCertificates stores the certificate beside its key (same CKA_ID and
// label) and each CA certificate of chain under its own CKA_ID and its
// common name. A certificate already on the token is left as it is, so a
// second run after an interruption completes the first.
func (t *Token) WriteCertificates(key *Key, leaf *x509.Certificate, chain []*x509.Certificate) error {
	if err := t.importOnce(key.ID, key.Label, leaf); err != nil {
		return err
	}
	for _, ca := range chain {
		if err := t.importOnce(caCertificateID(ca), ca.Subject.CommonName, ca); err != nil {
			return err
		}
	}
	return nil
}

func (t *Token) importOnce(id []byte, label string, cert *x509.Certificate) error {
	existing, err := t.ctx.FindCertificate(id, nil, nil)
	if err != nil {
		return fmt.Errorf("search token %q for certificate %x: %w", t.Label, id, err)
	}
	if existing != nil {
		if bytes.Equal(existing.Raw, cert.Raw) {
			return nil
		}
		return fmt.Errorf("token %q already contains another certificate with CKA_ID %x (subject %s); remove it or use a new token",
			t.Label, id, existing.Subject)
	}
	if err := t.ctx.ImportCertificateWithLabel(id, []byte(label), cert); err != nil {
		return fmt.Errorf("write certificate %s to token %q: %w", cert.Subject, t.Label, err)
	}
	return nil
}
