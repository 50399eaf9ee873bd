package keys

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// PKCS11URI names a private key on a PKCS#11 token with the RFC 7512 path
// attributes docsign-ca uses: token (the token label), object (the key's
// CKA_LABEL) and optionally id (the key's CKA_ID).
//
// The module path and the PIN never come from the URI: both are server
// configuration (--pkcs11-module, --pkcs11-pin-file or DOCSIGN_PKCS11_PIN),
// so a key URI stored in the database contains no secret.
type PKCS11URI struct {
	Token  string
	Object string
	ID     []byte
}

// ParsePKCS11URI parses a "pkcs11:" URI such as
// "pkcs11:token=docsign-issuing;object=issuing-rsa-2026;type=private".
//
// Per RFC 7512 §2.3 the path attributes are separated by ";" and their
// values are percent-encoded. token and object are required; id and
// type=private are optional. Any other attribute, and every query
// attribute (module-path, pin-source, pin-value, ...), is rejected, because
// a URI that selects something docsign-ca would ignore is a configuration
// error.
func ParsePKCS11URI(uri string) (PKCS11URI, error) {
	scheme, rest, found := strings.Cut(uri, ":")
	if !found || !strings.EqualFold(scheme, "pkcs11") {
		return PKCS11URI{}, fmt.Errorf("invalid PKCS#11 URI %q: it must start with pkcs11:", uri)
	}
	if strings.ContainsAny(rest, "?#") {
		return PKCS11URI{}, fmt.Errorf("invalid PKCS#11 URI %q: query and fragment attributes are not supported; "+
			"set the module with --pkcs11-module and the PIN with --pkcs11-pin-file or DOCSIGN_PKCS11_PIN", uri)
	}

	var parsed PKCS11URI
	seen := map[string]bool{}
	for _, attribute := range strings.Split(rest, ";") {
		if attribute == "" {
			continue
		}
		name, rawValue, _ := strings.Cut(attribute, "=")
		if seen[name] {
			return PKCS11URI{}, fmt.Errorf("invalid PKCS#11 URI %q: attribute %q appears twice", uri, name)
		}
		seen[name] = true

		value, err := url.PathUnescape(rawValue)
		if err != nil {
			return PKCS11URI{}, fmt.Errorf("invalid PKCS#11 URI %q: attribute %q: %v", uri, name, err)
		}
		if err := parsed.set(name, value); err != nil {
			return PKCS11URI{}, fmt.Errorf("invalid PKCS#11 URI %q: %w", uri, err)
		}
	}

	if parsed.Token == "" || parsed.Object == "" {
		return PKCS11URI{}, fmt.Errorf("invalid PKCS#11 URI %q: token and object are required, as in pkcs11:token=LABEL;object=KEY-LABEL", uri)
	}
	return parsed, nil
}

func (u *PKCS11URI) set(name, value string) error {
	switch name {
	case "token":
		u.Token = value
	case "object":
		u.Object = value
	case "id":
		if value == "" {
			return errors.New("attribute id is empty")
		}
		u.ID = []byte(value)
	case "type":
		if value != "private" {
			return fmt.Errorf("type=%s does not name a private key; use type=private or leave type out", value)
		}
	default:
		return fmt.Errorf("attribute %q is not supported; docsign-ca selects keys by token, object and id", name)
	}
	return nil
}

// String formats the URI with type=private, percent-encoding every byte
// outside RFC 7512's unreserved set (ALPHA, DIGIT, "-", ".", "_", "~").
func (u PKCS11URI) String() string {
	var b strings.Builder
	b.WriteString("pkcs11:token=")
	b.WriteString(escapePKCS11Value([]byte(u.Token)))
	b.WriteString(";object=")
	b.WriteString(escapePKCS11Value([]byte(u.Object)))
	if len(u.ID) > 0 {
		b.WriteString(";id=")
		b.WriteString(escapePKCS11Value(u.ID))
	}
	b.WriteString(";type=private")
	return b.String()
}

func escapePKCS11Value(value []byte) string {
	var b strings.Builder
	for _, c := range value {
		if isUnreserved(c) {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}
