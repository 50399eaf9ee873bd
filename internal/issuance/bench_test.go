package issuance

import (
	"crypto"
	"crypto/x509"
	"testing"

	"github.com/docsign-ca/docsign-ca/internal/keys"
)

func benchmarkPrepare(b *testing.B, authority *Authority, keyType string, hash crypto.Hash) {
	req := validRequest(b)
	req.PublicKey = subscriberKey(b, keyType).Public()
	req.SignatureHash = hash

	for b.Loop() {
		_, err := authority.Prepare(req)
		if err != nil {
			b.Fatal(err)
		}
	}
}

func benchmarkSign(b *testing.B, authority *Authority, hash crypto.Hash) {
	req := validRequest(b)
	req.SignatureHash = hash
	prepared, err := authority.Prepare(req)
	if err != nil {
		b.Fatal(err)
	}

	for b.Loop() {
		_, err := authority.Sign(prepared)
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPrepare measures encoding the TBSCertificate, signing the lint
// certificate with the throwaway key and linting it, for an RSA-2048
// subscriber key under the RSA-3072 development intermediate.
func BenchmarkPrepare(b *testing.B) {
	benchmarkPrepare(b, sharedFixture(b).authority, "rsa-2048", crypto.SHA256)
}

func BenchmarkPrepareP256(b *testing.B) {
	benchmarkPrepare(b, sharedFixture(b).authority, "p-256", crypto.SHA256)
}

func BenchmarkPrepareP384(b *testing.B) {
	benchmarkPrepare(b, sharedFixture(b).authority, "p-384", crypto.SHA256)
}

func BenchmarkPrepareECDSAP256Issuer(b *testing.B) {
	benchmarkPrepare(b, ecdsaAuthority(b, keys.ECDSAP256), "rsa-2048", crypto.SHA256)
}

func BenchmarkPrepareECDSAP384Issuer(b *testing.B) {
	benchmarkPrepare(b, ecdsaAuthority(b, keys.ECDSAP384), "p-256", crypto.SHA384)
}

// BenchmarkEncodeTBS measures the TBSCertificate of the profile alone.
func BenchmarkEncodeTBS(b *testing.B) {
	authority := sharedFixture(b).authority
	req := validRequest(b)
	req.PublicKey = subscriberKey(b, "rsa-2048").Public()

	for b.Loop() {
		_, err := encodeTBS(&req, x509.SHA256WithRSA, authority.issuer.Cert)
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLint measures zlint and the profile lints on one lint
// certificate with an RSA-2048 subscriber key.
func BenchmarkLint(b *testing.B) {
	authority := sharedFixture(b).authority
	req := validRequest(b)
	req.PublicKey = subscriberKey(b, "rsa-2048").Public()
	prepared, err := authority.Prepare(req)
	if err != nil {
		b.Fatal(err)
	}
	lintDER := prepared.LintCertificate()
	expectedEKU := ekuOIDs(req.Usages)

	for b.Loop() {
		_, err := authority.lint(lintDER, expectedEKU)
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSign measures the real signature and its verification with the
// RSA-3072 development intermediate.
func BenchmarkSign(b *testing.B) {
	benchmarkSign(b, sharedFixture(b).authority, crypto.SHA256)
}

func BenchmarkSignECDSAP384Issuer(b *testing.B) {
	benchmarkSign(b, ecdsaAuthority(b, keys.ECDSAP384), crypto.SHA384)
}

// BenchmarkSignTBS measures signing a stored TBSCertificate, which lints it again.
func BenchmarkSignTBS(b *testing.B) {
	authority := sharedFixture(b).authority
	prepared, err := authority.Prepare(validRequest(b))
	if err != nil {
		b.Fatal(err)
	}
	tbs := prepared.TBS()

	for b.Loop() {
		_, err := authority.SignTBS(tbs)
		if err != nil {
			b.Fatal(err)
		}
	}
}
