package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Password length limits. The minimum of 12 characters is this project's
// choice for operators and approvers. The maximum bounds the input that one
// sign-in attempt hashes.
const (
	MinPasswordLength = 12
	MaxPasswordLength = 256
)

// argon2id parameters: RFC 9106 §4's second recommended option, t=3
// passes over m=64 MiB with p=4 lanes. The encoded hash carries them, so a
// later change keeps old hashes verifiable.
const (
	argonTime    = 3
	argonMemory  = 64 * 1024 // KiB
	argonThreads = 4
	argonKeyLen  = 32
	argonSaltLen = 16
)

// CheckPassword returns an error naming the rule a new password breaks.
func CheckPassword(password string) error {
	n := utf8.RuneCountInString(password)
	switch {
	case !utf8.ValidString(password):
		return errors.New("the password is not valid UTF-8")
	case n < MinPasswordLength:
		return fmt.Errorf("the password has %d characters; use at least %d", n, MinPasswordLength)
	case len(password) > MaxPasswordLength:
		return fmt.Errorf("the password is longer than %d bytes; use a shorter one", MaxPasswordLength)
	}
	return nil
}

// HashPassword returns the argon2id hash of password in the PHC string
// format: $argon2id$v=19$m=65536,t=3,p=4$<salt>$<hash>, base64 without
// padding.
func HashPassword(password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("read random salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// unknownUserHash is the hash that a sign-in with an unknown username is
// verified against, so that it costs as much as one with a known username. It has
// HashPassword's parameters and a key that no password yields in practice
// (all zero bytes). It is a constant rather than a hash made at start,
// which would hold argon2id's 64 MiB in the server's memory from the start.
var unknownUserHash = fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
	base64.RawStdEncoding.EncodeToString(make([]byte, argonSaltLen)), base64.RawStdEncoding.EncodeToString(make([]byte, argonKeyLen)))

// VerifyPassword reports whether password matches an encoded hash from
// HashPassword. A malformed hash never matches.
func VerifyPassword(encoded, password string) bool {
	params, salt, want, ok := parseArgonHash(encoded)
	if !ok || len(password) > MaxPasswordLength {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, params.time, params.memory, params.threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

type argonParams struct {
	time    uint32
	memory  uint32
	threads uint8
}

// parseArgonHash splits a PHC argon2id string into its parameters, salt
// and key. It rejects parameters far above the ones HashPassword writes, so
// a tampered row cannot make a sign-in attempt allocate gigabytes.
func parseArgonHash(encoded string) (argonParams, []byte, []byte, bool) {
	var p argonParams
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return p, nil, nil, false
	}
	var threads uint32
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.memory, &p.time, &threads); err != nil {
		return p, nil, nil, false
	}
	if p.memory == 0 || p.memory > 1024*1024 || p.time == 0 || p.time > 16 || threads == 0 || threads > 64 {
		return p, nil, nil, false
	}
	p.threads = uint8(threads)

	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return p, nil, nil, false
	}
	key, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(key) < 16 {
		return p, nil, nil, false
	}
	return p, salt, key, true
}
