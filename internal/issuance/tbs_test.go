package issuance

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"math/big"
	"testing"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/keys"
)

// TestEncodeTBSMatchesCreateCertificate checks encodeTBS against the
// TBSCertificate that crypto/x509.CreateCertificate writes for newTemplate's
// template, one case per field that changes the encoding.
func TestEncodeTBSMatchesCreateCertificate(t *testing.T) {
	rsaAuthority := sharedFixture(t).authority
	p256Authority := ecdsaAuthority(t, keys.ECDSAP256)
	p384Authority := ecdsaAuthority(t, keys.ECDSAP384)

	tests := []struct {
		name      string
		authority *Authority
		mutate    func(*Request)
	}{
		{name: "RSA issuer, all fields", authority: rsaAuthority},
		{name: "P-256 issuer", authority: p256Authority},
		{name: "P-384 issuer with SHA-384", authority: p384Authority, mutate: func(r *Request) { r.SignatureHash = crypto.SHA384 }},
		{name: "RSA issuer with SHA-512", authority: rsaAuthority, mutate: func(r *Request) { r.SignatureHash = crypto.SHA512 }},
		{name: "RSA-2048 subscriber key", authority: p256Authority, mutate: func(r *Request) { r.PublicKey = subscriberKey(t, "rsa-2048").Public() }},
		{name: "P-384 subscriber key", authority: p256Authority, mutate: func(r *Request) { r.PublicKey = subscriberKey(t, "p-384").Public() }},
		{name: "no locality or province", authority: p256Authority, mutate: func(r *Request) { r.Locality, r.Province = "", "" }},
		{name: "UTF-8 subject", authority: p256Authority, mutate: func(r *Request) {
			r.CommonName, r.Organization, r.Locality = "Müller & Söhne – Rechtsabteilung", "Müller & Söhne GmbH", "Köln"
		}},
		{name: "asterisk in PrintableString range", authority: p256Authority, mutate: func(r *Request) { r.CommonName = "Example * Legal" }},
		{name: "one usage", authority: p256Authority, mutate: func(r *Request) { r.Usages = []string{UsageDocumentSigning} }},
		{name: "CRL URL only", authority: p256Authority, mutate: func(r *Request) { r.CRLURL = "http://crl.example.com/ds.crl" }},
		{name: "OCSP URL only", authority: p256Authority, mutate: func(r *Request) { r.OCSPURL = "http://ocsp.example.com" }},
		{name: "issuer URL only", authority: p256Authority, mutate: func(r *Request) { r.IssuerURL = "http://ca.example.com/issuer.cer" }},
		{name: "every URL", authority: rsaAuthority, mutate: func(r *Request) {
			r.CRLURL, r.OCSPURL, r.IssuerURL = "http://crl.example.com/ds.crl", "https://ocsp.example.com/", "http://ca.example.com/issuer.cer"
		}},
		{name: "serial with high bit set", authority: p256Authority, mutate: func(r *Request) {
			r.Serial = new(big.Int).Lsh(big.NewInt(1), maxSerialBits-1)
		}},
		{name: "one-byte serial", authority: p256Authority, mutate: func(r *Request) { r.Serial = big.NewInt(1) }},
		{name: "times with nanoseconds", authority: p256Authority, mutate: func(r *Request) {
			r.NotBefore = r.NotBefore.Add(123456789 * time.Nanosecond)
			r.NotAfter = r.NotAfter.Add(987654321 * time.Nanosecond)
		}},
		{name: "non-UTC time zone", authority: p256Authority, mutate: func(r *Request) {
			zone := time.FixedZone("UTC+5", 5*3600)
			r.NotBefore, r.NotAfter = r.NotBefore.In(zone), r.NotAfter.In(zone)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := validRequest(t)
			req.CRLURL, req.OCSPURL, req.IssuerURL = "http://crl.example.com/ds.crl", "http://ocsp.example.com", "http://ca.example.com/issuer.cer"
			if tc.mutate != nil {
				tc.mutate(&req)
			}
			if err := validateRequest(&req, tc.authority.issuer.Cert); err != nil {
				t.Fatalf("request of this case is invalid: %v", err)
			}
			sigAlg, err := signatureAlgorithm(tc.authority.issuer.Cert.PublicKey, req.SignatureHash)
			if err != nil {
				t.Fatal(err)
			}

			got, err := encodeTBS(&req, sigAlg, tc.authority.issuer.Cert)
			if err != nil {
				t.Fatalf("encodeTBS: %v", err)
			}

			want := createCertificateTBS(t, tc.authority, &req, sigAlg)
			if !bytes.Equal(got, want) {
				t.Errorf("encodeTBS differs from crypto/x509's encoding\n got %x\nwant %x", got, want)
			}
		})
	}
}

// TestEncodeTBSGeneralizedTimeFrom2050 checks the switch from UTCTime to
// GeneralizedTime of RFC 5280 §4.1.2.5 against crypto/x509. Neither encoder
// compares the times with the issuer's validity, which validateRequest does.
func TestEncodeTBSGeneralizedTimeFrom2050(t *testing.T) {
	authority := ecdsaAuthority(t, keys.ECDSAP256)
	req := validRequest(t)
	req.NotBefore = time.Date(2049, time.December, 31, 23, 59, 59, 0, time.UTC)
	req.NotAfter = time.Date(2050, time.January, 1, 0, 0, 0, 0, time.UTC)

	got, err := encodeTBS(&req, x509.ECDSAWithSHA256, authority.issuer.Cert)
	if err != nil {
		t.Fatal(err)
	}

	want := createCertificateTBS(t, authority, &req, x509.ECDSAWithSHA256)
	if !bytes.Equal(got, want) {
		t.Errorf("encodeTBS differs from crypto/x509's encoding\n got %x\nwant %x", got, want)
	}
	if !bytes.Contains(got, []byte("20500101000000Z")) {
		t.Error("notAfter in 2050 is not a GeneralizedTime")
	}
	if !bytes.Contains(got, []byte("491231235959Z")) {
		t.Error("notBefore in 2049 is not a UTCTime")
	}
}

func TestEncodeTBSRejectsUnknownAlgorithm(t *testing.T) {
	req := validRequest(t)

	_, err := encodeTBS(&req, x509.SHA256WithRSAPSS, sharedFixture(t).authority.issuer.Cert)
	if err == nil {
		t.Fatal("encodeTBS accepted RSA-PSS, which signatureAlgorithm never selects")
	}
}

// createCertificateTBS returns the TBSCertificate that crypto/x509 writes for
// the profile's template of req under the authority's mirror.
func createCertificateTBS(t *testing.T, authority *Authority, req *Request, sigAlg x509.SignatureAlgorithm) []byte {
	t.Helper()

	template, err := newTemplate(req, sigAlg)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificate(rand.Reader, template, authority.mirror, req.PublicKey, authority.mirrorSigner)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert.RawTBSCertificate
}
