//go:build cgo

package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ThalesGroup/crypto11"

	"github.com/docsign-ca/docsign-ca/internal/keys/softhsmtest"
)

const (
	testTokenLabel = "token-unit"
	testPIN        = "620514"
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "docsign-token-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	hsm, err := softhsmtest.New(dir)
	if err == nil {
		err = hsm.Setenv()
	}
	if err == nil {
		err = hsm.InitToken(testTokenLabel, "so-"+testPIN, testPIN)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "set up SoftHSM2:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func openTestToken(t *testing.T) *Token {
	t.Helper()
	tok, err := Open(softhsmtest.ModulePath, testTokenLabel, testPIN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tok.Close() })
	return tok
}

func TestGenerateKeyOnToken(t *testing.T) {
	tok := openTestToken(t)
	if tok.Serial == "" {
		t.Error("the token's serial number is empty")
	}
	cases := []struct {
		alg  Algorithm
		bits int
	}{
		{Algorithm{KeyType: "rsa", KeySize: 2048}, 2048},
		{Algorithm{KeyType: "ecc", KeySize: 256}, 256},
		{Algorithm{KeyType: "ecc", KeySize: 384}, 384},
	}
	for _, tc := range cases {
		t.Run(tc.alg.String(), func(t *testing.T) {
			label := "generate-" + strings.ReplaceAll(tc.alg.String(), " ", "-")
			key, err := tok.GenerateKey(tc.alg, label)
			if err != nil {
				t.Fatal(err)
			}
			if bits := publicKeyBits(key.Signer.Public()); bits != tc.bits {
				t.Errorf("public key has %d bits, expected %d", bits, tc.bits)
			}
			if len(key.ID) != 16 {
				t.Errorf("CKA_ID has %d bytes, expected 16", len(key.ID))
			}

			attributes, err := tok.ctx.GetAttributes(key.Signer, []crypto11.AttributeType{
				crypto11.CkaSensitive, crypto11.CkaExtractable, crypto11.CkaSign, crypto11.CkaDecrypt, crypto11.CkaToken,
			})
			if err != nil {
				t.Fatal(err)
			}
			expected := map[crypto11.AttributeType]bool{
				crypto11.CkaSensitive: true, crypto11.CkaExtractable: false, crypto11.CkaSign: true,
				crypto11.CkaDecrypt: false, crypto11.CkaToken: true,
			}
			for attribute, value := range expected {
				a := attributes[attribute]
				got := a != nil && len(a.Value) == 1 && a.Value[0] != 0
				if got != value {
					t.Errorf("private key attribute 0x%x = %v, expected %v", attribute, got, value)
				}
			}

			again, err := tok.FindKeyByLabel(label)
			if err != nil {
				t.Fatal(err)
			}
			if string(again.ID) != string(key.ID) {
				t.Errorf("FindKeyByLabel found CKA_ID %x, expected %x", again.ID, key.ID)
			}
		})
	}
}

func publicKeyBits(public crypto.PublicKey) int {
	switch k := public.(type) {
	case *rsa.PublicKey:
		return k.N.BitLen()
	case *ecdsa.PublicKey:
		return k.Curve.Params().BitSize
	}
	return 0
}

func TestGenerateKeyRejects(t *testing.T) {
	tok := openTestToken(t)
	if _, err := tok.GenerateKey(Algorithm{KeyType: "ecc", KeySize: 256}, "taken-label"); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		alg   Algorithm
		label string
		text  string
	}{
		{"existing label", Algorithm{KeyType: "ecc", KeySize: 256}, "taken-label", "already exists"},
		{"RSA 1024", Algorithm{KeyType: "rsa", KeySize: 1024}, "weak-rsa", "unsupported key"},
		{"ECC P-521", Algorithm{KeyType: "ecc", KeySize: 521}, "p521", "unsupported key"},
	}
	for _, tc := range cases {
		_, err := tok.GenerateKey(tc.alg, tc.label)
		if err == nil || !strings.Contains(err.Error(), tc.text) {
			t.Errorf("%s: %v, expected an error with %q", tc.name, err, tc.text)
		}
	}
}

func TestOpenRejects(t *testing.T) {
	cases := []struct {
		name   string
		module string
		label  string
		pin    string
		text   string
	}{
		{"wrong PIN", softhsmtest.ModulePath, testTokenLabel, "000000", "CKR_PIN_INCORRECT"},
		{"unknown token", softhsmtest.ModulePath, "no-such-token", testPIN, "no token labelled"},
		{"missing module", "/nonexistent/libpkcs11.so", testTokenLabel, testPIN, "load PKCS#11 module"},
		{"no label", softhsmtest.ModulePath, "", testPIN, "missing token label"},
	}
	for _, tc := range cases {
		tok, err := Open(tc.module, tc.label, tc.pin)
		if err == nil {
			tok.Close()
			t.Errorf("%s: Open succeeded", tc.name)
			continue
		}
		if !strings.Contains(err.Error(), tc.text) {
			t.Errorf("%s: %v, expected an error with %q", tc.name, err, tc.text)
		}
		if strings.Contains(err.Error(), tc.pin) {
			t.Errorf("%s: the error shows the PIN: %v", tc.name, err)
		}
	}
}

func TestWriteCertificates(t *testing.T) {
	tok := openTestToken(t)
	key, err := tok.GenerateKey(Algorithm{KeyType: "ecc", KeySize: 256}, "write-certs")
	if err != nil {
		t.Fatal(err)
	}
	caCert, caKey := testCA(t)
	leaf := testLeaf(t, caCert, caKey, key.Signer.Public(), 2)

	if err := tok.WriteCertificates(key, leaf, []*x509.Certificate{caCert}); err != nil {
		t.Fatalf("WriteCertificates: %v", err)
	}
	if err := tok.WriteCertificates(key, leaf, []*x509.Certificate{caCert}); err != nil {
		t.Errorf("writing the same certificates again: %v", err)
	}

	stored, err := tok.ctx.FindCertificate(key.ID, nil, nil)
	if err != nil || stored == nil {
		t.Fatalf("certificate beside the key: %v %v", stored, err)
	}
	if string(stored.Raw) != string(leaf.Raw) {
		t.Error("the certificate beside the key is not the leaf")
	}
	if ca, err := tok.ctx.FindCertificate(caCertificateID(caCert), nil, nil); err != nil || ca == nil {
		t.Errorf("CA certificate on the token: %v %v", ca, err)
	}

	other := testLeaf(t, caCert, caKey, key.Signer.Public(), 3)
	if err := tok.WriteCertificates(key, other, nil); err == nil || !strings.Contains(err.Error(), "already contains another certificate") {
		t.Errorf("replacing the certificate: %v, expected an error", err)
	}
}

func testCA(t *testing.T) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	template := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Token Test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func testLeaf(t *testing.T, ca *x509.Certificate, caKey crypto.Signer, public crypto.PublicKey, serial int64) *x509.Certificate {
	t.Helper()
	template := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "Token Test Leaf"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, ca, public, caKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}
