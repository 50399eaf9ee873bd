//go:build cgo

package keys

import (
	"crypto"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/ThalesGroup/crypto11"
)

// PKCS11 opens and creates keys on the tokens of one PKCS#11 module. It
// keeps one crypto11 context per token, and each context keeps a pool of
// sessions. A PKCS#11 session must not be used by two threads at once
// (crypto11 v1.6.2 package documentation), so each signature takes a
// session from the pool, and concurrent signers do not queue on one
// session. PKCS11 is safe for concurrent use.
type PKCS11 struct {
	config PKCS11Config

	mu     sync.Mutex
	tokens map[string]*crypto11.Context
	closed bool
}

// NewPKCS11 checks the configuration and returns a PKCS11 that logs in to
// each token the first time a key on it is used.
func NewPKCS11(config PKCS11Config) (*PKCS11, error) {
	if err := config.check(); err != nil {
		return nil, err
	}
	if _, err := os.Stat(config.ModulePath); err != nil {
		return nil, fmt.Errorf("PKCS#11 module: %w; set --pkcs11-module to the module's path", err)
	}
	return &PKCS11{config: config, tokens: map[string]*crypto11.Context{}}, nil
}

// token returns the logged-in context of the token labelled label.
func (p *PKCS11) token(label string) (*crypto11.Context, error) {
	p.mu.Lock()
	defer p.mu.Unlock()

	if p.closed {
		return nil, errors.New("PKCS#11 access is closed")
	}
	if ctx, ok := p.tokens[label]; ok {
		return ctx, nil
	}

	pin, err := p.config.pinFor(label)
	if err != nil {
		return nil, err
	}
	ctx, err := crypto11.Configure(&crypto11.Config{
		Path:            p.config.ModulePath,
		TokenLabel:      label,
		Pin:             pin,
		MaxSessions:     p.config.maxSessions(),
		PoolWaitTimeout: 30 * time.Second,
	})
	if err != nil {
		// crypto11's errors name the PKCS#11 return value (such as
		// CKR_PIN_INCORRECT), never the PIN.
		return nil, fmt.Errorf("log in to PKCS#11 token %q with module %s: %w", label, p.config.ModulePath, err)
	}
	p.tokens[label] = ctx
	return ctx, nil
}

// Open returns the signer for the private key named by uri. Exactly one
// key pair must match, and the private key must have CKA_SENSITIVE true
// and CKA_EXTRACTABLE false, so a CA key that the token would reveal is
// rejected.
func (p *PKCS11) Open(uri PKCS11URI) (crypto.Signer, error) {
	ctx, err := p.token(uri.Token)
	if err != nil {
		return nil, err
	}

	pairs, err := ctx.FindKeyPairs(uri.ID, []byte(uri.Object))
	if err != nil {
		return nil, fmt.Errorf("find key %s: %w", uri, err)
	}
	switch len(pairs) {
	case 0:
		return nil, fmt.Errorf("key %s not found: no private key with that label (and id) and a matching public key on the token; "+
			"list the objects with `pkcs11-tool --list-objects --login`", uri)
	case 1:
	default:
		return nil, fmt.Errorf("key %s is ambiguous: %d key pairs match; add the key's id= attribute to the URI", uri, len(pairs))
	}

	if err := checkProtected(ctx, pairs[0], uri); err != nil {
		return nil, err
	}
	return pairs[0], nil
}

func checkProtected(ctx *crypto11.Context, key crypto11.Signer, uri PKCS11URI) error {
	attributes, err := ctx.GetAttributes(key, []crypto11.AttributeType{crypto11.CkaSensitive, crypto11.CkaExtractable})
	if err != nil {
		return fmt.Errorf("read attributes of key %s: %w", uri, err)
	}
	if !attributeTrue(attributes[crypto11.CkaSensitive]) || attributeTrue(attributes[crypto11.CkaExtractable]) {
		return fmt.Errorf("key %s is extractable or not sensitive; a CA key must have CKA_SENSITIVE=true and CKA_EXTRACTABLE=false, "+
			"so generate a new key with `docsign-ca ceremony`", uri)
	}
	return nil
}

func attributeTrue(a *crypto11.Attribute) bool {
	return a != nil && len(a.Value) == 1 && a.Value[0] != 0
}

// HasKey reports whether any private key on the token has the URI's label
// (and id, when the URI has one).
func (p *PKCS11) HasKey(uri PKCS11URI) (bool, error) {
	ctx, err := p.token(uri.Token)
	if err != nil {
		return false, err
	}
	found, err := ctx.FindPrivateKeys(uri.ID, []byte(uri.Object))
	if err != nil {
		return false, fmt.Errorf("search token %q for key %q: %w", uri.Token, uri.Object, err)
	}
	return len(found) > 0, nil
}

// Generate creates a key pair of the given algorithm on the token, labelled
// with the URI's object and a new random 16-byte CKA_ID, and returns the
// signer and the URI with that id. It never replaces a key: when a private
// key with the same label exists it returns an error and creates nothing.
//
// The private key is a private, sensitive, non-extractable token object
// that can sign but not decrypt, unwrap or derive. The public key can
// verify but not encrypt or wrap, because a CA key is for signatures only.
func (p *PKCS11) Generate(uri PKCS11URI, alg Algorithm) (crypto.Signer, PKCS11URI, error) {
	exists, err := p.HasKey(PKCS11URI{Token: uri.Token, Object: uri.Object})
	if err != nil {
		return nil, PKCS11URI{}, err
	}
	if exists {
		return nil, PKCS11URI{}, fmt.Errorf("a key labelled %q already exists on token %q; choose a new label, since a key is never overwritten",
			uri.Object, uri.Token)
	}

	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return nil, PKCS11URI{}, fmt.Errorf("generate CKA_ID: %w", err)
	}
	public, private, err := SigningKeyTemplates(id, uri.Object)
	if err != nil {
		return nil, PKCS11URI{}, err
	}

	ctx, err := p.token(uri.Token)
	if err != nil {
		return nil, PKCS11URI{}, err
	}
	signer, err := generateOnToken(ctx, alg, public, private)
	if err != nil {
		return nil, PKCS11URI{}, fmt.Errorf("generate %s key %q on token %q: %w", alg, uri.Object, uri.Token, err)
	}
	return signer, PKCS11URI{Token: uri.Token, Object: uri.Object, ID: id}, nil
}

// SigningKeyTemplates returns the attribute templates of a key pair kept on
// a token for signatures only, with the CKA_ID id and the CKA_LABEL label.
// The customer's client app and the operator's token provisioning use them
// too.
func SigningKeyTemplates(id []byte, label string) (public, private crypto11.AttributeSet, err error) {
	public, err = crypto11.NewAttributeSetWithIDAndLabel(id, []byte(label))
	if err != nil {
		return nil, nil, err
	}
	private, err = crypto11.NewAttributeSetWithIDAndLabel(id, []byte(label))
	if err != nil {
		return nil, nil, err
	}

	settings := []struct {
		set   crypto11.AttributeSet
		typ   crypto11.AttributeType
		value bool
	}{
		{public, crypto11.CkaToken, true},
		{public, crypto11.CkaVerify, true},
		{public, crypto11.CkaEncrypt, false},
		{public, crypto11.CkaWrap, false},
		{private, crypto11.CkaToken, true},
		{private, crypto11.CkaPrivate, true},
		{private, crypto11.CkaSensitive, true},
		{private, crypto11.CkaExtractable, false},
		{private, crypto11.CkaSign, true},
		// Tokens choose their own defaults for the usages left out of a
		// template (SoftHSM2 2.6 allows decrypt and unwrap), so each is set.
		{private, crypto11.CkaDecrypt, false},
		{private, crypto11.CkaUnwrap, false},
		{private, crypto11.CkaDerive, false},
	}
	for _, s := range settings {
		if err := s.set.Set(s.typ, s.value); err != nil {
			return nil, nil, err
		}
	}
	return public, private, nil
}

func generateOnToken(ctx *crypto11.Context, alg Algorithm, public, private crypto11.AttributeSet) (crypto.Signer, error) {
	switch alg {
	case RSA2048, RSA3072, RSA4096:
		return ctx.GenerateRSAKeyPairWithAttributes(public, private, rsaBits[alg])
	case ECDSAP256:
		return ctx.GenerateECDSAKeyPairWithAttributes(public, private, elliptic.P256())
	case ECDSAP384:
		return ctx.GenerateECDSAKeyPairWithAttributes(public, private, elliptic.P384())
	}
	return nil, fmt.Errorf("unsupported key algorithm %q: use one of %s", alg, algorithmList())
}

var rsaBits = map[Algorithm]int{RSA2048: 2048, RSA3072: 3072, RSA4096: 4096}

// Close logs out of every token and ends their sessions. Signers from this
// PKCS11 stop working.
func (p *PKCS11) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()

	p.closed = true
	var errs []error
	for label, ctx := range p.tokens {
		if err := ctx.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close PKCS#11 token %q: %w", label, err))
		}
	}
	p.tokens = nil
	return errors.Join(errs...)
}
