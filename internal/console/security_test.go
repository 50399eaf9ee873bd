package console

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/jsonbody"
	"github.com/docsign-ca/docsign-ca/internal/order"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

func decodeTree(t *testing.T, body string) any {
	t.Helper()
	tree, err := jsonbody.Decode([]byte(body))
	if err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return tree
}

func newCSR(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "ignored"}}, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
}

func TestCSRFTokenChecked(t *testing.T) {
	f := newFixture(t)
	f.addUser(t, "alice", store.RoleAdministrator, "")
	f.addUser(t, "bob", store.RoleAdministrator, "")
	alice := f.newBrowser(t)
	aliceToken := alice.signIn("alice", "")
	bob := f.newBrowser(t)
	bobToken := bob.signIn("bob", "")
	placed := f.placeOrder(t, f.account, newCSR(t))
	path := "/console/requests/" + strconv.FormatInt(placed.RequestID, 10) + "/decision"

	cases := []struct {
		name  string
		token []string
		want  int
	}{
		{"missing", nil, http.StatusForbidden},
		{"empty", []string{""}, http.StatusForbidden},
		{"wrong", []string{"not-the-token"}, http.StatusForbidden},
		{"another session's", []string{bobToken}, http.StatusForbidden},
		{"own", []string{aliceToken}, http.StatusSeeOther},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			form := url.Values{"decision": {"reject"}}
			if c.token != nil {
				form["csrf_token"] = c.token
			}
			p := alice.post(path, form)
			if p.status != c.want {
				t.Fatalf("status %d, want %d:\n%s", p.status, c.want, p.body)
			}
		})
	}
}

func TestSessionActsOnlyForItsUser(t *testing.T) {
	f := newFixture(t)
	f.addUser(t, "admin", store.RoleAdministrator, "")
	f.addUser(t, "standard", store.RoleStandardUser, "")
	admin := f.newBrowser(t)
	adminToken := admin.signIn("admin", "")
	standard := f.newBrowser(t)
	standardToken := standard.signIn("standard", "")
	placed := f.placeOrder(t, f.account, newCSR(t))
	path := "/console/requests/" + strconv.FormatInt(placed.RequestID, 10) + "/decision"

	// The standard user's cookie with the administrator's CSRF token
	// stays the standard user's session: the token does not match it.
	p := standard.post(path, url.Values{"csrf_token": {adminToken}, "decision": {"approve"}})
	if p.status != http.StatusForbidden || !strings.Contains(p.body, "CSRF") {
		t.Fatalf("standard cookie with the administrator's token: status %d, want 403 for the CSRF token:\n%s", p.status, p.body)
	}

	// With its own token, the standard user's role decides, not the
	// administrator's session that exists beside it.
	p = standard.post(path, url.Values{"csrf_token": {standardToken}, "decision": {"approve"}})
	if p.status != http.StatusForbidden || !strings.Contains(p.body, "access_denied|missing_permission") {
		t.Fatalf("standard user approving: status %d, want 403 missing_permission:\n%s", p.status, p.body)
	}
	if !strings.Contains(standard.get("/console/requests").body, "standard (user)") {
		t.Error("the standard user's page does not name the standard user")
	}

	info, err := f.orders.RequestInfo(context.Background(), f.account, placed.RequestID)
	if err != nil {
		t.Fatal(err)
	}
	if info.Request.Status != store.RequestPending {
		t.Errorf("request status %q after the refused approval, want pending", info.Request.Status)
	}
}

func TestSignedOutSessionRejected(t *testing.T) {
	f := newFixture(t)
	f.addUser(t, "alice", store.RoleAdministrator, "")
	b := f.newBrowser(t)
	token := b.signIn("alice", "")
	cookie := b.sessionCookie()

	if p := b.post("/console/logout", url.Values{"csrf_token": {token}}); p.status != http.StatusSeeOther {
		t.Fatalf("sign-out: status %d, want 303:\n%s", p.status, p.body)
	}

	// A copy of the old cookie in another client must not work.
	replay := func(method string, form url.Values) *http.Response {
		req, err := http.NewRequest(method, f.server.URL+"/console/orders", strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: cookie})
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	resp := replay(http.MethodGet, nil)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/console/login") {
		t.Errorf("GET with the signed-out cookie: status %d to %q, want 303 to the sign-in page", resp.StatusCode, resp.Header.Get("Location"))
	}

	placed := f.placeOrder(t, f.account, newCSR(t))
	req, err := http.NewRequest(http.MethodPost, f.server.URL+"/console/requests/"+strconv.FormatInt(placed.RequestID, 10)+"/decision",
		strings.NewReader(url.Values{"csrf_token": {token}, "decision": {"approve"}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: cookie})
	post, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	post.Body.Close()
	if post.StatusCode != http.StatusForbidden {
		t.Errorf("POST with the signed-out cookie: status %d, want 403", post.StatusCode)
	}
}

func TestSessionIdleTimeout(t *testing.T) {
	f := newFixture(t)
	f.addUser(t, "alice", store.RoleAdministrator, "")
	b := f.newBrowser(t)
	b.signIn("alice", "")

	f.clock.Advance(DefaultIdleTimeout + 2*time.Minute)
	p := b.get("/console/orders")
	if p.status != http.StatusSeeOther || !strings.Contains(p.header.Get("Location"), "notice=timed_out") {
		t.Fatalf("after the idle timeout: status %d to %q, want 303 to the sign-in page with timed_out", p.status, p.header.Get("Location"))
	}
}

func TestLoginRateLimitedPerUsername(t *testing.T) {
	f := newFixture(t)
	f.addUser(t, "alice", store.RoleAdministrator, "")
	b := f.newBrowser(t)

	for i := range maxFailuresPerUser {
		if p := b.tryLogin("alice", "wrong password "+strconv.Itoa(i), ""); p.status != http.StatusUnauthorized {
			t.Fatalf("failed attempt %d: status %d, want 401", i+1, p.status)
		}
	}
	p := b.tryLogin("alice", testPassword, "")
	if p.status != http.StatusTooManyRequests {
		t.Fatalf("right password after %d failures: status %d, want 429", maxFailuresPerUser, p.status)
	}
	if !strings.Contains(p.body, "Too many failed sign-in attempts") {
		t.Errorf("the 429 page does not explain the limit:\n%s", p.body)
	}

	f.clock.Advance(loginWindow)
	if p := b.tryLogin("alice", testPassword, ""); p.status != http.StatusSeeOther {
		t.Errorf("sign-in after the window: status %d, want 303", p.status)
	}
}

func TestLoginRateLimitedPerClient(t *testing.T) {
	f := newFixture(t)
	f.addUser(t, "alice", store.RoleAdministrator, "")
	b := f.newBrowser(t)

	// Different unknown usernames, so only the per-address count grows.
	for i := range maxFailuresPerClient {
		if p := b.tryLogin("nobody-"+strconv.Itoa(i), "wrong password", ""); p.status != http.StatusUnauthorized {
			t.Fatalf("failed attempt %d: status %d, want 401", i+1, p.status)
		}
	}
	if p := b.tryLogin("alice", testPassword, ""); p.status != http.StatusTooManyRequests {
		t.Fatalf("sign-in from the same address after %d failures: status %d, want 429", maxFailuresPerClient, p.status)
	}
}

func TestSessionCookieAttributes(t *testing.T) {
	for _, secure := range []bool{false, true} {
		t.Run("secure="+strconv.FormatBool(secure), func(t *testing.T) {
			f := newFixture(t)
			f.handler.cfg.SecureCookie = secure
			f.addUser(t, "alice", store.RoleAdministrator, "")
			b := f.newBrowser(t)
			p := b.tryLogin("alice", testPassword, "")

			var c *http.Cookie
			for _, candidate := range (&http.Response{Header: p.header}).Cookies() {
				if candidate.Name == sessionCookie {
					c = candidate
				}
			}
			if c == nil {
				t.Fatalf("sign-in set no %s cookie; headers: %v", sessionCookie, p.header)
			}
			if !c.HttpOnly {
				t.Error("the session cookie lacks HttpOnly")
			}
			if c.SameSite != http.SameSiteStrictMode {
				t.Errorf("SameSite is %v, want Strict", c.SameSite)
			}
			if c.Path != Prefix {
				t.Errorf("Path is %q, want %q", c.Path, Prefix)
			}
			if c.Secure != secure {
				t.Errorf("Secure is %v, want %v", c.Secure, secure)
			}
		})
	}
}

func TestStoredSessionHoldsOnlyHash(t *testing.T) {
	f := newFixture(t)
	f.addUser(t, "alice", store.RoleAdministrator, "")
	b := f.newBrowser(t)
	b.signIn("alice", "")
	cookie := b.sessionCookie()

	var stored []byte
	if err := f.store.DB().QueryRow(`SELECT token_hash FROM console_sessions`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if string(stored) == cookie || strings.Contains(string(stored), cookie) {
		t.Error("console_sessions stores the cookie's value")
	}
	if string(stored) != string(hashToken(cookie)) {
		t.Error("console_sessions does not store the SHA-256 of the cookie")
	}
}

func TestLoginWithTOTP(t *testing.T) {
	f := newFixture(t)
	key, err := NewTOTPKey("carol")
	if err != nil {
		t.Fatal(err)
	}
	f.addUser(t, "carol", store.RoleAdministrator, key.Secret)
	code, err := TOTPCode(key.Secret, f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name string
		code string
		want int
	}{
		{"no code", "", http.StatusUnauthorized},
		{"wrong code", "000000", http.StatusUnauthorized},
		{"right code", code, http.StatusSeeOther},
		{"same code again", code, http.StatusUnauthorized},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := f.newBrowser(t)
			if c.code == "000000" && c.code == code {
				t.Skip("the current code happens to be 000000")
			}
			if p := b.tryLogin("carol", testPassword, c.code); p.status != c.want {
				t.Errorf("status %d, want %d", p.status, c.want)
			}
		})
	}
}

func TestLoginRejectsBadCredentials(t *testing.T) {
	f := newFixture(t)
	f.addUser(t, "alice", store.RoleAdministrator, "")
	cases := []struct {
		name, username, password string
	}{
		{"wrong password", "alice", "not the password at all"},
		{"unknown username", "mallory", testPassword},
		{"user without console credential", "bootstrap-admin", testPassword},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := f.newBrowser(t).tryLogin(c.username, c.password, "")
			if p.status != http.StatusUnauthorized {
				t.Errorf("status %d, want 401", p.status)
			}
		})
	}
}

func TestLoginCSRFChecked(t *testing.T) {
	f := newFixture(t)
	f.addUser(t, "alice", store.RoleAdministrator, "")
	b := f.newBrowser(t)
	b.get("/console/login")
	p := b.post("/console/login", url.Values{"csrf_token": {"forged"}, "username": {"alice"}, "password": {testPassword}})
	if p.status != http.StatusForbidden {
		t.Errorf("sign-in with a forged token: status %d, want 403", p.status)
	}
}

func TestRedirectAfterLoginStaysOnConsole(t *testing.T) {
	cases := map[string]string{
		"/console/orders?page=2":  "/console/orders?page=2",
		"https://elsewhere.test/": "",
		"//elsewhere.test/":       "",
		"/services/v2/account":    "",
		"/console/\r\nX: y":       "",
	}
	for in, want := range cases {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestEveryRouteChecksPermissions calls each console route as each role
// and expects 403 exactly where the permission table forbids it.
func TestEveryRouteChecksPermissions(t *testing.T) {
	f := newFixture(t)
	placed := f.placeOrder(t, f.account, newCSR(t))
	id := strconv.FormatInt(placed.OrderID, 10)

	for _, role := range order.Roles {
		t.Run(role, func(t *testing.T) {
			f.addUser(t, "user-"+role, role, "")
			b := f.newBrowser(t)
			token := b.signIn("user-"+role, "")
			caller := &store.Caller{User: store.User{ID: 1, Role: role}}

			for _, rt := range f.handler.routes {
				if rt.action == "" || rt.pattern == "POST /console/logout" {
					continue
				}
				method, path, _ := strings.Cut(rt.pattern, " ")
				path = strings.NewReplacer("{id}", id, "{format}", "pem_all", "{$}", "").Replace(path)

				var p response
				if method == http.MethodPost {
					p = b.post(path, url.Values{"csrf_token": {token}})
				} else {
					p = b.get(path)
				}
				forbidden := authorizeRoute(caller, rt) != nil
				if forbidden && p.status != http.StatusForbidden {
					t.Errorf("%s as %s: status %d, want 403", rt.pattern, role, p.status)
				}
				if !forbidden && p.status == http.StatusForbidden {
					t.Errorf("%s as %s: status 403, want the route to run:\n%s", rt.pattern, role, p.body)
				}
				if forbidden && !strings.Contains(p.body, "access_denied|missing_permission") {
					t.Errorf("%s as %s: the 403 page does not show the permission message", rt.pattern, role)
				}
			}
		})
	}
}

func TestOrderFormShowsValidatorErrors(t *testing.T) {
	f := newFixture(t)
	f.addUser(t, "alice", store.RoleStandardUser, "")
	b := f.newBrowser(t)
	token := b.signIn("alice", "")

	p := b.post("/console/orders/new", url.Values{
		"csrf_token": {token}, "provisioning_method": {"email"}, "csr": {"not a CSR"},
		"validity_years": {"1"}, "signature_hash": {"sha256"},
	})
	if p.status != http.StatusBadRequest {
		t.Fatalf("status %d, want 400:\n%s", p.status, p.body)
	}
	if !strings.Contains(p.body, `id="csr" name="csr" rows="8" aria-invalid="true"`) {
		t.Error("the CSR field is not marked invalid")
	}
	if !strings.Contains(p.body, `<p class="field-error" id="csr-error">certificate.csr`) {
		t.Error("the CSR's parse error is not shown beside the CSR field")
	}
	if !strings.Contains(p.body, `id="organization_id-error"`) {
		t.Error("the missing organization is not shown beside the organization field")
	}
}

func TestOrderFormPlacesOrder(t *testing.T) {
	f := newFixture(t)
	f.placeOrder(t, f.account, newCSR(t)) // creates organization 1
	f.addUser(t, "alice", store.RoleStandardUser, "")
	b := f.newBrowser(t)
	token := b.signIn("alice", "")

	p := b.post("/console/orders/new", url.Values{
		"csrf_token": {token}, "organization_id": {"1"}, "provisioning_method": {"email"}, "csr": {newCSR(t)},
		"validity_years": {"1"}, "signature_hash": {"sha256"},
	})
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/console/orders/2") {
		t.Fatalf("status %d to %q, want 303 to order 2:\n%s", p.status, p.header.Get("Location"), p.body)
	}
	o, err := f.orders.Order(context.Background(), f.account, 2)
	if err != nil {
		t.Fatal(err)
	}
	if o.Order.Status != store.OrderNeedsApproval {
		t.Errorf("order status %q, want needs_approval", o.Order.Status)
	}
}

func TestPasswordHashing(t *testing.T) {
	hash, err := HashPassword(testPassword)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		encoded  string
		password string
		want     bool
	}{
		{"right password", hash, testPassword, true},
		{"wrong password", hash, testPassword + "!", false},
		{"empty hash", "", testPassword, false},
		{"bcrypt hash", "$2a$10$abcdefghijklmnopqrstuu", testPassword, false},
		{"huge memory parameter", strings.Replace(hash, "m=65536", "m=99999999", 1), testPassword, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := VerifyPassword(c.encoded, c.password); got != c.want {
				t.Errorf("VerifyPassword = %v, want %v", got, c.want)
			}
		})
	}
}

func TestCheckPassword(t *testing.T) {
	cases := []struct {
		password string
		ok       bool
	}{
		{"short", false},
		{"exactly12chr", true},
		{strings.Repeat("a", MaxPasswordLength+1), false},
		{"\xff\xfe invalid utf-8 text", false},
	}
	for _, c := range cases {
		if err := CheckPassword(c.password); (err == nil) != c.ok {
			t.Errorf("CheckPassword(%q) = %v, want ok=%v", c.password, err, c.ok)
		}
	}
}
