package ca

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/keys"
)

func TestCheckIssuingCA(t *testing.T) {
	root := newTestRoot(t)
	key, err := keys.Generate(keys.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	otherKey, err := keys.Generate(keys.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(root.currentIntermediate(t, "Check CA", key.Public()))
	if err != nil {
		t.Fatal(err)
	}
	noCRLSign := *cert
	noCRLSign.KeyUsage = x509.KeyUsageCertSign
	notCA := *cert
	notCA.IsCA = false

	tests := []struct {
		name        string
		cert        *x509.Certificate
		now         time.Time
		wantText    string
		wantExpired bool
	}{
		{name: "valid", cert: cert, now: time.Now()},
		{name: "key mismatch", cert: cert, now: time.Now(), wantText: "does not match"},
		{name: "no cRLSign", cert: &noCRLSign, now: time.Now(), wantText: "lacks keyCertSign or cRLSign"},
		{name: "not a CA", cert: &notCA, now: time.Now(), wantText: "not a CA certificate"},
		{name: "expired", cert: cert, now: cert.NotAfter.Add(time.Second), wantText: "expired at", wantExpired: true},
		{name: "not yet valid", cert: cert, now: cert.NotBefore.Add(-time.Second), wantText: "valid from", wantExpired: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			signer := key
			if tc.name == "key mismatch" {
				signer = otherKey
			}

			err := CheckIssuingCA(tc.cert, signer, tc.now)
			if tc.wantText == "" {
				if err != nil {
					t.Fatalf("CheckIssuingCA: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantText) {
				t.Fatalf("CheckIssuingCA: got %v, want an error containing %q", err, tc.wantText)
			}
			if errors.Is(err, ErrOutsideValidity) != tc.wantExpired {
				t.Errorf("errors.Is(err, ErrOutsideValidity) = %v, want %v", !tc.wantExpired, tc.wantExpired)
			}
		})
	}
}

func TestCheckIssuingCAReportsAllProblems(t *testing.T) {
	root := newTestRoot(t)
	key, _ := keys.Generate(keys.ECDSAP256)
	otherKey, _ := keys.Generate(keys.ECDSAP256)
	cert, err := x509.ParseCertificate(root.currentIntermediate(t, "Two problems", key.Public()))
	if err != nil {
		t.Fatal(err)
	}

	err = CheckIssuingCA(cert, otherKey, cert.NotAfter.Add(time.Hour))
	if err == nil {
		t.Fatal("CheckIssuingCA succeeded, want two problems")
	}
	for _, want := range []string{"does not match", "expired at"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error %q spans several lines", err)
	}
}

func TestCreateCACertificateRejects(t *testing.T) {
	root := newTestRoot(t)
	key, _ := keys.Generate(keys.ECDSAP256)
	now := time.Now()
	valid := CACertificateRequest{
		Subject: pkix.Name{CommonName: "Issuing"}, PublicKey: key.Public(),
		NotBefore: now, NotAfter: now.AddDate(5, 0, 0), MaxPathLen: 0,
	}

	tests := []struct {
		name     string
		change   func(*CACertificateRequest)
		parent   *x509.Certificate
		wantText string
	}{
		{name: "no common name", change: func(r *CACertificateRequest) { r.Subject.CommonName = " " }, parent: root.cert, wantText: "no common name"},
		{name: "reversed validity", change: func(r *CACertificateRequest) { r.NotAfter = r.NotBefore.Add(-time.Hour) }, parent: root.cert, wantText: "is not after"},
		{name: "outlives the root", change: func(r *CACertificateRequest) { r.NotAfter = now.AddDate(30, 0, 0) }, parent: root.cert, wantText: "not within the parent's"},
		{name: "path length not below the root's", change: func(r *CACertificateRequest) { r.MaxPathLen = 1 }, parent: root.cert, wantText: "not below the parent's 1"},
		{name: "unlimited path under a limited root", change: func(r *CACertificateRequest) { r.MaxPathLen = -1 }, parent: root.cert, wantText: "not below"},
		{name: "ldap CRL URL", change: func(r *CACertificateRequest) { r.CRLURLs = []string{"ldap://dir.example.test/cn=crl"} }, parent: root.cert, wantText: "not an absolute http"},
		{name: "root with URLs", change: func(r *CACertificateRequest) {
			r.PublicKey = root.signer.Public()
			r.OCSPURLs = []string{"http://ocsp.example.test"}
		},
			parent: nil, wantText: "self-signed root takes no"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := valid
			tc.change(&req)
			_, _, _, err := CreateCACertificate(req, tc.parent, root.signer)
			if err == nil || !strings.Contains(err.Error(), tc.wantText) {
				t.Fatalf("CreateCACertificate: got %v, want an error containing %q", err, tc.wantText)
			}
		})
	}
}

func TestCreateCACertificateProfile(t *testing.T) {
	root := newTestRoot(t)
	key, _ := keys.Generate(keys.RSA3072)
	cert, err := x509.ParseCertificate(root.currentIntermediate(t, "Profile", key.Public()))
	if err != nil {
		t.Fatal(err)
	}

	if err := cert.CheckSignatureFrom(root.cert); err != nil {
		t.Errorf("intermediate does not verify under the root: %v", err)
	}
	if cert.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign {
		t.Errorf("keyUsage = %v, want keyCertSign and cRLSign only", cert.KeyUsage)
	}
	if !cert.IsCA || cert.MaxPathLen != 0 || !cert.MaxPathLenZero {
		t.Errorf("basicConstraints: cA %v, pathLen %d (zero %v); want cA with pathLen 0", cert.IsCA, cert.MaxPathLen, cert.MaxPathLenZero)
	}
	if len(cert.SubjectKeyId) == 0 || string(cert.AuthorityKeyId) != string(root.cert.SubjectKeyId) {
		t.Error("subject or authority key identifier missing or wrong")
	}
	if cert.SignatureAlgorithm != x509.ECDSAWithSHA384 {
		t.Errorf("signature algorithm under a P-384 root = %v, want ECDSA-SHA384", cert.SignatureAlgorithm)
	}
	if len(cert.CRLDistributionPoints) != 1 || len(cert.IssuingCertificateURL) != 1 {
		t.Errorf("CRL DP %v and caIssuers %v, want one of each", cert.CRLDistributionPoints, cert.IssuingCertificateURL)
	}
}
