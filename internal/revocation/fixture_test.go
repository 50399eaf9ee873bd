package revocation

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/issuance"
	"github.com/docsign-ca/docsign-ca/internal/keys"
	"github.com/docsign-ca/docsign-ca/internal/store"
	"github.com/docsign-ca/docsign-ca/internal/storetest"
)

// fixture is a real store with a development CA hierarchy, one account and
// one organization, and a Service over the hierarchy's issuing CA.
type fixture struct {
	t        *testing.T
	ctx      context.Context
	dir      string
	store    *store.Store
	root     *x509.Certificate
	issuer   Issuer
	caller   *store.Caller
	orgID    int64
	svc      *Service
	clock    *testClock
	leafKey  *ecdsa.PrivateKey
	cfg      Config
	serialMu sync.Mutex
}

// testClock is a clock that tests move forward by hand.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// issuingCACertID is the ca_cert_id the fixture gives its issuing CA.
const issuingCACertID = "ISSUING1"

// hierarchies are development CA hierarchies shared by the tests, because
// generating their RSA-3072 and P-384 keys takes most of a fixture's time.
// The second one is for a CA that the Service under test does not serve.
var (
	hierarchyOnce [2]sync.Once
	hierarchies   [2]*issuance.Hierarchy
	hierarchyErrs [2]error
	hierarchyDir  string
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "revocation-test-ca-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	hierarchyDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// sharedHierarchy returns shared hierarchy number index (0 or 1). It
// starts an hour ago, so that backdated responder certificates fit inside
// the issuing CA's validity.
func sharedHierarchy(t *testing.T, index int) *issuance.Hierarchy {
	t.Helper()
	hierarchyOnce[index].Do(func() {
		keyDir := filepath.Join(hierarchyDir, fmt.Sprint(index))
		if err := os.Mkdir(keyDir, 0o700); err != nil {
			hierarchyErrs[index] = err
			return
		}
		hierarchies[index], hierarchyErrs[index] = issuance.CreateDevelopmentHierarchy(keyDir, time.Now().UTC().Add(-time.Hour))
	})
	if hierarchyErrs[index] != nil {
		t.Fatal(hierarchyErrs[index])
	}
	return hierarchies[index]
}

func newFixture(t *testing.T, cfg Config) *fixture {
	t.Helper()
	return newFixtureWithHierarchy(t, cfg, 0)
}

// newFixtureWithHierarchy builds a fixture on shared hierarchy number
// hierarchyIndex.
func newFixtureWithHierarchy(t *testing.T, cfg Config, hierarchyIndex int) *fixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()

	st := storetest.Open(t, "docsign.db")

	hierarchy := sharedHierarchy(t, hierarchyIndex)
	rootID, err := st.InsertCA(ctx, store.CA{CACertID: "ROOT1", Role: store.CARoot, CommonName: hierarchy.Root.Subject.CommonName,
		CertDER: hierarchy.RootDER, KeyURI: hierarchy.RootKeyURI})
	if err != nil {
		t.Fatal(err)
	}
	issuingID, err := st.InsertCA(ctx, store.CA{CACertID: issuingCACertID, Role: store.CAIntermediate, ParentID: rootID,
		CommonName: hierarchy.Intermediate.Subject.CommonName, CertDER: hierarchy.IntermediateDER, KeyURI: hierarchy.IntermediateKeyURI})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := keys.Open(hierarchy.IntermediateKeyURI)
	if err != nil {
		t.Fatal(err)
	}

	caller, err := st.CreateAccount(ctx, store.NewAccount{
		Name:      "Revocation Test",
		Admin:     store.User{Username: "admin", FirstName: "Ada", LastName: "Admin", Email: "admin@example.test"},
		KeyHash:   []byte("not a real key hash, unique per test"),
		KeyPrefix: "test",
	})
	if err != nil {
		t.Fatal(err)
	}
	org, _, err := st.CreateOrganization(ctx, store.Organization{
		AccountID: caller.Account.ID, ContainerID: caller.Account.RootContainerID, Name: "Example Org Inc",
		Address: "1 Main St", City: "Richmond", State: "Virginia", Zip: "23219", Country: "US", NormalizedKey: "example",
	}, true)
	if err != nil {
		t.Fatal(err)
	}

	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}

	if cfg.KeyDir == "" {
		cfg.KeyDir = filepath.Join(dir, "ocsp")
	}
	f := &fixture{
		t: t, ctx: ctx, dir: dir, store: st, root: hierarchy.Root, caller: caller, orgID: org.ID, leafKey: leafKey, cfg: cfg,
		issuer: Issuer{CAID: issuingID, CACertID: issuingCACertID, Cert: hierarchy.Intermediate, Signer: signer},
		clock:  &testClock{now: time.Now().UTC()},
	}
	f.svc = f.newService()
	return f
}

// newService starts a Service over the fixture's store, as a restarted or
// second server would.
func (f *fixture) newService() *Service {
	f.t.Helper()
	svc, err := New(f.store, []Issuer{f.issuer}, f.cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		f.t.Fatal(err)
	}
	svc.now = f.clock.Now
	if err := svc.Start(f.ctx); err != nil {
		f.t.Fatal(err)
	}
	return svc
}

// issued is a certificate the fixture signed and stored.
type issued struct {
	id   int64
	cert *x509.Certificate
}

// issue stores an order with a certificate signed by the issuing CA, the
// way the CA stores one: intent, then completed issuance.
func (f *fixture) issue() issued {
	f.t.Helper()
	cert := f.signLeaf()

	created, err := f.store.CreateOrder(f.ctx, store.NewOrder{Order: store.Order{
		AccountID: f.caller.Account.ID, ContainerID: f.caller.Account.RootContainerID, OrganizationID: f.orgID,
		UserID: f.caller.User.ID, Status: store.OrderPending, ProductNameID: "ds_org", ProvisioningMethod: "email",
		KeyType: "ecc", KeySize: 256, SignatureHash: "sha256", CAID: f.issuer.CAID, NotAfter: cert.NotAfter,
		Details: []byte("{}"),
	}})
	if err != nil {
		f.t.Fatal(err)
	}
	intentID, err := f.store.CreateIntent(f.ctx, store.Intent{
		CertificateID: created.CertificateID, OrderID: created.OrderID, SerialNumber: serialHex(cert.SerialNumber),
		CAID: f.issuer.CAID, TBS: cert.RawTBSCertificate,
	})
	if err != nil {
		f.t.Fatal(err)
	}
	err = f.store.CompleteIssuance(f.ctx, store.IssuedCertificate{
		IntentID: intentID, CertificateID: created.CertificateID, OrderID: created.OrderID, AccountID: f.caller.Account.ID,
		CAID: f.issuer.CAID, SerialNumber: serialHex(cert.SerialNumber), Thumbprint: fmt.Sprintf("%X", cert.SerialNumber.Bytes()),
		DER: cert.Raw, ValidFrom: cert.NotBefore, ValidTill: cert.NotAfter,
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return issued{id: created.CertificateID, cert: cert}
}

// signLeaf signs a minimal end-entity certificate with the issuing CA's
// key, without storing it.
func (f *fixture) signLeaf() *x509.Certificate {
	f.t.Helper()
	f.serialMu.Lock()
	defer f.serialMu.Unlock()

	serial, err := issuance.NewSerial()
	if err != nil {
		f.t.Fatal(err)
	}
	template := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "Example Org Inc", Organization: []string{"Example Org Inc"}},
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, f.issuer.Cert, f.leafKey.Public(), f.issuer.Signer)
	if err != nil {
		f.t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		f.t.Fatal(err)
	}
	return cert
}

// revoke revokes a certificate at once with a reason.
func (f *fixture) revoke(c issued, reason Reason) {
	f.t.Helper()
	_, err := f.store.RevokeNow(f.ctx, store.Revocation{
		AccountID: f.caller.Account.ID, CertificateID: c.id, UserID: f.caller.User.ID, Reason: int(reason),
	})
	if err != nil {
		f.t.Fatal(err)
	}
}

// crl fetches and parses the issuing CA's current CRL.
func (f *fixture) crl() *x509.RevocationList {
	f.t.Helper()
	crl, err := f.svc.CRL(f.ctx, issuingCACertID)
	if err != nil {
		f.t.Fatal(err)
	}
	list, err := x509.ParseRevocationList(crl.DER)
	if err != nil {
		f.t.Fatal(err)
	}
	return list
}
