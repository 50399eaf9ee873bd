package token

import (
	"errors"
	"fmt"
	"os"

	"github.com/docsign-ca/docsign-ca/internal/keys"
)

// ReadPIN returns a token PIN from the first line of pinFile, or from the
// environment variable envName, or from a prompt on the terminal. A PIN is
// never a flag value, which the process list would show.
func ReadPIN(pinFile, envName, prompt string) (string, error) {
	value, inEnv := os.LookupEnv(envName)
	switch {
	case pinFile != "" && inEnv:
		return "", fmt.Errorf("both --pin-file and %s are set; keep one", envName)
	case pinFile != "":
		pin, err := keys.ReadSecretFile(pinFile)
		if err != nil {
			return "", fmt.Errorf("--pin-file: %w", err)
		}
		return pin, nil
	case inEnv && value == "":
		return "", errors.New(envName + " is set but empty")
	case inEnv:
		return value, nil
	}
	pin, err := PromptSecret(prompt)
	if err != nil {
		return "", fmt.Errorf("%w (%s)", err, envName)
	}
	return pin, nil
}
