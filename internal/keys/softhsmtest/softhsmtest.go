// Package softhsmtest creates SoftHSM2 tokens in a temporary directory, so
// that tests run the PKCS#11 code against a real token without touching the
// machine's own token store.
//
// SoftHSM2 reads its configuration from the file named by SOFTHSM2_CONF
// when the module is initialized. A test process that loads the module
// itself sets that variable once, before the first use (see Setenv); a
// child process gets it through Env.
package softhsmtest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// ModulePath is the path of the module that Debian's softhsm2 package installs.
const ModulePath = "/usr/lib/softhsm/libsofthsm2.so"

// HSM is a SoftHSM2 configuration with its own token directory.
type HSM struct {
	// ConfigPath is the softhsm2.conf file to put in SOFTHSM2_CONF.
	ConfigPath string
	// TokenDir is the directory that holds the tokens.
	TokenDir string
}

// New writes a SoftHSM2 configuration under dir with an empty token
// directory. It fails when softhsm2-util or the module is missing.
func New(dir string) (*HSM, error) {
	if _, err := exec.LookPath("softhsm2-util"); err != nil {
		return nil, errors.New("softhsm2-util not found; install SoftHSM2 (Debian: apt-get install softhsm2 opensc)")
	}
	if _, err := os.Stat(ModulePath); err != nil {
		return nil, fmt.Errorf("SoftHSM2 module: %w; install SoftHSM2 (Debian: apt-get install softhsm2)", err)
	}

	h := &HSM{ConfigPath: filepath.Join(dir, "softhsm2.conf"), TokenDir: filepath.Join(dir, "tokens")}
	if err := os.MkdirAll(h.TokenDir, 0o700); err != nil {
		return nil, err
	}
	config := fmt.Sprintf("directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n", h.TokenDir)
	if err := os.WriteFile(h.ConfigPath, []byte(config), 0o600); err != nil {
		return nil, err
	}
	return h, nil
}

// Env returns the environment entry that points SoftHSM2 at this configuration.
func (h *HSM) Env() string { return "SOFTHSM2_CONF=" + h.ConfigPath }

// Setenv points this process's SoftHSM2 at the configuration. Call it
// before the module is first loaded, as in TestMain.
func (h *HSM) Setenv() error { return os.Setenv("SOFTHSM2_CONF", h.ConfigPath) }

// InitToken initializes a new token in the first free slot with a label,
// a security officer PIN and a user PIN, as
// `softhsm2-util --init-token --free` does.
//
// A process that already loaded the module finds the token only after it
// finalized the module (closed every crypto11 context) and loaded it again.
func (h *HSM) InitToken(label, soPIN, userPIN string) error {
	cmd := exec.Command("softhsm2-util", "--init-token", "--free", "--label", label, "--so-pin", soPIN, "--pin", userPIN)
	cmd.Env = append(os.Environ(), h.Env())
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("softhsm2-util --init-token --label %s: %v\n%s", label, err, out)
	}
	return nil
}
