package console

import (
	"crypto/subtle"
	"fmt"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// TOTP settings: RFC 6238's defaults (30-second steps, HMAC-SHA-1, six
// digits), which every authenticator app supports.
const (
	totpIssuer = "docsign-ca"
	totpPeriod = 30
	totpDigits = otp.DigitsSix
	// totpSkew accepts the code of one step before and after the current
	// one, for clock drift (RFC 6238 §5.2 recommends at most one step).
	totpSkew = 1
)

// TOTPKey is a new TOTP secret and the otpauth:// URI that an
// authenticator app imports.
type TOTPKey struct {
	Secret string
	URI    string
}

// NewTOTPKey generates a TOTP secret for username.
func NewTOTPKey(username string) (*TOTPKey, error) {
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer: totpIssuer, AccountName: username, Period: totpPeriod, Digits: totpDigits, Algorithm: otp.AlgorithmSHA1,
	})
	if err != nil {
		return nil, fmt.Errorf("generate TOTP secret: %w", err)
	}
	return &TOTPKey{Secret: key.Secret(), URI: key.URL()}, nil
}

// TOTPCode returns the code of secret at time t. Tests use it to sign in.
func TOTPCode(secret string, t time.Time) (string, error) {
	return totp.GenerateCodeCustom(secret, t, totpOptions())
}

// matchTOTP returns the time step whose code equals code, within the skew
// around now. The caller records the step, so that a code is used once.
func matchTOTP(secret, code string, now time.Time) (step int64, ok bool) {
	current := now.Unix() / totpPeriod
	for offset := -totpSkew; offset <= totpSkew; offset++ {
		candidate := current + int64(offset)
		want, err := totp.GenerateCodeCustom(secret, time.Unix(candidate*totpPeriod, 0), totpOptions())
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return candidate, true
		}
	}
	return 0, false
}

func totpOptions() totp.ValidateOpts {
	return totp.ValidateOpts{Period: totpPeriod, Digits: totpDigits, Algorithm: otp.AlgorithmSHA1}
}
