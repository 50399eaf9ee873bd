package keys

import (
	"crypto"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// Opener opens keys named by URIs with the secrets and the PKCS#11 module
// that the configuration supplies. Its zero value opens encrypted file keys
// only when Passphrase is set, and no PKCS#11 keys.
type Opener struct {
	// AllowPlainFiles accepts unencrypted PKCS#8 file keys. The server sets
	// it with --dev, and for the CAs that the database marks as development
	// CAs (the hierarchy that the first start creates).
	AllowPlainFiles bool

	// Passphrase decrypts "ENCRYPTED PRIVATE KEY" files.
	Passphrase string

	// PKCS11 opens "pkcs11:" URIs; nil when no module is configured.
	PKCS11 *PKCS11
}

// WithPlainFiles returns a copy of o that also accepts unencrypted file
// keys. The copy shares o's PKCS#11 sessions.
func (o *Opener) WithPlainFiles() *Opener {
	c := *o
	c.AllowPlainFiles = true
	return &c
}

// Open returns the signer for the key named by uri.
func (o *Opener) Open(uri string) (crypto.Signer, error) {
	scheme, _, found := strings.Cut(uri, ":")
	if !found || scheme == "" {
		return nil, fmt.Errorf("invalid key URI %q: missing scheme; use file:/absolute/path/key.pem or pkcs11:token=LABEL;object=KEY-LABEL", uri)
	}

	switch strings.ToLower(scheme) {
	case "file":
		path, err := filePath(uri)
		if err != nil {
			return nil, err
		}
		return o.openFile(path)

	case "pkcs11":
		parsed, err := ParsePKCS11URI(uri)
		if err != nil {
			return nil, err
		}
		if o.PKCS11 == nil {
			return nil, errNoModule(uri)
		}
		return o.PKCS11.Open(parsed)

	default:
		return nil, fmt.Errorf("unsupported key URI scheme %q in %q: use file: or pkcs11:", scheme, uri)
	}
}

func (o *Opener) openFile(path string) (crypto.Signer, error) {
	block, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}

	switch block.Type {
	case pemTypePKCS8:
		if !o.AllowPlainFiles {
			return nil, fmt.Errorf("key file %s is not encrypted; an unencrypted CA key is accepted only for a development CA or with --dev, "+
				"so encrypt it with `openssl pkcs8 -topk8 -v2 aes-256-cbc -v2prf hmacWithSHA256 -in %s -out NEW-FILE`", path, path)
		}
		return parsePKCS8Signer(path, block.Bytes)

	case pemTypeEncryptedPKCS8:
		return o.openEncrypted(path, block.Bytes)

	default:
		return nil, fmt.Errorf("key file %s has PEM type %q, expected %q or %q; convert it with `openssl pkcs8 -topk8`",
			path, block.Type, pemTypeEncryptedPKCS8, pemTypePKCS8)
	}
}

func (o *Opener) openEncrypted(path string, der []byte) (crypto.Signer, error) {
	if o.Passphrase == "" {
		return nil, fmt.Errorf("key file %s is encrypted (PEM type %q) and no passphrase is configured; set --key-passphrase-file or DOCSIGN_KEY_PASSPHRASE",
			path, pemTypeEncryptedPKCS8)
	}

	plain, err := DecryptPKCS8(der, o.Passphrase)
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}

	// A wrong passphrase passes the padding check about once in 256 tries;
	// the PKCS#8 parse then fails, and that failure means the same thing.
	signer, err := parsePKCS8Signer(path, plain)
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, errWrongPassphrase)
	}
	return signer, nil
}

// Close ends the PKCS#11 sessions, if any.
func (o *Opener) Close() error {
	if o.PKCS11 == nil {
		return nil
	}
	return o.PKCS11.Close()
}

// errNoPassphrase is returned by GenerateKey for an encrypted file key
// when no passphrase is configured.
var errNoPassphrase = errors.New("no passphrase is configured for the new key file; set --key-passphrase-file or DOCSIGN_KEY_PASSPHRASE")

// GenerateKey creates a new key of the given algorithm at uri and returns
// the signer and the URI that opens it, which for PKCS#11 adds the new
// key's id. A "file:" key is encrypted with o.Passphrase, or written
// unencrypted when o has no passphrase and AllowPlainFiles is set. It never
// overwrites an existing file or token object.
func (o *Opener) GenerateKey(uri string, alg Algorithm) (crypto.Signer, string, error) {
	scheme, _, _ := strings.Cut(uri, ":")

	switch strings.ToLower(scheme) {
	case "file":
		path, err := filePath(uri)
		if err != nil {
			return nil, "", err
		}
		if o.Passphrase != "" {
			return GenerateEncryptedFile(path, alg, o.Passphrase)
		}
		if o.AllowPlainFiles {
			return GenerateFile(path, alg)
		}
		return nil, "", errNoPassphrase

	case "pkcs11":
		parsed, err := ParsePKCS11URI(uri)
		if err != nil {
			return nil, "", err
		}
		if o.PKCS11 == nil {
			return nil, "", errNoModule(uri)
		}
		signer, created, err := o.PKCS11.Generate(parsed, alg)
		if err != nil {
			return nil, "", err
		}
		return signer, created.String(), nil

	default:
		return nil, "", fmt.Errorf("unsupported key URI scheme %q in %q: use file: or pkcs11:", scheme, uri)
	}
}

// KeyExists reports whether a key already exists at uri: a file (of any
// content) for "file:", a private key with the URI's label for "pkcs11:".
func (o *Opener) KeyExists(uri string) (bool, error) {
	scheme, _, _ := strings.Cut(uri, ":")

	switch strings.ToLower(scheme) {
	case "file":
		path, err := filePath(uri)
		if err != nil {
			return false, err
		}
		return fileExists(path)

	case "pkcs11":
		parsed, err := ParsePKCS11URI(uri)
		if err != nil {
			return false, err
		}
		if o.PKCS11 == nil {
			return false, errNoModule(uri)
		}
		return o.PKCS11.HasKey(PKCS11URI{Token: parsed.Token, Object: parsed.Object, ID: parsed.ID})

	default:
		return false, fmt.Errorf("unsupported key URI scheme %q in %q: use file: or pkcs11:", scheme, uri)
	}
}

func errNoModule(uri string) error {
	return fmt.Errorf("key URI %q uses scheme \"pkcs11\", but no PKCS#11 module is configured; set --pkcs11-module", uri)
}

func fileExists(path string) (bool, error) {
	_, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("check key file: %w", err)
	}
	return true, nil
}
