package certformat

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

type testChain struct {
	leaf, intermediate, root *x509.Certificate
}

// newTestChain creates a root, an intermediate and a leaf with real ECDSA keys.
func newTestChain(t *testing.T) testChain {
	t.Helper()
	notBefore := time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)

	rootKey := newKey(t)
	root := createCertificate(t, &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "certformat test root"},
		NotBefore:             notBefore,
		NotAfter:              notBefore.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}, nil, rootKey, rootKey)

	intermediateKey := newKey(t)
	intermediate := createCertificate(t, &x509.Certificate{
		SerialNumber:          big.NewInt(2),
		Subject:               pkix.Name{CommonName: "certformat test intermediate"},
		NotBefore:             notBefore,
		NotAfter:              notBefore.AddDate(5, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}, root, intermediateKey, rootKey)

	leaf := createCertificate(t, &x509.Certificate{
		SerialNumber: big.NewInt(3),
		Subject:      pkix.Name{CommonName: "certformat test leaf", Organization: []string{"Example Corp"}},
		NotBefore:    notBefore,
		NotAfter:     notBefore.AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
	}, intermediate, newKey(t), intermediateKey)

	return testChain{leaf: leaf, intermediate: intermediate, root: root}
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func createCertificate(t *testing.T, template, parent *x509.Certificate, key, parentKey *ecdsa.PrivateKey) *x509.Certificate {
	t.Helper()
	if parent == nil {
		parent = template
	}
	der, err := x509.CreateCertificate(rand.Reader, template, parent, key.Public(), parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func TestEncodePEMFormats(t *testing.T) {
	chain := newTestChain(t)

	tests := []struct {
		format string
		want   []*x509.Certificate
	}{
		{PEMAll, []*x509.Certificate{chain.leaf, chain.intermediate, chain.root}},
		{PEMNoRoot, []*x509.Certificate{chain.leaf, chain.intermediate}},
		{PEMNoIntermediate, []*x509.Certificate{chain.leaf, chain.root}},
	}
	for _, tc := range tests {
		t.Run(tc.format, func(t *testing.T) {
			contentType, body, err := Encode(tc.format, chain.leaf, []*x509.Certificate{chain.intermediate, chain.root})
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}

			if contentType != "application/x-pem-file" {
				t.Errorf("content type = %q, want application/x-pem-file", contentType)
			}
			got := parsePEMCertificates(t, body)
			assertSameCertificates(t, got, tc.want)
		})
	}
}

func TestEncodeP7B(t *testing.T) {
	chain := newTestChain(t)

	contentType, body, err := Encode(P7B, chain.leaf, []*x509.Certificate{chain.intermediate, chain.root})
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}

	if contentType != "application/x-pkcs7-certificates" {
		t.Errorf("content type = %q, want application/x-pkcs7-certificates", contentType)
	}
	got := parsePKCS7Certificates(t, body)
	assertSameCertificates(t, got, []*x509.Certificate{chain.leaf, chain.intermediate, chain.root})
}

// TestEncodeP7BWithOpenSSL reads the PKCS#7 file with openssl, and compares
// it with the file that "openssl crl2pkcs7 -nocrl" writes for the same
// certificates.
func TestEncodeP7BWithOpenSSL(t *testing.T) {
	chain := newTestChain(t)
	dir := t.TempDir()
	_, body, err := Encode(P7B, chain.leaf, []*x509.Certificate{chain.intermediate, chain.root})
	if err != nil {
		t.Fatal(err)
	}
	p7bPath := filepath.Join(dir, "chain.p7b")
	if err := os.WriteFile(p7bPath, body, 0o644); err != nil {
		t.Fatal(err)
	}

	output, err := exec.Command("openssl", "pkcs7", "-inform", "DER", "-in", p7bPath, "-print_certs").CombinedOutput()
	if err != nil {
		t.Fatalf("openssl pkcs7 failed: %v\n%s", err, output)
	}
	got := parsePEMCertificates(t, output)
	assertSameCertificates(t, got, []*x509.Certificate{chain.leaf, chain.intermediate, chain.root})

	_, pemBody, err := Encode(PEMAll, chain.leaf, []*x509.Certificate{chain.intermediate, chain.root})
	if err != nil {
		t.Fatal(err)
	}
	pemPath := filepath.Join(dir, "chain.pem")
	if err := os.WriteFile(pemPath, pemBody, 0o644); err != nil {
		t.Fatal(err)
	}
	reference, err := exec.Command("openssl", "crl2pkcs7", "-nocrl", "-certfile", pemPath, "-outform", "DER").Output()
	if err != nil {
		t.Fatalf("openssl crl2pkcs7 failed: %v", err)
	}
	if !bytes.Equal(body, reference) {
		t.Error("p7b differs from the output of openssl crl2pkcs7 -nocrl")
	}
}

func TestEncodeCER(t *testing.T) {
	chain := newTestChain(t)

	contentType, body, err := Encode(CER, chain.leaf, []*x509.Certificate{chain.intermediate, chain.root})
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}

	if contentType != "application/pkix-cert" {
		t.Errorf("content type = %q, want application/pkix-cert", contentType)
	}
	cert, err := x509.ParseCertificate(body)
	if err != nil {
		t.Fatalf("body is not one DER certificate: %v", err)
	}
	if !cert.Equal(chain.leaf) {
		t.Error("body is not the leaf certificate")
	}

	body[0] ^= 0xff
	if chain.leaf.Raw[0] == body[0] {
		t.Error("body shares memory with leaf.Raw")
	}
}

func TestEncodeCERWithoutChain(t *testing.T) {
	chain := newTestChain(t)

	_, body, err := Encode(CER, chain.leaf, nil)

	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	if !bytes.Equal(body, chain.leaf.Raw) {
		t.Error("body is not the leaf certificate")
	}
}

func TestEncodeListsEachCertificateOnce(t *testing.T) {
	chain := newTestChain(t)

	tests := []struct {
		name  string
		chain []*x509.Certificate
	}{
		{"root repeated", []*x509.Certificate{chain.intermediate, chain.root, chain.root}},
		{"leaf in chain", []*x509.Certificate{chain.leaf, chain.intermediate, chain.root}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, body, err := Encode(PEMAll, chain.leaf, tc.chain)
			if err != nil {
				t.Fatal(err)
			}

			got := parsePEMCertificates(t, body)
			assertSameCertificates(t, got, []*x509.Certificate{chain.leaf, chain.intermediate, chain.root})
		})
	}
}

func TestEncodeRejectsUnknownFormat(t *testing.T) {
	chain := newTestChain(t)

	_, _, err := Encode("pkcs12", chain.leaf, []*x509.Certificate{chain.intermediate, chain.root})

	if !errors.Is(err, ErrUnknownFormat) {
		t.Fatalf("error = %v, want ErrUnknownFormat", err)
	}
	for _, want := range append(Formats(), `"pkcs12"`) {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %s", err, want)
		}
	}
}

func TestEncodeRejectsMissingCertificates(t *testing.T) {
	chain := newTestChain(t)

	tests := []struct {
		name     string
		format   string
		leaf     *x509.Certificate
		chain    []*x509.Certificate
		wantText string
	}{
		{"no leaf", PEMAll, nil, []*x509.Certificate{chain.intermediate, chain.root}, "leaf certificate is missing"},
		{"empty chain", PEMNoRoot, chain.leaf, nil, "issuer chain is empty"},
		{"empty chain p7b", P7B, chain.leaf, nil, "issuer chain is empty"},
		{"nil in chain", PEMNoIntermediate, chain.leaf, []*x509.Certificate{chain.intermediate, nil}, "chain[1] is missing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Encode(tc.format, tc.leaf, tc.chain)

			if err == nil {
				t.Fatal("Encode succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("error %q does not contain %q", err, tc.wantText)
			}
		})
	}
}

func TestFormats(t *testing.T) {
	want := []string{"pem_all", "pem_noroot", "pem_nointermediate", "p7b", "cer"}

	got := Formats()

	if !slices.Equal(got, want) {
		t.Errorf("Formats() = %v, want %v", got, want)
	}
}

func parsePEMCertificates(t *testing.T, data []byte) []*x509.Certificate {
	t.Helper()
	var certs []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			t.Fatalf("PEM block type %q, want CERTIFICATE", block.Type)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		certs = append(certs, cert)
	}
	if rest := strings.TrimSpace(string(data)); rest != "" {
		t.Fatalf("unexpected text after the PEM blocks: %q", rest)
	}
	return certs
}

// parsePKCS7Certificates decodes a degenerate SignedData independently of
// the encoder and returns its certificates.
func parsePKCS7Certificates(t *testing.T, der []byte) []*x509.Certificate {
	t.Helper()
	var contentInfo struct {
		ContentType asn1.ObjectIdentifier
		Content     asn1.RawValue `asn1:"explicit,tag:0"`
	}
	rest, err := asn1.Unmarshal(der, &contentInfo)
	if err != nil || len(rest) != 0 {
		t.Fatalf("ContentInfo: %v, %d trailing bytes", err, len(rest))
	}
	if !contentInfo.ContentType.Equal(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}) {
		t.Fatalf("content type %s, want signedData", contentInfo.ContentType)
	}

	var signedData struct {
		Version          int
		DigestAlgorithms asn1.RawValue
		ContentInfo      struct{ ContentType asn1.ObjectIdentifier }
		Certificates     asn1.RawValue `asn1:"tag:0"`
		SignerInfos      asn1.RawValue
	}
	if _, err := asn1.Unmarshal(contentInfo.Content.Bytes, &signedData); err != nil {
		t.Fatalf("SignedData: %v", err)
	}
	if signedData.Version != 1 {
		t.Errorf("SignedData version %d, want 1", signedData.Version)
	}
	if len(signedData.DigestAlgorithms.Bytes) != 0 || len(signedData.SignerInfos.Bytes) != 0 {
		t.Error("degenerate SignedData has digest algorithms or signer infos")
	}

	certs, err := x509.ParseCertificates(signedData.Certificates.Bytes)
	if err != nil {
		t.Fatalf("certificates: %v", err)
	}
	return certs
}

func assertSameCertificates(t *testing.T, got, want []*x509.Certificate) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d certificates, want %d", len(got), len(want))
	}
	for i := range want {
		if !got[i].Equal(want[i]) {
			t.Errorf("certificate %d is %q, want %q", i, got[i].Subject.CommonName, want[i].Subject.CommonName)
		}
	}
}
