package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/docsign-ca/docsign-ca/internal/token"
)

// keyHolder keeps the private key: a PKCS#11 token, or a key file for
// development.
type keyHolder interface {
	generate(alg token.Algorithm) (crypto.Signer, error)
	// existing returns the key an earlier run generated.
	existing() (crypto.Signer, error)
	// store saves the certificate with the key and returns where it went.
	store(leaf *x509.Certificate, chain []*x509.Certificate) (string, error)
	describe() string
	Close() error
}

func openHolder(cfg pickupConfig, orderID int64) (keyHolder, error) {
	if cfg.keyFile != "" {
		progressf("WARNING: --key-file keeps the private key in a software file (%s); use it for development only, "+
			"since a document signing key belongs on a token or HSM", cfg.keyFile)
		return &fileHolder{path: cfg.keyFile}, nil
	}

	label := cfg.keyLabel
	if label == "" {
		label = fmt.Sprintf("docsign-order-%d", orderID)
	}
	pin, err := token.ReadPIN(cfg.pinFile, envPIN, fmt.Sprintf("PIN of token %q: ", cfg.tokenLabel))
	if err != nil {
		return nil, err
	}
	tok, err := token.Open(cfg.module, cfg.tokenLabel, pin)
	if err != nil {
		return nil, err
	}
	progressf("logged in to token %q (serial %s)", tok.Label, tok.Serial)
	return &tokenHolder{tok: tok, label: label}, nil
}

type tokenHolder struct {
	tok   *token.Token
	label string
	key   *token.Key
}

func (h *tokenHolder) describe() string {
	return fmt.Sprintf("%q on token %q", h.label, h.tok.Label)
}

func (h *tokenHolder) generate(alg token.Algorithm) (crypto.Signer, error) {
	key, err := h.tok.GenerateKey(alg, h.label)
	if err != nil {
		return nil, err
	}
	h.key = key
	return key.Signer, nil
}

func (h *tokenHolder) existing() (crypto.Signer, error) {
	key, err := h.tok.FindKeyByLabel(h.label)
	if err != nil {
		return nil, fmt.Errorf("%w; give the --key-label of the first run", err)
	}
	h.key = key
	return key.Signer, nil
}

func (h *tokenHolder) store(leaf *x509.Certificate, chain []*x509.Certificate) (string, error) {
	if err := h.tok.WriteCertificates(h.key, leaf, chain); err != nil {
		return "", err
	}
	return fmt.Sprintf("to token %q beside key %q (CKA_ID %x), with %d CA certificates", h.tok.Label, h.label, h.key.ID, len(chain)), nil
}

func (h *tokenHolder) Close() error { return h.tok.Close() }

// fileHolder keeps a software key in an unencrypted PKCS #8 file (mode
// 0600), for development only.
type fileHolder struct {
	path string
}

func (h *fileHolder) describe() string { return "in file " + h.path }

func (h *fileHolder) generate(alg token.Algorithm) (crypto.Signer, error) {
	var signer crypto.Signer
	var err error
	switch {
	case alg.KeyType == "rsa":
		signer, err = rsa.GenerateKey(rand.Reader, alg.KeySize)
	case alg.KeySize == 256:
		signer, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		signer, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	}
	if err != nil {
		return nil, err
	}

	der, err := x509.MarshalPKCS8PrivateKey(signer)
	if err != nil {
		return nil, err
	}
	// O_EXCL: an existing key file is never overwritten.
	f, err := os.OpenFile(h.path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("key file %s exists; choose another --key-file, since a key is never overwritten", h.path)
	}
	if err != nil {
		return nil, fmt.Errorf("create key file: %w", err)
	}
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		f.Close()
		return nil, fmt.Errorf("write key file %s: %w", h.path, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("write key file %s: %w", h.path, err)
	}
	return signer, nil
}

func (h *fileHolder) existing() (crypto.Signer, error) {
	data, err := os.ReadFile(h.path)
	if err != nil {
		return nil, fmt.Errorf("read the key of the first run: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("key file %s contains no PKCS #8 PRIVATE KEY block", h.path)
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse key file %s: %w", h.path, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("key file %s contains a key that cannot sign", h.path)
	}
	return signer, nil
}

// store writes nothing more: finishPickup writes the certificate file.
func (h *fileHolder) store(*x509.Certificate, []*x509.Certificate) (string, error) {
	return "beside key file " + h.path, nil
}

func (h *fileHolder) Close() error { return nil }

// certFileBeside returns the key file's name with the extension .crt.
func certFileBeside(keyFile string) string {
	return strings.TrimSuffix(keyFile, filepath.Ext(keyFile)) + ".crt"
}

// writeCertFile writes the certificate and its CA certificates as PEM.
func writeCertFile(path string, leaf *x509.Certificate, chain []*x509.Certificate) error {
	var out []byte
	for _, cert := range append([]*x509.Certificate{leaf}, chain...) {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})...)
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		return fmt.Errorf("write certificate file: %w", err)
	}
	return nil
}
