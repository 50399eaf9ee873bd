//go:build cgo

package ca

import (
	"fmt"
	"os"
	"testing"

	"github.com/docsign-ca/docsign-ca/internal/keys"
	"github.com/docsign-ca/docsign-ca/internal/keys/softhsmtest"
)

// The SoftHSM2 token of the PKCS#11 tests and benchmarks. SoftHSM2 scans
// its token directory when the module is initialized, so TestMain creates
// it before any test loads the module.
const (
	testToken = "ca-test"
	testPIN   = "2468-user"
)

func TestMain(m *testing.M) {
	os.Exit(runWithSoftHSM(m))
}

func runWithSoftHSM(m *testing.M) int {
	dir, err := os.MkdirTemp("", "docsign-ca-softhsm-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)

	hsm, err := softhsmtest.New(dir)
	if err == nil {
		err = hsm.Setenv()
	}
	if err == nil {
		err = hsm.InitToken(testToken, "so-1357", testPIN)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "set up SoftHSM2:", err)
		return 1
	}
	return m.Run()
}

// newTestPKCS11 returns PKCS#11 access to the test token, closed when tb ends.
func newTestPKCS11(tb testing.TB) *keys.PKCS11 {
	tb.Helper()
	p, err := keys.NewPKCS11(keys.PKCS11Config{ModulePath: softhsmtest.ModulePath, PIN: testPIN})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { p.Close() })
	return p
}
