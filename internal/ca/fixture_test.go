package ca

import (
	"context"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/keys"
	"github.com/docsign-ca/docsign-ca/internal/store"
	"github.com/docsign-ca/docsign-ca/internal/storetest"
)

// testPassphrase encrypts the file keys of these tests.
const testPassphrase = "ca-test passphrase"

// testRoot is a root CA created with CreateCACertificate.
type testRoot struct {
	cert   *x509.Certificate
	der    []byte
	signer crypto.Signer
}

func newTestRoot(t testing.TB) *testRoot {
	t.Helper()
	signer, err := keys.Generate(keys.ECDSAP384)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	der, cert, _, err := CreateCACertificate(CACertificateRequest{
		Subject:    pkix.Name{CommonName: "docsign-ca Test Root", Organization: []string{"docsign-ca tests"}},
		PublicKey:  signer.Public(),
		NotBefore:  now.AddDate(-5, 0, 0),
		NotAfter:   now.AddDate(20, 0, 0),
		MaxPathLen: 1,
	}, nil, signer)
	if err != nil {
		t.Fatalf("create test root: %v", err)
	}
	return &testRoot{cert: cert, der: der, signer: signer}
}

// intermediate signs an intermediate for public with the given validity.
func (r *testRoot) intermediate(t testing.TB, name string, public crypto.PublicKey, notBefore, notAfter time.Time) []byte {
	t.Helper()
	der, _, _, err := CreateCACertificate(CACertificateRequest{
		Subject:    pkix.Name{CommonName: name, Organization: []string{"docsign-ca tests"}},
		PublicKey:  public,
		NotBefore:  notBefore,
		NotAfter:   notAfter,
		MaxPathLen: 0,
		CRLURLs:    []string{"http://crl.example.test/root.crl"},
		IssuerURLs: []string{"http://crl.example.test/root.crt"},
	}, r.cert, r.signer)
	if err != nil {
		t.Fatalf("create intermediate %q: %v", name, err)
	}
	return der
}

// currentIntermediate signs an intermediate valid from an hour ago for five years.
func (r *testRoot) currentIntermediate(t testing.TB, name string, public crypto.PublicKey) []byte {
	t.Helper()
	now := time.Now()
	return r.intermediate(t, name, public, now.Add(-time.Hour), now.AddDate(5, 0, 0))
}

func openTestStore(t testing.TB) *store.Store {
	t.Helper()
	return storetest.Open(t, "ca.db")
}

// insertRoot records the root and returns its id.
func insertRoot(t testing.TB, st *store.Store, root *testRoot) int64 {
	t.Helper()
	id, err := st.InsertCA(context.Background(), store.CA{
		CACertID: "ROOT", Role: store.CARoot, CommonName: root.cert.Subject.CommonName, CertDER: root.der, KeyURI: "pkcs11:token=offline;object=root",
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// insertIntermediate records an intermediate under rootID.
func insertIntermediate(t testing.TB, st *store.Store, rootID int64, ca store.CA) int64 {
	t.Helper()
	ca.Role = store.CAIntermediate
	ca.ParentID = rootID
	if ca.CommonName == "" {
		ca.CommonName = ca.CACertID
	}
	id, err := st.InsertCA(context.Background(), ca)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
