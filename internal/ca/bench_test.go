//go:build cgo

package ca

import (
	"crypto"
	"crypto/x509"
	"testing"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/issuance"
	"github.com/docsign-ca/docsign-ca/internal/keys"
)

// The two benchmarks run the same issuance, Prepare (template, lint
// certificate, zlint) and Sign, under an RSA-3072 intermediate whose key
// is a file in one and a SoftHSM2 token object in the other. Each reports
// issuances per second, once serially and once from GOMAXPROCS
// goroutines. The database writes of ca.Service.Issue are not included.
//
//	go test ./internal/ca -run '^$' -bench 'BenchmarkIssue(File|SoftHSM)Key'

func BenchmarkIssueFileKey(b *testing.B) {
	signer, err := keys.Generate(keys.RSA3072)
	if err != nil {
		b.Fatal(err)
	}
	benchmarkIssue(b, signer)
}

func BenchmarkIssueSoftHSMKey(b *testing.B) {
	p := newTestPKCS11(b)
	signer, _, err := p.Generate(keys.PKCS11URI{Token: testToken, Object: "bench-" + time.Now().Format("150405.000000")}, keys.RSA3072)
	if err != nil {
		b.Fatal(err)
	}
	benchmarkIssue(b, signer)
}

func benchmarkIssue(b *testing.B, signer crypto.Signer) {
	root := newTestRoot(b)
	cert, err := x509.ParseCertificate(root.currentIntermediate(b, "Benchmark Issuing CA", signer.Public()))
	if err != nil {
		b.Fatal(err)
	}
	authority, err := issuance.NewAuthority(&issuance.Issuer{Cert: cert, Signer: signer, Chain: []*x509.Certificate{cert, root.cert}})
	if err != nil {
		b.Fatal(err)
	}
	subscriber, err := keys.Generate(keys.RSA2048)
	if err != nil {
		b.Fatal(err)
	}

	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			issueOnce(b, authority, subscriber.Public())
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "issuances/s")
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				issueOnce(b, authority, subscriber.Public())
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "issuances/s")
	})
}

func issueOnce(b *testing.B, authority *issuance.Authority, public crypto.PublicKey) {
	serial, err := issuance.NewSerial()
	if err != nil {
		b.Error(err)
		return
	}
	now := time.Now().UTC().Truncate(time.Second)
	prepared, err := authority.Prepare(issuance.Request{
		Serial:        serial,
		PublicKey:     public,
		CommonName:    "Example Corp - Legal Department",
		Organization:  "Example Corp",
		Locality:      "Berlin",
		Province:      "Berlin",
		Country:       "DE",
		Usages:        issuance.Usages(),
		NotBefore:     now,
		NotAfter:      now.AddDate(1, 0, 0),
		SignatureHash: crypto.SHA256,
	})
	if err != nil {
		b.Error(err)
		return
	}
	if _, err := authority.Sign(prepared); err != nil {
		b.Error(err)
	}
}
