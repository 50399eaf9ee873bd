package issuance

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zmap/zlint/v3/lint"

	"github.com/docsign-ca/docsign-ca/internal/keys"
)

func TestDevelopmentHierarchyRoot(t *testing.T) {
	hierarchy := sharedFixture(t).hierarchy
	root := hierarchy.Root

	key, ok := root.PublicKey.(*ecdsa.PublicKey)
	if !ok || key.Curve != elliptic.P384() {
		t.Errorf("root key is %T, want ECDSA P-384", root.PublicKey)
	}
	if got, want := root.Subject.String(), "CN=docsign-ca Development Root CA - NOT FOR PRODUCTION,O=docsign-ca development"; got != want {
		t.Errorf("root subject = %q, want %q", got, want)
	}
	if !root.NotBefore.Equal(testNow) || !root.NotAfter.Equal(testNow.AddDate(20, 0, 0)) {
		t.Errorf("root validity %s to %s, want 20 years from %s", root.NotBefore, root.NotAfter, testNow)
	}
	if !root.IsCA || root.MaxPathLen != 1 {
		t.Errorf("root IsCA=%v MaxPathLen=%d, want true and 1", root.IsCA, root.MaxPathLen)
	}
	if root.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign {
		t.Errorf("root keyUsage = %#x, want keyCertSign and cRLSign", root.KeyUsage)
	}
	if err := root.CheckSignatureFrom(root); err != nil {
		t.Errorf("root is not self-signed: %v", err)
	}
	if !bytes.Equal(hierarchy.RootDER, root.Raw) {
		t.Error("RootDER differs from Root.Raw")
	}
}

func TestDevelopmentHierarchyIntermediate(t *testing.T) {
	hierarchy := sharedFixture(t).hierarchy
	intermediate := hierarchy.Intermediate

	key, ok := intermediate.PublicKey.(*rsa.PublicKey)
	if !ok || key.N.BitLen() != 3072 {
		t.Errorf("intermediate key is %T, want RSA 3072", intermediate.PublicKey)
	}
	if got, want := intermediate.Subject.String(), "CN=docsign-ca Development Issuing CA 1 - NOT FOR PRODUCTION,O=docsign-ca development"; got != want {
		t.Errorf("intermediate subject = %q, want %q", got, want)
	}
	if !intermediate.NotBefore.Equal(testNow) || !intermediate.NotAfter.Equal(testNow.AddDate(10, 0, 0)) {
		t.Errorf("intermediate validity %s to %s, want 10 years from %s", intermediate.NotBefore, intermediate.NotAfter, testNow)
	}
	if !intermediate.IsCA || intermediate.MaxPathLen != 0 || !intermediate.MaxPathLenZero {
		t.Errorf("intermediate IsCA=%v MaxPathLen=%d MaxPathLenZero=%v, want true, 0, true",
			intermediate.IsCA, intermediate.MaxPathLen, intermediate.MaxPathLenZero)
	}
	if intermediate.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign {
		t.Errorf("intermediate keyUsage = %#x, want keyCertSign and cRLSign", intermediate.KeyUsage)
	}
	if err := intermediate.CheckSignatureFrom(hierarchy.Root); err != nil {
		t.Errorf("intermediate is not signed by the root: %v", err)
	}
	if !bytes.Equal(intermediate.AuthorityKeyId, hierarchy.Root.SubjectKeyId) {
		t.Error("intermediate authorityKeyIdentifier is not the root's subjectKeyIdentifier")
	}
	if !bytes.Equal(hierarchy.IntermediateDER, intermediate.Raw) {
		t.Error("IntermediateDER differs from Intermediate.Raw")
	}
}

func TestDevelopmentHierarchyKeyFiles(t *testing.T) {
	hierarchy := sharedFixture(t).hierarchy

	tests := []struct {
		name string
		uri  string
		cert *x509.Certificate
		file string
	}{
		{"root", hierarchy.RootKeyURI, hierarchy.Root, "root.key"},
		{"intermediate", hierarchy.IntermediateKeyURI, hierarchy.Intermediate, "issuing-1.key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.HasSuffix(tc.uri, "/"+tc.file) {
				t.Errorf("key URI %q does not name %s", tc.uri, tc.file)
			}
			path := strings.TrimPrefix(tc.uri, "file:")
			info, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if mode := info.Mode().Perm(); mode != 0o600 {
				t.Errorf("key file mode = %o, want 600", mode)
			}

			signer, err := keys.Open(tc.uri)
			if err != nil {
				t.Fatal(err)
			}
			type equaler interface{ Equal(crypto.PublicKey) bool }
			if !signer.Public().(equaler).Equal(tc.cert.PublicKey) {
				t.Error("key file does not hold the certificate's key")
			}
		})
	}
}

func TestDevelopmentHierarchyNeverOverwritesKeys(t *testing.T) {
	dir := t.TempDir()
	rootPath := filepath.Join(dir, "root.key")
	if err := os.WriteFile(rootPath, []byte("existing\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	_, err := CreateDevelopmentHierarchy(dir, testNow)

	if err == nil {
		t.Fatal("CreateDevelopmentHierarchy succeeded over an existing root.key")
	}
	content, readErr := os.ReadFile(rootPath)
	if readErr != nil {
		t.Fatal(readErr)
	}
	if string(content) != "existing\n" {
		t.Error("existing root.key was changed")
	}
}

// TestDevelopmentHierarchyZlint lints both CA certificates with zlint's
// RFC, Mozilla and Community lints. The CA/Browser Forum TLS lints are left
// out: zlint applies them to any CA certificate without extKeyUsage, and they
// require TLS-only content (certificatePolicies, CRL distribution points).
func TestDevelopmentHierarchyZlint(t *testing.T) {
	hierarchy := sharedFixture(t).hierarchy
	registry, err := lint.GlobalRegistry().Filter(lint.FilterOptions{IncludeSources: lint.SourceList{
		lint.RFC3279, lint.RFC5280, lint.RFC5480, lint.RFC5891, lint.RFC8813,
		lint.MozillaRootStorePolicy, lint.Community,
	}})
	if err != nil {
		t.Fatal(err)
	}

	for name, der := range map[string][]byte{"root": hierarchy.RootDER, "intermediate": hierarchy.IntermediateDER} {
		t.Run(name, func(t *testing.T) {
			assertZlintClean(t, der, registry)
		})
	}
}

// TestOpenSSLVerifiesChain checks an issued certificate with the openssl
// command line tool, which shares no code with crypto/x509.
func TestOpenSSLVerifiesChain(t *testing.T) {
	fixture := sharedFixture(t)
	dir := t.TempDir()

	tests := []struct {
		name    string
		keyType string
	}{
		{"RSA subscriber", "rsa-2048"},
		{"ECDSA subscriber", "p-256"},
	}
	rootPath := writePEM(t, dir, "root.pem", fixture.hierarchy.RootDER)
	intermediatePath := writePEM(t, dir, "intermediate.pem", fixture.hierarchy.IntermediateDER)

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := validRequest(t)
			req.PublicKey = subscriberKey(t, tc.keyType).Public()
			cert := issue(t, fixture.authority, req)
			leafPath := writePEM(t, dir, tc.keyType+"-leaf.pem", cert.Raw)

			// -attime checks the chain at the fixed test time, so the test
			// does not depend on today's date.
			cmd := exec.Command("openssl", "verify", "-purpose", "any",
				"-attime", strconv.FormatInt(testNow.Add(time.Hour).Unix(), 10),
				"-CAfile", rootPath, "-untrusted", intermediatePath, leafPath)
			output, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("openssl verify failed: %v\n%s", err, output)
			}
			if want := leafPath + ": OK"; !strings.Contains(string(output), want) {
				t.Errorf("openssl output %q does not contain %q", output, want)
			}
		})
	}
}

func writePEM(t *testing.T, dir, name string, der []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	data := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
