package keys

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const testPassphrase = "correct horse battery staple"

func TestEncryptPKCS8RoundTrip(t *testing.T) {
	signer, err := Generate(ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(signer)
	if err != nil {
		t.Fatal(err)
	}

	encrypted, err := EncryptPKCS8(der, testPassphrase)
	if err != nil {
		t.Fatalf("EncryptPKCS8: %v", err)
	}
	if bytes.Contains(encrypted, der[len(der)-32:]) {
		t.Fatal("the encrypted structure contains the plain key's bytes")
	}

	decrypted, err := DecryptPKCS8(encrypted, testPassphrase)
	if err != nil {
		t.Fatalf("DecryptPKCS8: %v", err)
	}
	if !bytes.Equal(decrypted, der) {
		t.Fatal("decrypted key differs from the original")
	}
}

func TestEncryptPKCS8RejectsEmptyPassphrase(t *testing.T) {
	_, err := EncryptPKCS8([]byte{0x30, 0x00}, "")
	if err == nil || !strings.Contains(err.Error(), "passphrase is empty") {
		t.Fatalf("EncryptPKCS8 with an empty passphrase: got %v, want a passphrase error", err)
	}
}

// TestDecryptPKCS8OpenSSLFiles decrypts keys that OpenSSL encrypted with
// each supported PRF and cipher.
func TestDecryptPKCS8OpenSSLFiles(t *testing.T) {
	tests := []struct {
		cipher string
		prf    string
	}{
		{cipher: "aes-256-cbc", prf: "hmacWithSHA256"},
		{cipher: "aes-128-cbc", prf: "hmacWithSHA1"},
		{cipher: "aes-192-cbc", prf: "hmacWithSHA384"},
		{cipher: "aes-256-cbc", prf: "hmacWithSHA512"},
	}
	plainPath, original := writePlainTestKey(t)

	for _, tc := range tests {
		t.Run(tc.cipher+"/"+tc.prf, func(t *testing.T) {
			encryptedPath := filepath.Join(t.TempDir(), "key.enc.pem")
			runOpenSSL(t, "pkcs8", "-topk8", "-v2", tc.cipher, "-v2prf", tc.prf,
				"-in", plainPath, "-out", encryptedPath, "-passout", "pass:"+testPassphrase)

			opener := &Opener{Passphrase: testPassphrase}
			signer, err := opener.Open("file:" + encryptedPath)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if !signer.Public().(*ecdsa.PublicKey).Equal(original.Public()) {
				t.Fatal("the decrypted key differs from the one OpenSSL encrypted")
			}
		})
	}
}

// TestEncryptedFileReadByOpenSSL checks that OpenSSL decrypts the files
// GenerateEncryptedFile writes.
func TestEncryptedFileReadByOpenSSL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key.pem")
	signer, _, err := GenerateEncryptedFile(path, ECDSAP384, testPassphrase)
	if err != nil {
		t.Fatalf("GenerateEncryptedFile: %v", err)
	}

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(data), "-----BEGIN ENCRYPTED PRIVATE KEY-----") {
		t.Fatalf("file does not start with an ENCRYPTED PRIVATE KEY block:\n%s", data)
	}

	out := runOpenSSL(t, "pkey", "-in", path, "-passin", "pass:"+testPassphrase, "-pubout", "-outform", "DER")
	want, err := x509.MarshalPKIXPublicKey(signer.Public())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, want) {
		t.Fatal("OpenSSL derived a different public key from the file")
	}
}

func TestDecryptPKCS8Rejects(t *testing.T) {
	plainPath, _ := writePlainTestKey(t)
	dir := t.TempDir()

	pbes1 := filepath.Join(dir, "pbes1.pem")
	runOpenSSL(t, "pkcs8", "-topk8", "-v1", "PBE-SHA1-3DES", "-in", plainPath, "-out", pbes1, "-passout", "pass:"+testPassphrase)
	des3 := filepath.Join(dir, "des3.pem")
	runOpenSSL(t, "pkcs8", "-topk8", "-v2", "des3", "-in", plainPath, "-out", des3, "-passout", "pass:"+testPassphrase)
	scrypt := filepath.Join(dir, "scrypt.pem")
	runOpenSSL(t, "pkcs8", "-topk8", "-scrypt", "-in", plainPath, "-out", scrypt, "-passout", "pass:"+testPassphrase)
	good := filepath.Join(dir, "good.pem")
	runOpenSSL(t, "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", plainPath, "-out", good, "-passout", "pass:"+testPassphrase)

	tests := []struct {
		name       string
		path       string
		passphrase string
		wantText   string
	}{
		{name: "PBES1", path: pbes1, passphrase: testPassphrase, wantText: "unsupported encryption scheme"},
		{name: "DES-EDE3 cipher", path: des3, passphrase: testPassphrase, wantText: "unsupported cipher"},
		{name: "scrypt", path: scrypt, passphrase: testPassphrase, wantText: "unsupported key derivation function"},
		{name: "wrong passphrase", path: good, passphrase: "wrong passphrase", wantText: "wrong passphrase or damaged file"},
		{name: "no passphrase", path: good, passphrase: "", wantText: "DOCSIGN_KEY_PASSPHRASE"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opener := &Opener{Passphrase: tc.passphrase}
			_, err := opener.Open("file:" + tc.path)
			if err == nil {
				t.Fatal("Open succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("error %q does not contain %q", err, tc.wantText)
			}
			if strings.Contains(err.Error(), testPassphrase) {
				t.Errorf("error %q contains the passphrase", err)
			}
		})
	}
}

func TestDecryptPKCS8RejectsHugeIterationCount(t *testing.T) {
	plainPath, _ := writePlainTestKey(t)
	path := filepath.Join(t.TempDir(), "slow.pem")
	runOpenSSL(t, "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-iter", "20000000",
		"-in", plainPath, "-out", path, "-passout", "pass:"+testPassphrase)

	opener := &Opener{Passphrase: testPassphrase}
	_, err := opener.Open("file:" + path)
	if err == nil || !strings.Contains(err.Error(), "iteration count 20000000") {
		t.Fatalf("Open: got %v, want an iteration count error", err)
	}
}

// writePlainTestKey writes an unencrypted P-256 PKCS#8 key for OpenSSL to
// encrypt, and returns its path and the key.
func writePlainTestKey(t *testing.T) (string, *ecdsa.PrivateKey) {
	t.Helper()
	signer, err := Generate(ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(signer)
	if err != nil {
		t.Fatal(err)
	}
	path := writeTempFile(t, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	return path, signer.(*ecdsa.PrivateKey)
}

func runOpenSSL(t *testing.T, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("openssl", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("openssl %s: %v\n%s", args[0], err, stderr.String())
	}
	return out
}
