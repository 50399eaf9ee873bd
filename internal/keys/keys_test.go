package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGenerateFileAlgorithms(t *testing.T) {
	tests := []struct {
		alg       Algorithm
		rsaBits   int
		curveName string
	}{
		{alg: RSA2048, rsaBits: 2048},
		{alg: RSA3072, rsaBits: 3072},
		{alg: RSA4096, rsaBits: 4096},
		{alg: ECDSAP256, curveName: "P-256"},
		{alg: ECDSAP384, curveName: "P-384"},
	}
	for _, tc := range tests {
		t.Run(string(tc.alg), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "key.pem")

			signer, uri, err := GenerateFile(path, tc.alg)
			if err != nil {
				t.Fatalf("GenerateFile(%s): %v", tc.alg, err)
			}

			switch pub := signer.Public().(type) {
			case *rsa.PublicKey:
				if pub.N.BitLen() != tc.rsaBits {
					t.Errorf("RSA modulus has %d bits, want %d", pub.N.BitLen(), tc.rsaBits)
				}
			case *ecdsa.PublicKey:
				if pub.Curve.Params().Name != tc.curveName {
					t.Errorf("curve is %s, want %s", pub.Curve.Params().Name, tc.curveName)
				}
			default:
				t.Fatalf("unexpected public key type %T", pub)
			}

			if want := "file:" + path; uri != want {
				t.Errorf("URI = %q, want %q", uri, want)
			}

			opened, err := Open(uri)
			if err != nil {
				t.Fatalf("Open(%q): %v", uri, err)
			}
			assertSameKey(t, signer, opened)
		})
	}
}

func TestGenerateFileMode0600(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key.pem")

	_, _, err := GenerateFile(path, ECDSAP256)
	if err != nil {
		t.Fatalf("GenerateFile: %v", err)
	}

	info, err := os.Stat(path)
	if err != nil {
		t.Fatalf("stat key file: %v", err)
	}
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Errorf("key file mode = %o, want 600", mode)
	}
}

func TestGenerateFileWritesPKCS8(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key.pem")

	_, _, err := GenerateFile(path, ECDSAP256)
	if err != nil {
		t.Fatalf("GenerateFile: %v", err)
	}

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read key file: %v", err)
	}
	block, rest := pem.Decode(data)
	if block == nil {
		t.Fatal("key file contains no PEM block")
	}
	if block.Type != "PRIVATE KEY" {
		t.Errorf("PEM type = %q, want PRIVATE KEY", block.Type)
	}
	if len(strings.TrimSpace(string(rest))) != 0 {
		t.Errorf("key file has %d bytes after the PEM block", len(rest))
	}
	if _, err := x509.ParsePKCS8PrivateKey(block.Bytes); err != nil {
		t.Errorf("PEM block is not PKCS#8: %v", err)
	}
}

func TestGenerateFileNeverOverwrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key.pem")
	original := []byte("existing content\n")
	if err := os.WriteFile(path, original, 0o600); err != nil {
		t.Fatal(err)
	}

	_, _, err := GenerateFile(path, ECDSAP256)
	if err == nil {
		t.Fatal("GenerateFile over an existing file succeeded, want an error")
	}
	if !strings.Contains(err.Error(), "already exists") {
		t.Errorf("error %q does not say the file exists", err)
	}

	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(after) != string(original) {
		t.Error("existing file was modified")
	}
}

func TestGenerateFileRejectsUnknownAlgorithm(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key.pem")

	_, _, err := GenerateFile(path, Algorithm("dsa-1024"))
	if err == nil {
		t.Fatal("GenerateFile with an unknown algorithm succeeded")
	}
	if !strings.Contains(err.Error(), `"dsa-1024"`) || !strings.Contains(err.Error(), string(RSA3072)) {
		t.Errorf("error %q should name the algorithm and list the supported ones", err)
	}
	if _, statErr := os.Stat(path); statErr == nil {
		t.Error("a file was created for an unknown algorithm")
	}
}

func TestOpenURIForms(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "with space.pem")
	signer, _, err := GenerateFile(path, ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		uri  string
	}{
		{name: "single slash", uri: "file:" + path},
		{name: "empty authority", uri: "file://" + path},
		{name: "localhost authority", uri: "file://localhost" + path},
		{name: "percent-encoded space", uri: "file:" + strings.ReplaceAll(path, " ", "%20")},
		{name: "upper-case scheme", uri: "FILE:" + path},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opened, err := Open(tc.uri)
			if err != nil {
				t.Fatalf("Open(%q): %v", tc.uri, err)
			}
			assertSameKey(t, signer, opened)
		})
	}
}

func TestOpenKeyTypes(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		key  crypto.Signer
	}{
		{name: "RSA", key: rsaKey},
		{name: "ECDSA", key: ecKey},
		{name: "Ed25519", key: edKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			der, err := x509.MarshalPKCS8PrivateKey(tc.key)
			if err != nil {
				t.Fatal(err)
			}
			path := writeTempFile(t, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))

			opened, err := Open("file:" + path)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			assertSameKey(t, tc.key, opened)
		})
	}
}

func TestOpenRejectsBadURI(t *testing.T) {
	tests := []struct {
		name     string
		uri      string
		wantText string
	}{
		{name: "PKCS11 without module", uri: "pkcs11:token=ca;object=issuing-1", wantText: "--pkcs11-module"},
		{name: "HTTP scheme", uri: "http://127.0.0.1/key.pem", wantText: `"http"`},
		{name: "no scheme", uri: "/etc/ca/key.pem", wantText: "missing scheme"},
		{name: "relative path", uri: "file:key.pem", wantText: "absolute"},
		{name: "remote host", uri: "file://keyserver/ca/key.pem", wantText: `"keyserver"`},
		{name: "query", uri: "file:/ca/key.pem?pin=1", wantText: "no query"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Open(tc.uri)
			if err == nil {
				t.Fatalf("Open(%q) succeeded, want an error", tc.uri)
			}
			if !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("error %q does not contain %q", err, tc.wantText)
			}
		})
	}
}

func TestOpenRejectsBadFile(t *testing.T) {
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	sec1, err := x509.MarshalECPrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8PEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})

	// Corrupt the key body but keep it valid base64, so that the parser runs
	// on bytes derived from a real key.
	corrupted := append([]byte(nil), pkcs8...)
	corrupted[len(corrupted)/2] ^= 0xff
	corrupted = corrupted[:len(corrupted)-3]

	tests := []struct {
		name     string
		content  []byte
		wantText string
	}{
		{name: "not PEM", content: []byte("not a key\n"), wantText: "no PEM block"},
		{name: "SEC 1 EC key", content: pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}), wantText: `"EC PRIVATE KEY"`},
		{name: "encrypted PKCS8 without passphrase", content: pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: pkcs8}), wantText: "no passphrase is configured"},
		{name: "two blocks", content: append(append([]byte(nil), pkcs8PEM...), pkcs8PEM...), wantText: "more than one PEM block"},
		{name: "corrupted PKCS8", content: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: corrupted}), wantText: "invalid PKCS#8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeTempFile(t, tc.content)

			_, err := Open("file:" + path)
			if err == nil {
				t.Fatal("Open succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("error %q does not contain %q", err, tc.wantText)
			}
			assertNoKeyMaterial(t, err.Error(), pkcs8)
			assertNoKeyMaterial(t, err.Error(), sec1)
		})
	}
}

func TestOpenMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "absent.pem")

	_, err := Open("file:" + path)
	if err == nil {
		t.Fatal("Open of a missing file succeeded")
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name the path", err)
	}
}

func TestFileURIRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dir with space", "key #1.pem")

	uri, err := FileURI(path)
	if err != nil {
		t.Fatal(err)
	}

	got, err := filePath(uri)
	if err != nil {
		t.Fatalf("filePath(%q): %v", uri, err)
	}
	if got != path {
		t.Errorf("round trip gave %q, want %q", got, path)
	}
}

func writeTempFile(t *testing.T, content []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// assertSameKey checks that both signers hold the same key by signing with
// one and verifying with the other's public key.
func assertSameKey(t *testing.T, want, got crypto.Signer) {
	t.Helper()

	type equaler interface{ Equal(crypto.PublicKey) bool }
	if !want.Public().(equaler).Equal(got.Public()) {
		t.Fatal("opened key has a different public key")
	}

	digest := sha256.Sum256([]byte("docsign-ca key check"))
	opts := crypto.SignerOpts(crypto.SHA256)
	message := digest[:]
	if _, ok := got.(ed25519.PrivateKey); ok {
		opts = crypto.Hash(0)
		message = []byte("docsign-ca key check")
	}
	signature, err := got.Sign(rand.Reader, message, opts)
	if err != nil {
		t.Fatalf("sign with opened key: %v", err)
	}

	switch pub := want.Public().(type) {
	case *rsa.PublicKey:
		err = rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], signature)
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(pub, digest[:], signature) {
			t.Fatal("ECDSA signature from opened key does not verify")
		}
	case ed25519.PublicKey:
		if !ed25519.Verify(pub, message, signature) {
			t.Fatal("Ed25519 signature from opened key does not verify")
		}
	}
	if err != nil {
		t.Fatalf("signature from opened key does not verify: %v", err)
	}
}

// assertNoKeyMaterial fails when message contains the key bytes in any
// common text form, or any 16-character run of their base64 encoding.
func assertNoKeyMaterial(t *testing.T, message string, key []byte) {
	t.Helper()

	encoded := base64.StdEncoding.EncodeToString(key)
	for i := 0; i+16 <= len(encoded); i += 4 {
		if strings.Contains(message, encoded[i:i+16]) {
			t.Fatalf("error message contains base64 key material: %q", message)
		}
	}
	if strings.Contains(message, string(key[8:24])) {
		t.Fatalf("error message contains raw key bytes")
	}
}
