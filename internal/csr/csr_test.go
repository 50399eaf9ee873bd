package csr

import (
	"crypto"
	"crypto/dsa" //nolint:staticcheck // A DSA key is generated only to check that it is rejected.
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// keyCache keeps generated keys for the life of the test binary, because RSA
// key generation dominates the run time otherwise.
var keyCache sync.Map

func cachedKey(tb testing.TB, name string, generate func() (crypto.Signer, error)) crypto.Signer {
	tb.Helper()

	if key, ok := keyCache.Load(name); ok {
		return key.(crypto.Signer)
	}
	key, err := generate()
	if err != nil {
		tb.Fatalf("generate %s key: %v", name, err)
	}
	actual, _ := keyCache.LoadOrStore(name, key)
	return actual.(crypto.Signer)
}

func rsaKey(tb testing.TB, bits int) *rsa.PrivateKey {
	tb.Helper()
	return cachedKey(tb, fmt.Sprintf("rsa%d", bits), func() (crypto.Signer, error) {
		return rsa.GenerateKey(rand.Reader, bits)
	}).(*rsa.PrivateKey)
}

func ecdsaKey(tb testing.TB, curve elliptic.Curve) *ecdsa.PrivateKey {
	tb.Helper()
	return cachedKey(tb, curve.Params().Name, func() (crypto.Signer, error) {
		return ecdsa.GenerateKey(curve, rand.Reader)
	}).(*ecdsa.PrivateKey)
}

func ed25519Key(tb testing.TB) ed25519.PrivateKey {
	tb.Helper()
	return cachedKey(tb, "ed25519", func() (crypto.Signer, error) {
		_, key, err := ed25519.GenerateKey(rand.Reader)
		return key, err
	}).(ed25519.PrivateKey)
}

// csrDER returns a CSR signed by key with the given signature algorithm.
// SignatureAlgorithm 0 lets crypto/x509 choose.
func csrDER(tb testing.TB, key crypto.Signer, algorithm x509.SignatureAlgorithm) []byte {
	tb.Helper()

	template := &x509.CertificateRequest{
		Subject:            pkix.Name{CommonName: "Jane Signer", Organization: []string{"Example Org"}},
		EmailAddresses:     []string{"jane@example.com"},
		SignatureAlgorithm: algorithm,
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, template, key)
	if err != nil {
		tb.Fatalf("create CSR: %v", err)
	}
	return der
}

func pemText(label string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: label, Bytes: der}))
}

func publicKeyDER(tb testing.TB, pub crypto.PublicKey) []byte {
	tb.Helper()

	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		tb.Fatalf("marshal public key: %v", err)
	}
	return der
}

// wrap splits s into lines of width characters.
func wrap(s string, width int) string {
	var lines []string
	for len(s) > width {
		lines = append(lines, s[:width])
		s = s[width:]
	}
	return strings.Join(append(lines, s), "\n")
}

// resignCSR returns the CSR with its signature replaced by one made over the
// same CertificationRequestInfo with the given algorithm. crypto/x509 cannot
// create MD5-signed CSRs, so the test assembles the DER itself (RFC 2986 §4).
func resignCSR(tb testing.TB, der []byte, key *rsa.PrivateKey, algorithm asn1.ObjectIdentifier, hash crypto.Hash, digest []byte) []byte {
	tb.Helper()

	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		tb.Fatalf("parse CSR: %v", err)
	}
	signature, err := rsa.SignPKCS1v15(nil, key, hash, digest)
	if err != nil {
		tb.Fatalf("sign CSR: %v", err)
	}

	request := struct {
		Info      asn1.RawValue
		Algorithm pkix.AlgorithmIdentifier
		Signature asn1.BitString
	}{
		Info:      asn1.RawValue{FullBytes: csr.RawTBSCertificateRequest},
		Algorithm: pkix.AlgorithmIdentifier{Algorithm: algorithm, Parameters: asn1.NullRawValue},
		Signature: asn1.BitString{Bytes: signature, BitLength: 8 * len(signature)},
	}
	resigned, err := asn1.Marshal(request)
	if err != nil {
		tb.Fatalf("marshal CSR: %v", err)
	}
	return resigned
}

func md5CSR(tb testing.TB) []byte {
	tb.Helper()

	key := rsaKey(tb, 2048)
	der := csrDER(tb, key, x509.SHA256WithRSA)
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		tb.Fatalf("parse CSR: %v", err)
	}
	digest := md5.Sum(csr.RawTBSCertificateRequest)
	oidMD5WithRSA := asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 4}
	return resignCSR(tb, der, key, oidMD5WithRSA, crypto.MD5, digest[:])
}

// unknownAlgorithmCSR returns a CSR signed under a signature algorithm OID
// that crypto/x509 does not know.
func unknownAlgorithmCSR(tb testing.TB) []byte {
	tb.Helper()

	key := rsaKey(tb, 2048)
	der := csrDER(tb, key, x509.SHA256WithRSA)
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		tb.Fatalf("parse CSR: %v", err)
	}
	digest := sha256.Sum256(csr.RawTBSCertificateRequest)
	return resignCSR(tb, der, key, asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 55555, 1}, crypto.SHA256, digest[:])
}

func selfSignedCertificate(tb testing.TB) []byte {
	tb.Helper()

	key := ecdsaKey(tb, elliptic.P256())
	template := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "Not a CSR"},
		NotBefore:    time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, key.Public(), key)
	if err != nil {
		tb.Fatalf("create certificate: %v", err)
	}
	return der
}

// dsaPublicKeyDER builds the SubjectPublicKeyInfo of a real DSA key
// (RFC 3279 §2.3.2), which x509.MarshalPKIXPublicKey does not support.
func dsaPublicKeyDER(tb testing.TB) []byte {
	tb.Helper()

	var key dsa.PrivateKey
	if err := dsa.GenerateParameters(&key.Parameters, rand.Reader, dsa.L1024N160); err != nil {
		tb.Fatalf("generate DSA parameters: %v", err)
	}
	if err := dsa.GenerateKey(&key, rand.Reader); err != nil {
		tb.Fatalf("generate DSA key: %v", err)
	}

	parameters, err := asn1.Marshal(struct{ P, Q, G *big.Int }{key.P, key.Q, key.G})
	if err != nil {
		tb.Fatalf("marshal DSA parameters: %v", err)
	}
	y, err := asn1.Marshal(key.Y)
	if err != nil {
		tb.Fatalf("marshal DSA public key: %v", err)
	}
	der, err := asn1.Marshal(subjectPublicKeyInfo{
		Algorithm: pkix.AlgorithmIdentifier{Algorithm: oidDSA, Parameters: asn1.RawValue{FullBytes: parameters}},
		PublicKey: asn1.BitString{Bytes: y, BitLength: 8 * len(y)},
	})
	if err != nil {
		tb.Fatalf("marshal DSA SubjectPublicKeyInfo: %v", err)
	}
	return der
}

// runOpenSSL runs openssl in a temporary directory and returns the contents
// of the file it wrote to out.pem. The directory contains the cached RSA 2048
// key as rsa2048.pem, which saves generating another one. openssl is a
// dependency of the test suite.
func runOpenSSL(t *testing.T, args ...string) string {
	t.Helper()

	dir := t.TempDir()
	pkcs8, err := x509.MarshalPKCS8PrivateKey(rsaKey(t, 2048))
	if err != nil {
		t.Fatalf("marshal PKCS #8: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "rsa2048.pem"), []byte(pemText("PRIVATE KEY", pkcs8)), 0o600); err != nil {
		t.Fatalf("write key: %v", err)
	}

	command := exec.Command("openssl", args...)
	command.Dir = dir
	if output, err := command.CombinedOutput(); err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, output)
	}

	text, err := os.ReadFile(filepath.Join(dir, "out.pem"))
	if err != nil {
		t.Fatalf("read openssl output: %v", err)
	}
	return string(text)
}

// base64Run matches runs of base64 characters long enough to be key material.
var base64Run = regexp.MustCompile(`[A-Za-z0-9+/]{16,}`)

// assertNoEcho fails when message contains any 16-character piece of the
// base64 in input.
func assertNoEcho(t *testing.T, message, input string) {
	t.Helper()

	for _, run := range base64Run.FindAllString(input, -1) {
		for i := 0; i+16 <= len(run); i++ {
			if strings.Contains(message, run[i:i+16]) {
				t.Fatalf("error message %q echoes submitted text %q", message, run[i:i+16])
			}
		}
	}
}

func TestParseNormalizes(t *testing.T) {
	der := csrDER(t, rsaKey(t, 2048), 0)
	canonical := pemText(labelCSR, der)
	body := base64.StdEncoding.EncodeToString(der)
	if !strings.Contains(body, "/") {
		t.Fatalf("test CSR base64 has no '/', so the escaped-slash case would test nothing; run the test again")
	}

	tests := []struct {
		name string
		text string
	}{
		{"canonical PEM", canonical},
		{"NEW CERTIFICATE REQUEST label", strings.ReplaceAll(canonical, labelCSR, labelCSRLegacy)},
		{"CRLF line endings", strings.ReplaceAll(canonical, "\n", "\r\n")},
		{"CR line endings", strings.ReplaceAll(canonical, "\n", "\r")},
		{"base64 on one line", "-----BEGIN CERTIFICATE REQUEST-----\n" + body + "\n-----END CERTIFICATE REQUEST-----\n"},
		{"base64 wrapped at 76 columns", "-----BEGIN CERTIFICATE REQUEST-----\n" + wrap(body, 76) + "\n-----END CERTIFICATE REQUEST-----\n"},
		{"armor on the base64 line", "-----BEGIN CERTIFICATE REQUEST-----" + body + "-----END CERTIFICATE REQUEST-----"},
		{"literal backslash n", strings.ReplaceAll(canonical, "\n", `\n`)},
		{"literal backslash r n", strings.ReplaceAll(canonical, "\n", `\r\n`)},
		{"escaped slashes", strings.ReplaceAll(canonical, "/", `\/`)},
		{"escaped slashes and literal newlines", strings.ReplaceAll(strings.ReplaceAll(canonical, "/", `\/`), "\n", `\n`)},
		{"surrounding whitespace", "\n\t  " + canonical + "  \r\n\n"},
		{"spaces instead of newlines", strings.ReplaceAll(canonical, "\n", " ")},
		{"lowercase label", strings.ReplaceAll(canonical, labelCSR, "certificate request")},
		{"text around the block", "Certificate Request:\n    Data: ...\n" + canonical + "Thank you\n"},
		{"bare base64 on one line", body},
		{"bare base64 wrapped at 64 columns", wrap(body, 64)},
		{"bare base64 without padding", strings.TrimRight(body, "=")},
	}

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			request, err := Parse(tc.text)
			if err != nil {
				t.Fatalf("Parse error: %v", err)
			}
			if request.PEM != canonical {
				t.Errorf("PEM = %q, want %q", request.PEM, canonical)
			}
			if request.CSR == nil {
				t.Fatalf("CSR = nil, want the parsed CSR")
			}
			if string(request.CSR.Raw) != string(der) {
				t.Errorf("CSR.Raw differs from the submitted DER")
			}
			if string(request.PublicKeyDER) != string(request.CSR.RawSubjectPublicKeyInfo) {
				t.Errorf("PublicKeyDER differs from the CSR's SubjectPublicKeyInfo")
			}
			if request.KeyType != "rsa" || request.KeySize != 2048 {
				t.Errorf("key = %s %d, want rsa 2048", request.KeyType, request.KeySize)
			}
		})
	}
}

func TestParseCanonicalPEMLines(t *testing.T) {
	der := csrDER(t, rsaKey(t, 2048), 0)
	body := base64.StdEncoding.EncodeToString(der)

	request, err := Parse(body)
	if err != nil {
		t.Fatalf("Parse error: %v", err)
	}

	lines := strings.Split(strings.TrimSuffix(request.PEM, "\n"), "\n")
	if lines[0] != "-----BEGIN CERTIFICATE REQUEST-----" {
		t.Errorf("first line = %q, want the CERTIFICATE REQUEST BEGIN line", lines[0])
	}
	if last := lines[len(lines)-1]; last != "-----END CERTIFICATE REQUEST-----" {
		t.Errorf("last line = %q, want the CERTIFICATE REQUEST END line", last)
	}
	for i, line := range lines[1 : len(lines)-2] {
		if len(line) != 64 {
			t.Errorf("line %d has %d characters, want 64", i+2, len(line))
		}
	}
	if last := lines[len(lines)-2]; len(last) == 0 || len(last) > 64 {
		t.Errorf("last base64 line has %d characters, want 1 to 64", len(last))
	}
}

func TestParseAllowedKeys(t *testing.T) {
	tests := []struct {
		name     string
		key      crypto.Signer
		wantType string
		wantSize int
	}{
		{"RSA 2048", rsaKey(t, 2048), "rsa", 2048},
		{"RSA 3072", rsaKey(t, 3072), "rsa", 3072},
		{"RSA 4096", rsaKey(t, 4096), "rsa", 4096},
		{"ECDSA P-256", ecdsaKey(t, elliptic.P256()), "ecc", 256},
		{"ECDSA P-384", ecdsaKey(t, elliptic.P384()), "ecc", 384},
	}

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			request, err := Parse(pemText(labelCSR, csrDER(t, tc.key, 0)))
			if err != nil {
				t.Fatalf("Parse error: %v", err)
			}
			if request.KeyType != tc.wantType || request.KeySize != tc.wantSize {
				t.Errorf("key = %s %d, want %s %d", request.KeyType, request.KeySize, tc.wantType, tc.wantSize)
			}
			if !tc.key.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(request.PublicKey) {
				t.Errorf("PublicKey differs from the key that signed the CSR")
			}
		})
	}
}

func TestParsePublicKeyBlock(t *testing.T) {
	tests := []struct {
		name     string
		key      crypto.Signer
		wantType string
		wantSize int
	}{
		{"RSA 2048", rsaKey(t, 2048), "rsa", 2048},
		{"ECDSA P-384", ecdsaKey(t, elliptic.P384()), "ecc", 384},
	}

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			der := publicKeyDER(t, tc.key.Public())
			canonical := pemText(labelPublicKey, der)

			for _, text := range []string{canonical, base64.StdEncoding.EncodeToString(der), strings.ReplaceAll(canonical, "\n", `\r\n`)} {
				request, err := Parse(text)
				if err != nil {
					t.Fatalf("Parse error: %v", err)
				}
				if request.CSR != nil {
					t.Errorf("CSR = %v, want nil for a public key", request.CSR)
				}
				if request.PEM != canonical {
					t.Errorf("PEM = %q, want %q", request.PEM, canonical)
				}
				if string(request.PublicKeyDER) != string(der) {
					t.Errorf("PublicKeyDER differs from the submitted DER")
				}
				if request.KeyType != tc.wantType || request.KeySize != tc.wantSize {
					t.Errorf("key = %s %d, want %s %d", request.KeyType, request.KeySize, tc.wantType, tc.wantSize)
				}
			}
		})
	}
}

func TestParseSignatures(t *testing.T) {
	tests := []struct {
		name    string
		key     crypto.Signer
		alg     x509.SignatureAlgorithm
		wantAlg x509.SignatureAlgorithm
	}{
		{"SHA-1 with RSA", rsaKey(t, 2048), x509.SHA1WithRSA, x509.SHA1WithRSA},
		{"ECDSA with SHA-1", ecdsaKey(t, elliptic.P256()), x509.ECDSAWithSHA1, x509.ECDSAWithSHA1},
		{"SHA-256 with RSA", rsaKey(t, 2048), x509.SHA256WithRSA, x509.SHA256WithRSA},
		{"SHA-384 with RSA-PSS", rsaKey(t, 2048), x509.SHA384WithRSAPSS, x509.SHA384WithRSAPSS},
		{"ECDSA with SHA-384", ecdsaKey(t, elliptic.P384()), x509.ECDSAWithSHA384, x509.ECDSAWithSHA384},
	}

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			request, err := Parse(pemText(labelCSR, csrDER(t, tc.key, tc.alg)))
			if err != nil {
				t.Fatalf("Parse error: %v", err)
			}
			if request.CSR.SignatureAlgorithm != tc.wantAlg {
				t.Errorf("SignatureAlgorithm = %v, want %v", request.CSR.SignatureAlgorithm, tc.wantAlg)
			}
		})
	}
}

func TestParseRejectsKeys(t *testing.T) {
	x25519, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatalf("generate X25519 key: %v", err)
	}

	tests := []struct {
		name      string
		text      string
		wantFound string
	}{
		{"RSA 1024 CSR", pemText(labelCSR, csrDER(t, rsaKey(t, 1024), 0)), "found RSA 1024"},
		{"ECDSA P-224 CSR", pemText(labelCSR, csrDER(t, ecdsaKey(t, elliptic.P224()), 0)), "found ECDSA P-224"},
		{"ECDSA P-521 CSR", pemText(labelCSR, csrDER(t, ecdsaKey(t, elliptic.P521()), 0)), "found ECDSA P-521"},
		{"Ed25519 CSR", pemText(labelCSR, csrDER(t, ed25519Key(t), 0)), "found Ed25519"},
		{"Ed25519 public key", pemText(labelPublicKey, publicKeyDER(t, ed25519Key(t).Public())), "found Ed25519"},
		{"X25519 public key", pemText(labelPublicKey, publicKeyDER(t, x25519.PublicKey())), "found X25519"},
		{"RSA 1024 public key", pemText(labelPublicKey, publicKeyDER(t, rsaKey(t, 1024).Public())), "found RSA 1024"},
		{"DSA public key", pemText(labelPublicKey, dsaPublicKeyDER(t)), "found DSA 1024"},
		{"DSA public key as bare base64", base64.StdEncoding.EncodeToString(dsaPublicKeyDER(t)), "found DSA 1024"},
	}

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			request, err := Parse(tc.text)
			if err == nil {
				t.Fatalf("Parse = %+v, want an error", request)
			}
			if !errors.Is(err, ErrKeyNotAllowed) {
				t.Errorf("error %q does not wrap ErrKeyNotAllowed", err)
			}
			if !strings.Contains(err.Error(), tc.wantFound) {
				t.Errorf("error %q does not contain %q", err, tc.wantFound)
			}
			if !strings.Contains(err.Error(), "RSA 2048/3072/4096 or ECDSA P-256/P-384") {
				t.Errorf("error %q does not list the allowed keys", err)
			}
		})
	}
}

func TestParseOpenSSL(t *testing.T) {
	newCSR := func(keyArgs ...string) []string {
		return append([]string{"req", "-new", "-subj", "/CN=Jane Signer/O=Example Org", "-out", "out.pem"}, keyArgs...)
	}

	tests := []struct {
		name      string
		args      []string
		wantType  string
		wantSize  int
		wantError error
		wantFound string
		// wantSignature is checked when it is not UnknownSignatureAlgorithm.
		wantSignature x509.SignatureAlgorithm
	}{
		{
			name:     "ECDSA P-256 CSR",
			args:     newCSR("-nodes", "-keyout", "key.pem", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"),
			wantType: "ecc",
			wantSize: 256,
		},
		{
			name:          "RSA 2048 CSR signed with SHA-1",
			args:          newCSR("-key", "rsa2048.pem", "-sha1"),
			wantType:      "rsa",
			wantSize:      2048,
			wantSignature: x509.SHA1WithRSA,
		},
		{
			name:      "brainpoolP256r1 CSR",
			args:      newCSR("-nodes", "-keyout", "key.pem", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:brainpoolP256r1"),
			wantError: ErrKeyNotAllowed,
			wantFound: "found ECDSA brainpoolP256r1",
		},
		{
			name:      "secp256k1 CSR",
			args:      newCSR("-nodes", "-keyout", "key.pem", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:secp256k1"),
			wantError: ErrKeyNotAllowed,
			wantFound: "found ECDSA secp256k1",
		},
		{
			name:      "Ed448 CSR",
			args:      newCSR("-nodes", "-keyout", "key.pem", "-newkey", "ed448"),
			wantError: ErrKeyNotAllowed,
			wantFound: "found Ed448",
		},
		{
			name:      "RSA-PSS key CSR",
			args:      newCSR("-nodes", "-keyout", "key.pem", "-newkey", "rsa-pss", "-pkeyopt", "rsa_keygen_bits:2048"),
			wantError: ErrKeyNotAllowed,
			wantFound: "found RSASSA-PSS",
		},
	}

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			text := runOpenSSL(t, tc.args...)

			request, err := Parse(text)
			if tc.wantError != nil {
				if !errors.Is(err, tc.wantError) {
					t.Fatalf("Parse error = %v, want one wrapping %q", err, tc.wantError)
				}
				if !strings.Contains(err.Error(), tc.wantFound) {
					t.Errorf("error %q does not contain %q", err, tc.wantFound)
				}
				return
			}

			if err != nil {
				t.Fatalf("Parse error: %v", err)
			}
			if request.KeyType != tc.wantType || request.KeySize != tc.wantSize {
				t.Errorf("key = %s %d, want %s %d", request.KeyType, request.KeySize, tc.wantType, tc.wantSize)
			}
			if request.PEM != text {
				t.Errorf("PEM = %q, want the OpenSSL output %q", request.PEM, text)
			}
			if tc.wantSignature != x509.UnknownSignatureAlgorithm && request.CSR.SignatureAlgorithm != tc.wantSignature {
				t.Errorf("SignatureAlgorithm = %v, want %v", request.CSR.SignatureAlgorithm, tc.wantSignature)
			}
		})
	}
}

func TestParseOpenSSLPublicKey(t *testing.T) {
	key := runOpenSSL(t, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:brainpoolP384r1", "-out", "out.pem")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "key.pem"), []byte(key), 0o600); err != nil {
		t.Fatalf("write key: %v", err)
	}
	command := exec.Command("openssl", "pkey", "-in", "key.pem", "-pubout")
	command.Dir = dir
	public, err := command.Output()
	if err != nil {
		t.Fatalf("openssl pkey -pubout: %v", err)
	}

	_, err = Parse(string(public))
	if !errors.Is(err, ErrKeyNotAllowed) {
		t.Fatalf("Parse error = %v, want one wrapping ErrKeyNotAllowed", err)
	}
	if !strings.Contains(err.Error(), "found ECDSA brainpoolP384r1") {
		t.Errorf("error %q does not name the curve", err)
	}
}

func TestParseRejectsPrivateKeys(t *testing.T) {
	rsaPrivate := rsaKey(t, 2048)
	ecPrivate := ecdsaKey(t, elliptic.P256())

	pkcs8, err := x509.MarshalPKCS8PrivateKey(rsaPrivate)
	if err != nil {
		t.Fatalf("marshal PKCS #8: %v", err)
	}
	pkcs1 := x509.MarshalPKCS1PrivateKey(rsaPrivate)
	sec1, err := x509.MarshalECPrivateKey(ecPrivate)
	if err != nil {
		t.Fatalf("marshal SEC 1: %v", err)
	}
	csr := pemText(labelCSR, csrDER(t, rsaPrivate, 0))

	tests := []struct {
		name string
		text string
	}{
		{"PRIVATE KEY block", pemText("PRIVATE KEY", pkcs8)},
		{"RSA PRIVATE KEY block", pemText("RSA PRIVATE KEY", pkcs1)},
		{"EC PRIVATE KEY block", pemText("EC PRIVATE KEY", sec1)},
		{"ENCRYPTED PRIVATE KEY block", pemText("ENCRYPTED PRIVATE KEY", pkcs8)},
		{"OPENSSH PRIVATE KEY block", pemText("OPENSSH PRIVATE KEY", pkcs8)},
		{"private key after the CSR", csr + pemText("PRIVATE KEY", pkcs8)},
		{"private key before the CSR", pemText("RSA PRIVATE KEY", pkcs1) + csr},
		{"private key with literal newlines", strings.ReplaceAll(pemText("PRIVATE KEY", pkcs8), "\n", `\n`)},
		{"private key without END line", strings.SplitAfter(pemText("EC PRIVATE KEY", sec1), "\n")[0] + base64.StdEncoding.EncodeToString(sec1)},
		{"PKCS #8 as bare base64", base64.StdEncoding.EncodeToString(pkcs8)},
		{"PKCS #1 as bare base64", wrap(base64.StdEncoding.EncodeToString(pkcs1), 64)},
		{"SEC 1 as bare base64", base64.StdEncoding.EncodeToString(sec1)},
		{"private key labeled as CSR", pemText(labelCSR, pkcs8)},
		{"private key labeled as public key", pemText(labelPublicKey, sec1)},
	}

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			request, err := Parse(tc.text)
			if err == nil {
				t.Fatalf("Parse = %+v, want an error", request)
			}
			if !errors.Is(err, ErrUnparseable) {
				t.Errorf("error does not wrap ErrUnparseable")
			}
			if !strings.Contains(err.Error(), "private key, which must never be sent") {
				t.Errorf("error %q does not say that a private key was sent", err)
			}
			if strings.Contains(err.Error(), "PRIVATE KEY") {
				t.Errorf("error %q echoes the PEM label", err)
			}
			assertNoEcho(t, err.Error(), tc.text)
		})
	}
}

func TestParseRejectsUnparseable(t *testing.T) {
	der := csrDER(t, rsaKey(t, 2048), 0)
	canonical := pemText(labelCSR, der)
	body := base64.StdEncoding.EncodeToString(der)

	tampered := append([]byte(nil), der...)
	tampered[len(tampered)-1] ^= 0x01
	tamperedECDSA := csrDER(t, ecdsaKey(t, elliptic.P256()), 0)
	tamperedECDSA = append([]byte(nil), tamperedECDSA...)
	tamperedECDSA[len(tamperedECDSA)-1] ^= 0x01

	certificate := selfSignedCertificate(t)

	tests := []struct {
		name       string
		text       string
		wantReason string
	}{
		{"empty text", "", "the CSR is empty"},
		{"whitespace only", " \r\n\t", "the CSR is empty"},
		{"escape sequences only", `\r\n\n`, "the CSR is empty"},
		{"longer than 64 KiB", canonical + strings.Repeat(" ", MaxInputSize), "exceeds the limit of 65536 bytes"},
		{"tampered RSA signature", pemText(labelCSR, tampered), "does not verify"},
		{"tampered ECDSA signature", pemText(labelCSR, tamperedECDSA), "does not verify"},
		{"MD5 signature", pemText(labelCSR, md5CSR(t)), "signed with MD5-RSA, which is not accepted"},
		{"unknown signature algorithm", pemText(labelCSR, unknownAlgorithmCSR(t)), "unsupported signature algorithm"},
		{"certificate block", pemText("CERTIFICATE", certificate), "is a certificate, not a CSR"},
		{"certificate as bare base64", base64.StdEncoding.EncodeToString(certificate), "is a certificate, not a CSR"},
		{"PKCS #1 public key block", pemText("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&rsaKey(t, 2048).PublicKey)), "PKCS #1 RSA public key"},
		{"PKCS #7 block", pemText("PKCS7", der), "PKCS #7"},
		{"unknown label", pemText("SOMETHING ELSE", der), "has a type that is not accepted"},
		{"empty label", pemText("", der), "no label"},
		{"missing END line", strings.Split(canonical, "-----END")[0], "has no END line"},
		{"mismatched END label", strings.Replace(canonical, "END CERTIFICATE REQUEST", "END PUBLIC KEY", 1), "differs from the BEGIN line"},
		{"BEGIN line without dashes", "-----BEGIN CERTIFICATE REQUEST\n" + body, "does not end with five dashes"},
		{"END line without dashes", "-----BEGIN CERTIFICATE REQUEST-----\n" + body + "\n-----END CERTIFICATE REQUEST", "does not end with five dashes"},
		{"two CSR blocks", canonical + canonical, "more than one PEM block"},
		{"invalid base64 in block", "-----BEGIN CERTIFICATE REQUEST-----\n" + body[:40] + "!" + body[41:] + "\n-----END CERTIFICATE REQUEST-----", "invalid base64 at character 40"},
		{"empty block", "-----BEGIN CERTIFICATE REQUEST-----\n-----END CERTIFICATE REQUEST-----", "the PEM block is empty"},
		{"truncated CSR", pemText(labelCSR, der[:len(der)/2]), "not a valid DER-encoded PKCS #10"},
		{"CSR with trailing bytes", pemText(labelCSR, append(append([]byte(nil), der...), 0, 0)), "not a valid DER-encoded PKCS #10"},
		{"public key labeled as CSR", pemText(labelCSR, publicKeyDER(t, rsaKey(t, 2048).Public())), "not a valid DER-encoded PKCS #10"},
		{"CSR labeled as public key", pemText(labelPublicKey, der), "not a valid DER-encoded SubjectPublicKeyInfo"},
		{"plain words", "please issue my certificate", "no PEM BEGIN line"},
		{"bare base64 of garbage", base64.StdEncoding.EncodeToString([]byte("this is not DER at all, only text")), "no PEM BEGIN line"},
		{"bare text with invalid characters", "MIIB-not*base64", "not valid base64"},
	}

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			request, err := Parse(tc.text)
			if err == nil {
				t.Fatalf("Parse = %+v, want an error", request)
			}
			if !errors.Is(err, ErrUnparseable) {
				t.Errorf("error %q does not wrap ErrUnparseable", err)
			}
			if errors.Is(err, ErrKeyNotAllowed) {
				t.Errorf("error %q wraps ErrKeyNotAllowed", err)
			}
			if !strings.Contains(err.Error(), tc.wantReason) {
				t.Errorf("error %q does not contain %q", err, tc.wantReason)
			}
			assertNoEcho(t, err.Error(), tc.text)
		})
	}
}

// rsaPublicKeyOfSize returns an RSA public key whose modulus has the given
// bit length. CheckKey reads only the bit length, so the modulus need not be
// a product of two primes, and sizes such as 8192 cost no key generation.
func rsaPublicKeyOfSize(bits int) *rsa.PublicKey {
	n := new(big.Int).Lsh(big.NewInt(1), uint(bits-1))
	return &rsa.PublicKey{N: n.Add(n, big.NewInt(1)), E: 65537}
}

func TestCheckKey(t *testing.T) {
	x25519, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatalf("generate X25519 key: %v", err)
	}
	p256ECDH, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatalf("generate ECDH P-256 key: %v", err)
	}

	tests := []struct {
		name      string
		key       crypto.PublicKey
		wantType  string
		wantSize  int
		wantFound string
	}{
		{name: "RSA 2048", key: rsaKey(t, 2048).Public(), wantType: "rsa", wantSize: 2048},
		{name: "RSA 3072", key: rsaKey(t, 3072).Public(), wantType: "rsa", wantSize: 3072},
		{name: "RSA 4096", key: rsaKey(t, 4096).Public(), wantType: "rsa", wantSize: 4096},
		{name: "ECDSA P-256", key: ecdsaKey(t, elliptic.P256()).Public(), wantType: "ecc", wantSize: 256},
		{name: "ECDSA P-384", key: ecdsaKey(t, elliptic.P384()).Public(), wantType: "ecc", wantSize: 384},
		{name: "RSA 1024", key: rsaKey(t, 1024).Public(), wantFound: "found RSA 1024"},
		{name: "RSA 2047", key: rsaPublicKeyOfSize(2047), wantFound: "found RSA 2047"},
		{name: "RSA 2049", key: rsaPublicKeyOfSize(2049), wantFound: "found RSA 2049"},
		{name: "RSA 8192", key: rsaPublicKeyOfSize(8192), wantFound: "found RSA 8192"},
		{name: "RSA without modulus", key: &rsa.PublicKey{E: 65537}, wantFound: "an RSA key without a modulus"},
		{name: "nil RSA key", key: (*rsa.PublicKey)(nil), wantFound: "an RSA key without a modulus"},
		{name: "ECDSA P-224", key: ecdsaKey(t, elliptic.P224()).Public(), wantFound: "found ECDSA P-224"},
		{name: "ECDSA P-521", key: ecdsaKey(t, elliptic.P521()).Public(), wantFound: "found ECDSA P-521"},
		{name: "ECDSA without curve", key: &ecdsa.PublicKey{}, wantFound: "an ECDSA key without a curve"},
		{name: "Ed25519", key: ed25519Key(t).Public(), wantFound: "found Ed25519"},
		{name: "DSA", key: &dsa.PublicKey{Parameters: dsa.Parameters{P: rsaPublicKeyOfSize(2048).N}}, wantFound: "found DSA 2048"},
		{name: "X25519", key: x25519.PublicKey(), wantFound: "found X25519"},
		{name: "ECDH P-256", key: p256ECDH.PublicKey(), wantFound: "found ECDH P-256"},
		{name: "nil key", key: nil, wantFound: "found no public key of a known algorithm"},
		{name: "unknown Go type", key: "not a key", wantFound: "found a public key of Go type string"},
	}

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			keyType, keySize, err := CheckKey(tc.key)

			if tc.wantFound == "" {
				if err != nil {
					t.Fatalf("CheckKey error: %v", err)
				}
				if keyType != tc.wantType || keySize != tc.wantSize {
					t.Errorf("CheckKey = %s %d, want %s %d", keyType, keySize, tc.wantType, tc.wantSize)
				}
				return
			}

			if !errors.Is(err, ErrKeyNotAllowed) {
				t.Fatalf("CheckKey error = %v, want one wrapping ErrKeyNotAllowed", err)
			}
			if !strings.Contains(err.Error(), tc.wantFound) {
				t.Errorf("error %q does not contain %q", err, tc.wantFound)
			}
			if !strings.Contains(err.Error(), "RSA 2048/3072/4096 or ECDSA P-256/P-384") {
				t.Errorf("error %q does not list the allowed keys", err)
			}
			if keyType != "" || keySize != 0 {
				t.Errorf("CheckKey = %q %d with an error, want \"\" 0", keyType, keySize)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	rsaDER := csrDER(f, rsaKey(f, 2048), 0)
	ecdsaDER := csrDER(f, ecdsaKey(f, elliptic.P256()), x509.ECDSAWithSHA1)
	publicDER := publicKeyDER(f, ecdsaKey(f, elliptic.P384()).Public())

	f.Add(pemText(labelCSR, rsaDER))
	f.Add(pemText(labelCSRLegacy, ecdsaDER))
	f.Add(pemText(labelPublicKey, publicDER))
	f.Add(base64.StdEncoding.EncodeToString(rsaDER))
	f.Add(strings.ReplaceAll(pemText(labelCSR, ecdsaDER), "\n", `\r\n`))
	f.Add("-----BEGIN CERTIFICATE REQUEST-----" + base64.StdEncoding.EncodeToString(ecdsaDER) + "-----END CERTIFICATE REQUEST-----")
	f.Add(pemText("CERTIFICATE", selfSignedCertificate(f)))
	f.Add("-----BEGIN -----\n-----END -----")
	f.Add(`\/\n\r`)
	f.Add("")

	f.Fuzz(func(t *testing.T, text string) {
		request, err := Parse(text)

		if err != nil {
			if !errors.Is(err, ErrUnparseable) && !errors.Is(err, ErrKeyNotAllowed) {
				t.Fatalf("Parse error %q wraps neither ErrUnparseable nor ErrKeyNotAllowed", err)
			}
			return
		}

		if _, _, err := CheckKey(request.PublicKey); err != nil {
			t.Fatalf("Parse accepted a key that CheckKey rejects: %v", err)
		}
		if _, err := Parse(request.PEM); err != nil {
			t.Fatalf("Parse of the canonical PEM failed: %v", err)
		}
	})
}

func BenchmarkParseRSA2048(b *testing.B) {
	text := pemText(labelCSR, csrDER(b, rsaKey(b, 2048), 0))

	for b.Loop() {
		if _, err := Parse(text); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseP256(b *testing.B) {
	text := pemText(labelCSR, csrDER(b, ecdsaKey(b, elliptic.P256()), 0))

	for b.Loop() {
		if _, err := Parse(text); err != nil {
			b.Fatal(err)
		}
	}
}
