//go:build !linux

package token

import "errors"

// PromptSecret is implemented for Linux terminals only.
func PromptSecret(string) (string, error) {
	return "", errors.New("this build cannot ask for the PIN on the terminal; set the PIN environment variable or give --pin-file")
}
