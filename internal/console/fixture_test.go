package console

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/ca"
	"github.com/docsign-ca/docsign-ca/internal/issuance"
	"github.com/docsign-ca/docsign-ca/internal/order"
	"github.com/docsign-ca/docsign-ca/internal/store"
	"github.com/docsign-ca/docsign-ca/internal/storetest"
)

// testPassword is the password of every fixture user.
const testPassword = "correct horse battery staple"

// fixture is the console over a real store and a development CA, behind a
// loopback httptest server, with one account and its administrator.
type fixture struct {
	store   *store.Store
	orders  *order.Service
	handler *Handler
	server  *httptest.Server
	account *store.Caller
	clock   *testClock
}

// testClock is a settable clock, so timeouts are tested without waiting.
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

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st := storetest.Open(t, "console.db")

	h, err := issuance.CreateDevelopmentHierarchy(dir, time.Now().UTC())
	if err != nil {
		t.Fatal(err)
	}
	rootID, err := st.InsertCA(ctx, store.CA{CACertID: "TESTROOT", Role: store.CARoot, CommonName: h.Root.Subject.CommonName,
		CertDER: h.RootDER, KeyURI: h.RootKeyURI, Development: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.InsertCA(ctx, store.CA{CACertID: "TESTISSUING", Role: store.CAIntermediate, ParentID: rootID,
		CommonName: h.Intermediate.Subject.CommonName, CertDER: h.IntermediateDER, KeyURI: h.IntermediateKeyURI, Development: true}); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	authority, err := ca.Load(ctx, st, log)
	if err != nil {
		t.Fatal(err)
	}
	account, err := st.CreateAccount(ctx, store.NewAccount{
		Name:    "Console Test",
		Admin:   store.User{Username: "bootstrap-admin", FirstName: "Boot", LastName: "Strap", Email: "boot@example.com"},
		KeyHash: []byte("console-test-key-hash"), KeyPrefix: "console",
	})
	if err != nil {
		t.Fatal(err)
	}

	orders := order.NewService(st, authority, log)
	clock := &testClock{now: time.Now().UTC()}
	handler, err := New(Config{Orders: orders, Store: st, Log: log, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	server := httptest.NewServer(handler)
	t.Cleanup(server.Close)
	return &fixture{store: st, orders: orders, handler: handler, server: server, account: account, clock: clock}
}

// addUser creates a console user of the fixture's account with testPassword.
func (f *fixture) addUser(t *testing.T, username, role string, totpSecret string) *store.User {
	t.Helper()
	hash, err := HashPassword(testPassword)
	if err != nil {
		t.Fatal(err)
	}
	u, err := f.store.CreateConsoleUser(context.Background(), f.account.Account.ID, store.User{
		ContainerID: f.account.Account.RootContainerID, Username: username, FirstName: username, LastName: "Tester",
		Email: username + "@example.com", Role: role,
	}, store.ConsoleCredential{PasswordHash: hash, TOTPSecret: totpSecret})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// browser is an HTTP client with its own cookie jar that does not follow
// redirects, so each response can be checked.
type browser struct {
	t      *testing.T
	f      *fixture
	client *http.Client
}

func (f *fixture) newBrowser(t *testing.T) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &browser{t: t, f: f, client: client}
}

type response struct {
	status int
	header http.Header
	body   string
}

func (b *browser) get(path string) response {
	b.t.Helper()
	resp, err := b.client.Get(b.f.server.URL + path)
	if err != nil {
		b.t.Fatalf("GET %s: %v", path, err)
	}
	return readPage(b.t, resp)
}

func (b *browser) post(path string, form url.Values) response {
	b.t.Helper()
	resp, err := b.client.PostForm(b.f.server.URL+path, form)
	if err != nil {
		b.t.Fatalf("POST %s: %v", path, err)
	}
	return readPage(b.t, resp)
}

func readPage(t *testing.T, resp *http.Response) response {
	t.Helper()
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: string(body)}
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// csrfOf returns the first CSRF token on a page.
func csrfOf(t *testing.T, p response) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no csrf_token on the page (status %d):\n%s", p.status, p.body)
	}
	return m[1]
}

// signIn signs the browser in and returns the session's CSRF token.
func (b *browser) signIn(username, code string) string {
	b.t.Helper()
	p := b.tryLogin(username, testPassword, code)
	if p.status != http.StatusSeeOther {
		b.t.Fatalf("sign-in of %s: status %d, want 303:\n%s", username, p.status, p.body)
	}
	return csrfOf(b.t, b.get("/console/requests"))
}

// tryLogin opens the sign-in page and submits it.
func (b *browser) tryLogin(username, password, code string) response {
	b.t.Helper()
	token := csrfOf(b.t, b.get("/console/login"))
	return b.post("/console/login", url.Values{
		"csrf_token": {token}, "username": {username}, "password": {password}, "totp_code": {code},
	})
}

// sessionCookie returns the browser's session cookie value.
func (b *browser) sessionCookie() string {
	b.t.Helper()
	u, _ := url.Parse(b.f.server.URL + "/console/")
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == sessionCookie {
			return c.Value
		}
	}
	b.t.Fatal("the browser has no session cookie")
	return ""
}

// placeOrder places a pending email order for a new organization as the
// caller and returns its order and request ids.
func (f *fixture) placeOrder(t *testing.T, caller *store.Caller, csrPEM string) *order.PlacedOrder {
	t.Helper()
	body := `{
	  "certificate": {"csr": ` + quote(csrPEM) + `, "usage_designation": {"primary_usage": "signing"}},
	  "organization": {"name": "Example Inc", "address": "1 Main St", "city": "Richmond", "state": "VA", "zip": "23219",
	                   "country": "us", "skip_duplicate_org_check": true},
	  "order_validity": {"years": 1},
	  "payment_method": "balance"
	}`
	tree := decodeTree(t, body)
	req, err := order.ParseDSOrg(tree, f.orders.Now())
	if err != nil {
		t.Fatalf("parse order: %v", err)
	}
	placed, err := f.orders.PlaceDSOrder(context.Background(), caller, req, nil)
	if err != nil {
		t.Fatalf("place order: %v", err)
	}
	return placed
}

func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}
