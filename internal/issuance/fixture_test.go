package issuance

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/keys"
)

// testNow is the fixed clock of the tests: the hierarchy is valid from it,
// and every certificate request starts at it.
var testNow = time.Date(2026, time.March, 2, 10, 0, 0, 0, time.UTC)

// fixtureDir contains the key files of the shared test hierarchy.
var fixtureDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "issuance-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fixtureDir = dir

	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// countingSigner passes every call to the real key and counts Sign calls, so
// a test can prove that a rejected certificate was never signed.
type countingSigner struct {
	crypto.Signer
	calls atomic.Int64
}

func (s *countingSigner) Sign(random io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	s.calls.Add(1)
	return s.Signer.Sign(random, digest, opts)
}

// testFixture is the development hierarchy shared by the tests, with an
// Authority for its RSA-3072 intermediate whose key counts signatures.
type testFixture struct {
	hierarchy  *Hierarchy
	rootSigner crypto.Signer
	signer     *countingSigner
	authority  *Authority
}

var (
	fixtureOnce  sync.Once
	fixtureValue *testFixture
	fixtureErr   error
)

func sharedFixture(tb testing.TB) *testFixture {
	tb.Helper()

	fixtureOnce.Do(func() {
		fixtureValue, fixtureErr = newTestFixture(filepath.Join(fixtureDir, "hierarchy"))
	})
	if fixtureErr != nil {
		tb.Fatalf("create test hierarchy: %v", fixtureErr)
	}
	return fixtureValue
}

func newTestFixture(dir string) (*testFixture, error) {
	err := os.Mkdir(dir, 0o700)
	if err != nil {
		return nil, err
	}

	hierarchy, err := CreateDevelopmentHierarchy(dir, testNow)
	if err != nil {
		return nil, err
	}

	issuer, err := hierarchy.Issuer()
	if err != nil {
		return nil, err
	}
	signer := &countingSigner{Signer: issuer.Signer}
	issuer.Signer = signer

	authority, err := NewAuthority(issuer)
	if err != nil {
		return nil, err
	}

	rootSigner, err := keys.Open(hierarchy.RootKeyURI)
	if err != nil {
		return nil, err
	}

	fixture := &testFixture{hierarchy: hierarchy, rootSigner: rootSigner, signer: signer, authority: authority}
	return fixture, nil
}

var (
	ecdsaAuthorityMutex sync.Mutex
	ecdsaAuthorities    = map[keys.Algorithm]*Authority{}
)

// ecdsaAuthority returns an Authority for an ECDSA intermediate under the
// shared development root, created once per algorithm.
func ecdsaAuthority(t testing.TB, alg keys.Algorithm) *Authority {
	t.Helper()
	fixture := sharedFixture(t)

	ecdsaAuthorityMutex.Lock()
	defer ecdsaAuthorityMutex.Unlock()
	if authority, ok := ecdsaAuthorities[alg]; ok {
		return authority
	}

	signer, err := keys.Generate(alg)
	if err != nil {
		t.Fatal(err)
	}
	root := fixture.hierarchy.Root
	template, err := caTemplate("docsign-ca Test Issuing CA "+string(alg), signer.Public(), root.NotBefore, root.NotBefore.AddDate(5, 0, 0), 0)
	if err != nil {
		t.Fatal(err)
	}
	_, cert, err := createCACertificate(template, root, signer.Public(), fixture.rootSigner)
	if err != nil {
		t.Fatal(err)
	}

	authority, err := NewAuthority(&Issuer{Cert: cert, Signer: signer, Chain: []*x509.Certificate{cert, root}})
	if err != nil {
		t.Fatalf("NewAuthority for %s issuer: %v", alg, err)
	}
	ecdsaAuthorities[alg] = authority
	return authority
}

var (
	subscriberKeyMutex sync.Mutex
	subscriberKeys     = map[string]crypto.Signer{}
)

// subscriberKey returns a subscriber key of the named type, generated once
// per test binary because RSA key generation is slow. Names: "rsa-1024",
// "rsa-2048", "rsa-3072", "rsa-4096", "p-224", "p-256", "p-384", "p-521",
// "ed25519".
func subscriberKey(t testing.TB, name string) crypto.Signer {
	t.Helper()

	subscriberKeyMutex.Lock()
	defer subscriberKeyMutex.Unlock()
	if key, ok := subscriberKeys[name]; ok {
		return key
	}

	var key crypto.Signer
	var err error
	switch name {
	case "rsa-1024":
		key, err = rsa.GenerateKey(rand.Reader, 1024)
	case "rsa-2048":
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	case "rsa-3072":
		key, err = rsa.GenerateKey(rand.Reader, 3072)
	case "rsa-4096":
		key, err = rsa.GenerateKey(rand.Reader, 4096)
	case "p-224":
		key, err = ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	case "p-256":
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "p-384":
		key, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "p-521":
		key, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	case "ed25519":
		_, key, err = ed25519.GenerateKey(rand.Reader)
	default:
		t.Fatalf("unknown test key type %q", name)
	}
	if err != nil {
		t.Fatal(err)
	}
	subscriberKeys[name] = key
	return key
}

// validRequest returns a request that follows the profile, for a P-256
// subscriber key and all three document signing usages.
func validRequest(t testing.TB) Request {
	t.Helper()

	serial, err := NewSerial()
	if err != nil {
		t.Fatal(err)
	}

	return Request{
		Serial:        serial,
		PublicKey:     subscriberKey(t, "p-256").Public(),
		CommonName:    "Example Corp - Legal Department",
		Organization:  "Example Corp",
		Locality:      "Berlin",
		Province:      "Berlin",
		Country:       "DE",
		Usages:        []string{UsageAdobeAuthenticDocumentsTrust, UsageMSDocumentSigning, UsageDocumentSigning},
		NotBefore:     testNow,
		NotAfter:      testNow.AddDate(1, 0, 0),
		SignatureHash: crypto.SHA256,
	}
}

// issue prepares and signs req and returns the parsed certificate.
func issue(t testing.TB, authority *Authority, req Request) *x509.Certificate {
	t.Helper()

	prepared, err := authority.Prepare(req)
	if err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	der, err := authority.Sign(prepared)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("parse issued certificate: %v", err)
	}
	return cert
}
