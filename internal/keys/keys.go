// Package keys opens and creates the private keys that sign certificates.
// A key is named by a URI so that the configuration does not depend on where
// the key lives:
//
//   - "file:/abs/path/key.pem" is a PKCS#8 PEM file on disk, either
//     encrypted ("ENCRYPTED PRIVATE KEY", PBES2) or, for development keys
//     only, unencrypted ("PRIVATE KEY");
//   - "pkcs11:token=LABEL;object=KEY-LABEL" (RFC 7512) is a key on a
//     PKCS#11 token, such as an HSM or SoftHSM2.
//
// Errors from this package name the URI, path or algorithm, never key
// material, a PIN or a passphrase.
package keys

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
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// Algorithm is a key type and size that GenerateFile can create.
type Algorithm string

// The algorithms offered for CA and test keys: RSA with a 2048, 3072 or 4096-bit
// modulus, and ECDSA on NIST P-256 or P-384.
const (
	RSA2048   Algorithm = "rsa-2048"
	RSA3072   Algorithm = "rsa-3072"
	RSA4096   Algorithm = "rsa-4096"
	ECDSAP256 Algorithm = "ecdsa-p256"
	ECDSAP384 Algorithm = "ecdsa-p384"
)

// Algorithms returns every supported Algorithm, in the order listed above.
func Algorithms() []Algorithm {
	return []Algorithm{RSA2048, RSA3072, RSA4096, ECDSAP256, ECDSAP384}
}

// pemTypePKCS8 is the PEM block type of an unencrypted PKCS#8 PrivateKeyInfo (RFC 7468 §10).
const pemTypePKCS8 = "PRIVATE KEY"

// Open returns the signer for the key named by uri, with no passphrase and
// no PKCS#11 module: it opens unencrypted "file:" keys only. Use an Opener
// for encrypted files and PKCS#11 tokens.
func Open(uri string) (crypto.Signer, error) {
	opener := &Opener{AllowPlainFiles: true}
	return opener.Open(uri)
}

// filePath returns the local absolute path named by a file: URI. It accepts
// "file:/abs/path" and "file:///abs/path", and rejects a host or a relative path.
func filePath(uri string) (string, error) {
	parsed, err := url.Parse(uri)
	if err != nil {
		return "", fmt.Errorf("invalid key URI %q: %v", uri, err)
	}

	if parsed.Opaque != "" {
		return "", fmt.Errorf("invalid key URI %q: the path must be absolute, as in file:/absolute/path/key.pem", uri)
	}
	if parsed.Host != "" && parsed.Host != "localhost" {
		return "", fmt.Errorf("invalid key URI %q: host %q is not supported; file: URIs name local files only", uri, parsed.Host)
	}
	if parsed.RawQuery != "" || parsed.Fragment != "" {
		return "", fmt.Errorf("invalid key URI %q: a file: URI takes no query or fragment", uri)
	}
	if !filepath.IsAbs(parsed.Path) {
		return "", fmt.Errorf("invalid key URI %q: the path must be absolute, as in file:/absolute/path/key.pem", uri)
	}

	return filepath.Clean(parsed.Path), nil
}

// FileURI returns the file: URI for the key file at path, in the form Open accepts.
func FileURI(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("make key path %q absolute: %w", path, err)
	}

	// OmitHost gives "file:/abs/path" in place of "file:///abs/path".
	uri := url.URL{Scheme: "file", Path: filepath.ToSlash(abs), OmitHost: true}
	return uri.String(), nil
}

// readKeyFile returns the single PEM block of a key file.
func readKeyFile(path string) (*pem.Block, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read key file: %w", err)
	}

	block, rest := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("key file %s contains no PEM block; expected a PKCS#8 %q or %q block", path, pemTypeEncryptedPKCS8, pemTypePKCS8)
	}
	if next, _ := pem.Decode(rest); next != nil {
		return nil, fmt.Errorf("key file %s contains more than one PEM block; keep exactly one key per file", path)
	}
	return block, nil
}

// parsePKCS8Signer parses a DER PrivateKeyInfo. The parse error text from
// crypto/x509 and encoding/asn1 describes the structure (tags, lengths,
// OIDs), never the key bytes.
func parsePKCS8Signer(path string, der []byte) (crypto.Signer, error) {
	key, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("key file %s: invalid PKCS#8 private key: %w", path, err)
	}

	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("key file %s: key type %T cannot sign", path, key)
	}
	return signer, nil
}

// GenerateFile creates a new key of the given algorithm, writes it to path as
// PKCS#8 PEM with mode 0600, and returns the signer and the key's file: URI.
// It never overwrites: an existing file at path is an error, and so is a
// missing parent directory.
func GenerateFile(path string, alg Algorithm) (crypto.Signer, string, error) {
	return generateFile(path, alg, func(der []byte) (*pem.Block, error) {
		return &pem.Block{Type: pemTypePKCS8, Bytes: der}, nil
	})
}

// GenerateEncryptedFile is GenerateFile for an encrypted PKCS#8 file
// ("ENCRYPTED PRIVATE KEY", see EncryptPKCS8), which OpenSSL reads with
// `openssl pkey -in FILE`.
func GenerateEncryptedFile(path string, alg Algorithm, passphrase string) (crypto.Signer, string, error) {
	return generateFile(path, alg, func(der []byte) (*pem.Block, error) {
		encrypted, err := EncryptPKCS8(der, passphrase)
		if err != nil {
			return nil, err
		}
		return &pem.Block{Type: pemTypeEncryptedPKCS8, Bytes: encrypted}, nil
	})
}

func generateFile(path string, alg Algorithm, encode func(der []byte) (*pem.Block, error)) (crypto.Signer, string, error) {
	signer, err := Generate(alg)
	if err != nil {
		return nil, "", err
	}

	uri, err := FileURI(path)
	if err != nil {
		return nil, "", err
	}

	der, err := x509.MarshalPKCS8PrivateKey(signer)
	if err != nil {
		return nil, "", fmt.Errorf("encode %s key as PKCS#8: %w", alg, err)
	}
	block, err := encode(der)
	if err != nil {
		return nil, "", err
	}

	err = writeNewFile(path, pem.EncodeToMemory(block))
	if err != nil {
		return nil, "", err
	}
	return signer, uri, nil
}

// Generate creates a new in-memory key of the given algorithm.
func Generate(alg Algorithm) (crypto.Signer, error) {
	switch alg {
	case RSA2048:
		return rsa.GenerateKey(rand.Reader, 2048)
	case RSA3072:
		return rsa.GenerateKey(rand.Reader, 3072)
	case RSA4096:
		return rsa.GenerateKey(rand.Reader, 4096)
	case ECDSAP256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case ECDSAP384:
		return ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	default:
		return nil, fmt.Errorf("unsupported key algorithm %q: use one of %s", alg, algorithmList())
	}
}

func algorithmList() string {
	names := make([]string, 0, len(Algorithms()))
	for _, alg := range Algorithms() {
		names = append(names, string(alg))
	}
	return strings.Join(names, ", ")
}

// writeNewFile writes data to a file that must not exist yet. O_EXCL makes
// creation atomic, so a concurrent writer or an old key is never replaced.
func writeNewFile(path string, data []byte) error {
	file, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("key file %s already exists; choose a new path or move the old key away", path)
	}
	if err != nil {
		return fmt.Errorf("create key file: %w", err)
	}

	_, err = file.Write(data)
	if err == nil {
		err = file.Sync()
	}
	closeErr := file.Close()
	if err == nil {
		err = closeErr
	}

	// A partly written key file is useless and would block a retry because of O_EXCL.
	if err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("write key file %s: %w", path, err)
	}
	return nil
}
