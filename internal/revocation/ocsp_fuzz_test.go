package revocation

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"
)

// fuzzCertificates returns an issuing CA certificate and a leaf it signed,
// for building seed requests.
func fuzzCertificates(f *testing.F) (issuer, leaf *x509.Certificate) {
	f.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	now := time.Now()
	caTemplate := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Fuzz CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTemplate, caTemplate, key.Public(), key)
	if err != nil {
		f.Fatal(err)
	}
	issuer, err = x509.ParseCertificate(caDER)
	if err != nil {
		f.Fatal(err)
	}

	leafTemplate := &x509.Certificate{
		SerialNumber: new(big.Int).SetBytes([]byte{0x7f, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07}),
		Subject:      pkix.Name{CommonName: "Fuzz Leaf"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTemplate, issuer, key.Public(), key)
	if err != nil {
		f.Fatal(err)
	}
	leaf, err = x509.ParseCertificate(leafDER)
	if err != nil {
		f.Fatal(err)
	}
	return issuer, leaf
}

// seedRequest returns a DER request for leaf, changed by change when it is
// not nil.
func seedRequest(f *testing.F, issuer, leaf *x509.Certificate, hash crypto.Hash, change func(*testRequest)) []byte {
	f.Helper()
	der, err := ocsp.CreateRequest(leaf, issuer, &ocsp.RequestOptions{Hash: hash})
	if err != nil {
		f.Fatal(err)
	}
	if change == nil {
		return der
	}
	var req testRequest
	if _, err := asn1.Unmarshal(der, &req); err != nil {
		f.Fatal(err)
	}
	change(&req)
	out, err := asn1.Marshal(req)
	if err != nil {
		f.Fatal(err)
	}
	return out
}

// FuzzParseOCSPRequest checks that parseOCSPRequest never panics and
// rejects what the size bound rejects. An accepted request has what the
// responder needs: one CertID with its raw bytes, a serial number, hashes of
// the algorithm's length, and a nonce of 1 to 128 octets when there is one.
func FuzzParseOCSPRequest(f *testing.F) {
	issuer, leaf := fuzzCertificates(f)
	nonce, err := asn1.Marshal([]byte("0123456789abcdef"))
	if err != nil {
		f.Fatal(err)
	}

	f.Add(seedRequest(f, issuer, leaf, crypto.SHA1, nil))
	f.Add(seedRequest(f, issuer, leaf, crypto.SHA256, nil))
	f.Add(seedRequest(f, issuer, leaf, crypto.SHA512, nil))
	f.Add(seedRequest(f, issuer, leaf, crypto.SHA1, withNonce(nonce)))
	f.Add(seedRequest(f, issuer, leaf, crypto.SHA1, withNonce([]byte("bare nonce bytes"))))
	f.Add(seedRequest(f, issuer, leaf, crypto.SHA1, withNonce(nil)))
	f.Add(seedRequest(f, issuer, leaf, crypto.SHA1, func(req *testRequest) {
		req.TBSRequest.RequestList = append(req.TBSRequest.RequestList, req.TBSRequest.RequestList[0])
	}))
	f.Add([]byte{})
	f.Add([]byte{0x30, 0x00})
	f.Add([]byte{0x30, 0x84, 0xff, 0xff, 0xff, 0xff})

	f.Fuzz(func(t *testing.T, der []byte) {
		req, err := parseOCSPRequest(der)
		if err != nil {
			if req != nil {
				t.Fatalf("parseOCSPRequest returned a request and the error %v", err)
			}
			return
		}

		if len(der) > MaxOCSPRequestBytes {
			t.Fatalf("a request of %d bytes was accepted; the maximum is %d", len(der), MaxOCSPRequestBytes)
		}
		if req.serial == nil || len(req.rawCertID) == 0 {
			t.Fatalf("accepted request has serial %v and a CertID of %d bytes", req.serial, len(req.rawCertID))
		}
		if !req.hash.Available() || len(req.nameHash) != req.hash.Size() || len(req.keyHash) != req.hash.Size() {
			t.Fatalf("accepted request has hash %v with name hash %d and key hash %d bytes", req.hash, len(req.nameHash), len(req.keyHash))
		}
		if req.nonce != nil {
			if err := checkNonce(req.nonce.Value); err != nil {
				t.Fatalf("accepted request carries a nonce that checkNonce rejects: %v", err)
			}
		}
	})
}

// TestParseOCSPRequestChecksHashLength keeps the crasher that
// FuzzParseOCSPRequest found: a CertID whose hashes do not have the size of
// its hash algorithm is malformed, not a request for an unknown CA.
func TestParseOCSPRequestChecksHashLength(t *testing.T) {
	cases := []struct {
		name     string
		hash     crypto.Hash
		nameSize int
		keySize  int
	}{
		{"SHA-384 with SHA-512 sizes", crypto.SHA384, 64, 64},
		{"SHA-1 with a short key hash", crypto.SHA1, 20, 19},
		{"SHA-256 with an empty name hash", crypto.SHA256, 0, 32},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			request := &ocsp.Request{
				HashAlgorithm: tc.hash, IssuerNameHash: make([]byte, tc.nameSize), IssuerKeyHash: make([]byte, tc.keySize),
				SerialNumber: big.NewInt(7),
			}
			der, err := request.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := parseOCSPRequest(der); err == nil {
				t.Fatalf("a %s CertID with %d- and %d-byte hashes was accepted", tc.hash, tc.nameSize, tc.keySize)
			}
		})
	}

	valid := &ocsp.Request{HashAlgorithm: crypto.SHA256, IssuerNameHash: make([]byte, 32), IssuerKeyHash: make([]byte, 32), SerialNumber: big.NewInt(7)}
	der, err := valid.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parseOCSPRequest(der); err != nil {
		t.Fatalf("a SHA-256 CertID with 32-byte hashes was rejected: %v", err)
	}
}
