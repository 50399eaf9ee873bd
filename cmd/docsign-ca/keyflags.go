package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/docsign-ca/docsign-ca/internal/keys"
)

// Environment variables that hold a secret itself. They are not flags, so
// that a secret never appears on a command line.
const (
	envKeyPassphrase = "DOCSIGN_KEY_PASSPHRASE"
	envPKCS11PIN     = "DOCSIGN_PKCS11_PIN"
)

// keyConfig holds the flags that reach CA keys, for serve and ceremony.
type keyConfig struct {
	dev            bool
	passphraseFile string
	pkcs11Module   string
	pkcs11PINFile  string
}

func (k *keyConfig) register(fs *flag.FlagSet, devUsage string) {
	fs.BoolVar(&k.dev, "dev", false, devUsage)
	fs.StringVar(&k.passphraseFile, "key-passphrase-file", "",
		"file whose first line is the passphrase of encrypted PKCS#8 key files; or set "+envKeyPassphrase)
	fs.StringVar(&k.pkcs11Module, "pkcs11-module", "",
		"path of the PKCS#11 module that pkcs11: key URIs use, such as /usr/lib/softhsm/libsofthsm2.so")
	fs.StringVar(&k.pkcs11PINFile, "pkcs11-pin-file", "",
		"file whose first line is the user PIN of the PKCS#11 tokens; or set "+envPKCS11PIN)
}

// opener builds the keys.Opener the flags describe. module overrides
// --pkcs11-module when not empty; tokenPINs adds PINs per token label.
// The caller closes the Opener.
func (k *keyConfig) opener(module string, tokenPINs map[string]string) (*keys.Opener, error) {
	passphrase, err := secret(k.passphraseFile, envKeyPassphrase, "--key-passphrase-file")
	if err != nil {
		return nil, err
	}
	opener := &keys.Opener{AllowPlainFiles: k.dev, Passphrase: passphrase}

	if module == "" {
		module = k.pkcs11Module
	}
	if module == "" {
		return opener, nil
	}
	pin, err := secret(k.pkcs11PINFile, envPKCS11PIN, "--pkcs11-pin-file")
	if err != nil {
		return nil, err
	}
	opener.PKCS11, err = keys.NewPKCS11(keys.PKCS11Config{ModulePath: module, PIN: pin, TokenPINs: tokenPINs})
	if err != nil {
		return nil, err
	}
	return opener, nil
}

// secret reads a secret from the file given by a flag or from an
// environment variable; giving both is an error, giving neither returns "".
func secret(path, envName, flagName string) (string, error) {
	value, inEnv := os.LookupEnv(envName)
	switch {
	case path != "" && inEnv:
		return "", fmt.Errorf("both %s and %s are set; keep one", flagName, envName)
	case path != "":
		s, err := keys.ReadSecretFile(path)
		if err != nil {
			return "", fmt.Errorf("%s: %w", flagName, err)
		}
		return s, nil
	case inEnv && value == "":
		return "", errors.New(envName + " is set but empty")
	}
	return value, nil
}
