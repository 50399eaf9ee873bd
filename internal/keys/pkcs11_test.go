//go:build cgo

package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/docsign-ca/docsign-ca/internal/keys/softhsmtest"
)

// The tokens every PKCS#11 test uses. SoftHSM2 scans its token directory
// when the module is initialized, so TestMain creates them before any test
// loads the module.
const (
	testToken      = "keys-test"
	testPIN        = "4711-user"
	testOtherToken = "keys-other"
	testOtherPIN   = "0815-user"
	testSOPIN      = "so-pin-1234"
)

var testHSM *softhsmtest.HSM

func TestMain(m *testing.M) {
	os.Exit(runWithSoftHSM(m))
}

func runWithSoftHSM(m *testing.M) int {
	dir, err := os.MkdirTemp("", "docsign-keys-softhsm-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)

	testHSM, err = softhsmtest.New(dir)
	if err == nil {
		err = testHSM.Setenv()
	}
	if err == nil {
		err = testHSM.InitToken(testToken, testSOPIN, testPIN)
	}
	if err == nil {
		err = testHSM.InitToken(testOtherToken, testSOPIN, testOtherPIN)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "set up SoftHSM2:", err)
		return 1
	}
	return m.Run()
}

func newTestPKCS11(t *testing.T) *PKCS11 {
	t.Helper()
	p, err := NewPKCS11(PKCS11Config{
		ModulePath: softhsmtest.ModulePath,
		PIN:        testPIN,
		TokenPINs:  map[string]string{testOtherToken: testOtherPIN},
	})
	if err != nil {
		t.Fatalf("NewPKCS11: %v", err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return p
}

func TestPKCS11GenerateAndOpen(t *testing.T) {
	for _, alg := range []Algorithm{RSA2048, RSA3072, ECDSAP256, ECDSAP384} {
		t.Run(string(alg), func(t *testing.T) {
			label := "generate-open-" + string(alg)
			generator := &Opener{PKCS11: newTestPKCS11(t)}

			generated, uri, err := generator.GenerateKey(PKCS11URI{Token: testToken, Object: label}.String(), alg)
			if err != nil {
				t.Fatalf("GenerateKey: %v", err)
			}
			if !strings.Contains(uri, ";id=") {
				t.Errorf("URI %q of the new key has no id attribute", uri)
			}

			// A second Opener logs in anew, as a restarted server does.
			opener := &Opener{PKCS11: newTestPKCS11(t)}
			opened, err := opener.Open(uri)
			if err != nil {
				t.Fatalf("Open(%q): %v", uri, err)
			}
			assertPublicKeysEqual(t, generated.Public(), opened.Public())
			assertSignatureVerifies(t, opened)
		})
	}
}

func TestPKCS11GenerateNeverOverwrites(t *testing.T) {
	p := newTestPKCS11(t)
	uri := PKCS11URI{Token: testToken, Object: "never-overwritten"}

	first, _, err := p.Generate(uri, ECDSAP256)
	if err != nil {
		t.Fatalf("first Generate: %v", err)
	}
	_, _, err = p.Generate(uri, ECDSAP256)
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("second Generate: got %v, want an already-exists error", err)
	}

	opened, err := p.Open(uri)
	if err != nil {
		t.Fatalf("Open after the rejected second Generate: %v", err)
	}
	assertPublicKeysEqual(t, first.Public(), opened.Public())
}

// TestPKCS11KeyAttributes checks the new key's attributes with OpenSC's
// pkcs11-tool, independently of the code that set them.
func TestPKCS11KeyAttributes(t *testing.T) {
	tests := []struct {
		alg       Algorithm
		wantUsage string
	}{
		{alg: RSA3072, wantUsage: "Usage:      sign"},
		{alg: ECDSAP384, wantUsage: "Usage:      sign"},
	}
	for _, tc := range tests {
		t.Run(string(tc.alg), func(t *testing.T) {
			label := "attributes-" + string(tc.alg)
			p := newTestPKCS11(t)
			if _, _, err := p.Generate(PKCS11URI{Token: testToken, Object: label}, tc.alg); err != nil {
				t.Fatalf("Generate: %v", err)
			}

			block := privateKeyListing(t, label)
			for _, want := range []string{"sensitive", "always sensitive", "never extractable", "local", tc.wantUsage} {
				if !strings.Contains(block, want) {
					t.Errorf("pkcs11-tool listing of %s lacks %q:\n%s", label, want, block)
				}
			}
			for _, unwanted := range []string{"decrypt", "unwrap", "derive"} {
				if strings.Contains(block, unwanted) {
					t.Errorf("private key %s has usage %s; a CA key must only sign:\n%s", label, unwanted, block)
				}
			}
		})
	}
}

func TestPKCS11OpenRejects(t *testing.T) {
	pkcs11Tool(t, "--keypairgen", "--key-type", "EC:prime256v1", "--label", "extractable", "--id", "e1",
		"--usage-sign", "--extractable", "--private")
	pkcs11Tool(t, "--keypairgen", "--key-type", "EC:prime256v1", "--label", "twice", "--id", "a1", "--usage-sign", "--sensitive", "--private")
	pkcs11Tool(t, "--keypairgen", "--key-type", "EC:prime256v1", "--label", "twice", "--id", "a2", "--usage-sign", "--sensitive", "--private")

	tests := []struct {
		name     string
		config   PKCS11Config
		uri      string
		wantText string
	}{
		{name: "missing key", uri: "pkcs11:token=keys-test;object=absent", wantText: "not found"},
		{name: "missing token", uri: "pkcs11:token=no-such-token;object=k", wantText: `token "no-such-token"`},
		{name: "extractable key", uri: "pkcs11:token=keys-test;object=extractable", wantText: "CKA_EXTRACTABLE=false"},
		{name: "two keys with one label", uri: "pkcs11:token=keys-test;object=twice", wantText: "ambiguous"},
		{name: "wrong PIN", config: PKCS11Config{ModulePath: softhsmtest.ModulePath, PIN: "9999-wrong"},
			uri: "pkcs11:token=keys-other;object=k", wantText: "CKR_PIN_INCORRECT"},
		{name: "no PIN", config: PKCS11Config{ModulePath: softhsmtest.ModulePath},
			uri: "pkcs11:token=keys-other;object=k", wantText: "DOCSIGN_PKCS11_PIN"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newTestPKCS11(t)
			if tc.config.ModulePath != "" {
				var err error
				if p, err = NewPKCS11(tc.config); err != nil {
					t.Fatal(err)
				}
				defer p.Close()
			}

			_, err := (&Opener{PKCS11: p}).Open(tc.uri)
			if err == nil {
				t.Fatalf("Open(%q) succeeded, want an error", tc.uri)
			}
			if !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("error %q does not contain %q", err, tc.wantText)
			}
			if strings.Contains(err.Error(), testOtherPIN) || strings.Contains(err.Error(), "9999-wrong") {
				t.Errorf("error %q contains a PIN", err)
			}
		})
	}

	t.Run("twice with id", func(t *testing.T) {
		p := newTestPKCS11(t)
		if _, err := (&Opener{PKCS11: p}).Open("pkcs11:token=keys-test;object=twice;id=%a2"); err != nil {
			t.Fatalf("Open with id: %v", err)
		}
	})
}

func TestNewPKCS11Rejects(t *testing.T) {
	tests := []struct {
		name     string
		config   PKCS11Config
		wantText string
	}{
		{name: "no module", config: PKCS11Config{PIN: "1"}, wantText: "--pkcs11-module"},
		{name: "missing module file", config: PKCS11Config{ModulePath: "/nonexistent/libpkcs11.so"}, wantText: "/nonexistent/libpkcs11.so"},
		{name: "one session", config: PKCS11Config{ModulePath: softhsmtest.ModulePath, MaxSessions: 1}, wantText: "2 or more"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewPKCS11(tc.config)
			if err == nil || !strings.Contains(err.Error(), tc.wantText) {
				t.Fatalf("NewPKCS11: got %v, want an error containing %q", err, tc.wantText)
			}
		})
	}
}

// TestPKCS11ConcurrentSigning signs from more goroutines than the pool has
// sessions; every signature must verify.
func TestPKCS11ConcurrentSigning(t *testing.T) {
	p, err := NewPKCS11(PKCS11Config{ModulePath: softhsmtest.ModulePath, PIN: testPIN, MaxSessions: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	signer, _, err := p.Generate(PKCS11URI{Token: testToken, Object: "concurrent"}, ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}

	const workers, perWorker = 12, 5
	var wg sync.WaitGroup
	failures := make(chan error, workers*perWorker)
	for range workers {
		wg.Go(func() {
			for range perWorker {
				digest := sha256.Sum256([]byte("concurrent signing"))
				signature, err := signer.Sign(rand.Reader, digest[:], crypto.SHA256)
				if err == nil && !ecdsa.VerifyASN1(signer.Public().(*ecdsa.PublicKey), digest[:], signature) {
					err = fmt.Errorf("signature does not verify")
				}
				if err != nil {
					failures <- err
				}
			}
		})
	}
	wg.Wait()
	close(failures)
	for err := range failures {
		t.Error(err)
	}
}

// privateKeyListing returns the `pkcs11-tool --list-objects` block of the
// private key labelled label.
func privateKeyListing(t *testing.T, label string) string {
	t.Helper()
	out := pkcs11Tool(t, "--list-objects", "--type", "privkey")
	for _, block := range strings.Split(out, "Private Key Object") {
		if strings.Contains(block, "label:      "+label+"\n") {
			return block
		}
	}
	t.Fatalf("pkcs11-tool lists no private key labelled %q:\n%s", label, out)
	return ""
}

func pkcs11Tool(t *testing.T, args ...string) string {
	t.Helper()
	args = append([]string{"--module", softhsmtest.ModulePath, "--token-label", testToken, "--login", "--pin", testPIN}, args...)
	cmd := exec.Command("pkcs11-tool", args...)
	cmd.Env = append(os.Environ(), testHSM.Env())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("pkcs11-tool %s: %v\n%s", strings.Join(args[6:], " "), err, out)
	}
	return string(out)
}

func assertPublicKeysEqual(t *testing.T, want, got crypto.PublicKey) {
	t.Helper()
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if !want.(equaler).Equal(got) {
		t.Fatal("public keys differ")
	}
}

func assertSignatureVerifies(t *testing.T, signer crypto.Signer) {
	t.Helper()
	digest := sha256.Sum256([]byte("document"))
	signature, err := signer.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}

	switch public := signer.Public().(type) {
	case *rsa.PublicKey:
		err = rsa.VerifyPKCS1v15(public, crypto.SHA256, digest[:], signature)
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(public, digest[:], signature) {
			err = fmt.Errorf("ECDSA signature does not verify")
		}
	default:
		err = fmt.Errorf("unexpected public key type %T", public)
	}
	if err != nil {
		t.Fatal(err)
	}
}
