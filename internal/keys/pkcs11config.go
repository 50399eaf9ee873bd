package keys

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// DefaultPKCS11Sessions is the session pool size per token when
// PKCS11Config.MaxSessions is zero. One session of it stays logged in for
// the life of the pool, so DefaultPKCS11Sessions-1 signatures can run at
// once. The token's own limit (ulMaxRwSessionCount) lowers it further.
const DefaultPKCS11Sessions = 16

// PKCS11Config locates a PKCS#11 module and the PINs of its tokens.
type PKCS11Config struct {
	// ModulePath is the module's shared library, such as
	// /usr/lib/softhsm/libsofthsm2.so.
	ModulePath string

	// PIN is the user PIN of every token that TokenPINs does not list.
	PIN string

	// TokenPINs maps a token label to its user PIN, for a ceremony that uses
	// a root token and an issuing token with different PINs.
	TokenPINs map[string]string

	// MaxSessions is the session pool size per token; zero means
	// DefaultPKCS11Sessions. crypto11 requires at least 2.
	MaxSessions int
}

func (c PKCS11Config) check() error {
	if c.ModulePath == "" {
		return errors.New("missing PKCS#11 module path; set --pkcs11-module")
	}
	if c.MaxSessions == 1 || c.MaxSessions < 0 {
		return fmt.Errorf("invalid PKCS#11 session pool size %d; use 2 or more, or 0 for the default %d", c.MaxSessions, DefaultPKCS11Sessions)
	}
	return nil
}

func (c PKCS11Config) maxSessions() int {
	if c.MaxSessions == 0 {
		return DefaultPKCS11Sessions
	}
	return c.MaxSessions
}

func (c PKCS11Config) pinFor(token string) (string, error) {
	if pin, ok := c.TokenPINs[token]; ok {
		return pin, nil
	}
	if c.PIN == "" {
		return "", fmt.Errorf("missing PIN for PKCS#11 token %q; set --pkcs11-pin-file or DOCSIGN_PKCS11_PIN", token)
	}
	return c.PIN, nil
}

// ReadSecretFile returns the first line of a file that holds a PIN or a
// passphrase, without its line ending. The error names the path, never the
// content. An empty first line is an error.
func ReadSecretFile(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read secret file: %w", err)
	}
	line, _, _ := strings.Cut(string(data), "\n")
	line = strings.TrimSuffix(line, "\r")
	if line == "" {
		return "", fmt.Errorf("secret file %s is empty; write the secret on its first line", path)
	}
	return line, nil
}
