package e2e

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// chromiumPath is the system browser the console's browser test drives.
const chromiumPath = "/usr/bin/chromium"

// consolePassword is the password of the browser test's console users.
const consolePassword = "console test password 1"

// consoleBrowser is a headless Chromium tab on the test server.
type consoleBrowser struct {
	t   *testing.T
	s   *server
	ctx context.Context
}

// newConsoleBrowser starts headless Chromium with its own profile. A
// missing browser fails the test: the console's browser checks must not
// pass by being skipped.
func newConsoleBrowser(t *testing.T, s *server) *consoleBrowser {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("%s is missing, so the console's browser test cannot run; install it with `apt-get install -y chromium`", chromiumPath)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.UserDataDir(t.TempDir()),
		// The tests run as root in containers, where Chromium's sandbox
		// cannot start.
		chromedp.NoSandbox,
		chromedp.WindowSize(1280, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	// A bound for the whole browser session, so a hung page fails the
	// test instead of the package timeout; it is no assertion on speed.
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelTab(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", chromiumPath, err)
	}
	return &consoleBrowser{t: t, s: s, ctx: ctx}
}

// run runs browser actions; on failure it saves a screenshot to the test's
// artifact directory and fails the test.
func (b *consoleBrowser) run(step string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.screenshotOnFailure(step)
		b.t.Fatalf("%s: %v", step, err)
	}
}

func (b *consoleBrowser) screenshotOnFailure(step string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("no screenshot of the failed step %q: %v", step, err)
		return
	}
	path := filepath.Join(b.t.ArtifactDir(), "console-failure.png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Logf("write screenshot: %v", err)
		return
	}
	b.t.Logf("screenshot of the failed step %q: %s", step, path)
}

// text returns the text of the first element matching selector.
func (b *consoleBrowser) text(step, selector string) string {
	b.t.Helper()
	out, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(selector)))
	if err != nil {
		b.screenshotOnFailure(step)
		b.t.Fatalf("%s: %v", step, err)
	}
	return out
}

func (b *consoleBrowser) expectText(step, selector, want string) {
	b.t.Helper()
	if got := b.text(step, selector); !strings.Contains(got, want) {
		b.screenshotOnFailure(step)
		b.t.Fatalf("%s: %q does not contain %q", step, got, want)
	}
}

func (b *consoleBrowser) signIn(username string) {
	b.t.Helper()
	b.run("sign in as "+username,
		chromedp.Navigate(b.s.URL+"/console/login"),
		chromedp.SendKeys(chromedp.CSS("#username"), username),
		chromedp.SendKeys(chromedp.CSS("#password"), consolePassword),
		chromedp.Click(chromedp.CSS(`form[action="/console/login"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`form.signout`)),
	)
	b.expectText("header after sign-in of "+username, "form.signout span", username)
}

func (b *consoleBrowser) signOut() {
	b.t.Helper()
	b.run("sign out",
		chromedp.Click(chromedp.CSS(`form.signout button`)),
		chromedp.WaitVisible(chromedp.CSS(`#username`)),
	)
}

// addConsoleUser runs `docsign-ca users add` with a password file.
func addConsoleUser(t *testing.T, s *server, username, role string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(file, []byte(consolePassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := s.cli("users", "add", "--username", username, "--email", username+"@example.com", "--first-name", username,
		"--last-name", "Tester", "--role", role, "--password-file", file)
	if strings.Contains(out, consolePassword) {
		t.Errorf("users add printed the password:\n%s", out)
	}
}

func TestConsoleBrowserOrderLifecycle(t *testing.T) {
	s := startServer(t)
	addConsoleUser(t, s, "ada", "administrator")
	addConsoleUser(t, s, "sam", "user")

	org := s.do("POST", "/services/v2/organization", s.Key, map[string]any{
		"name": "Browser Test Inc", "address": "1 Main St", "city": "Richmond", "state": "Virginia", "zip": "23219", "country": "us",
	})
	if org.Status != http.StatusCreated {
		t.Fatalf("create organization: %d %s", org.Status, org.Body)
	}
	s.do("POST", "/services/v2/organization/1/validation", s.Key, map[string]any{"validations": []any{map[string]any{"type": "ds"}}})
	s.cli("validation", "approve", "--organization", "1", "--type", "ds")

	b := newConsoleBrowser(t, s)

	// A standard user places an order through the form.
	b.signIn("sam")
	b.run("place an order",
		chromedp.Navigate(s.URL+"/console/orders/new"),
		chromedp.SetValue(chromedp.CSS("#organization_id"), "1"),
		chromedp.SetValue(chromedp.CSS("#csr"), csrPEM(t, testRSAKey(t))),
		chromedp.Click(chromedp.CSS(`form.orderform button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#order-status`)),
	)
	b.expectText("new order status", "#order-status", "needs approval")

	// The standard user may read the request but not approve it.
	b.run("standard user approves",
		chromedp.Navigate(s.URL+"/console/requests/1"),
		chromedp.Click(chromedp.CSS(`button[value=approve]`)),
		chromedp.WaitVisible(chromedp.CSS(`div.error`)),
	)
	b.expectText("refused approval", "div.error", "access_denied|missing_permission")
	b.signOut()

	// The administrator approves it; the organization is validated, so
	// the certificate is issued at once.
	b.signIn("ada")
	b.run("open the requests page", chromedp.Navigate(s.URL+"/console/requests"), chromedp.WaitVisible(chromedp.CSS(`table`)))
	b.expectText("request list", "table", "Browser Test Inc")
	if dir := os.Getenv("DOCSIGN_CONSOLE_SCREENSHOT_DIR"); dir != "" {
		png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "console-requests.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b.run("approve the request",
		chromedp.Navigate(s.URL+"/console/requests/1"),
		chromedp.SendKeys(chromedp.CSS("#comment"), "approved in the browser test"),
		chromedp.Click(chromedp.CSS(`button[value=approve]`)),
		chromedp.WaitVisible(chromedp.CSS(`p.notice`)),
	)
	b.expectText("approval notice", "p.notice", "The request was approved.")

	b.run("open the order", chromedp.Navigate(s.URL+"/console/orders/1"), chromedp.WaitVisible(chromedp.CSS(`#certificate`)))
	b.expectText("issued order", "#order-status", "issued")
	b.expectText("certificate details", "#certificate", "SHA-256")

	// The download link serves the certificate to the signed-in browser.
	link, err := chromedp.Run(b.ctx, chromedp.AttributeValue(chromedp.CSS(`a[href$="/download/pem_all"]`), "href"))
	if err != nil || !link.Exists {
		b.screenshotOnFailure("read the download link")
		t.Fatalf("the order page has no pem_all download link: %v", err)
	}
	body := b.fetchWithSession(link.Value)
	block, _ := pem.Decode(body)
	if block == nil {
		t.Fatalf("the pem_all download is not PEM:\n%s", body)
	}
	if _, err := x509.ParseCertificate(block.Bytes); err != nil {
		t.Fatalf("the downloaded certificate does not parse: %v", err)
	}

	b.run("revoke the certificate",
		chromedp.SetValue(chromedp.CSS("#reason"), "key_compromise"),
		chromedp.Click(chromedp.CSS("#skip_approval")),
		chromedp.Click(chromedp.CSS(`form[action$="/revoke"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`p.notice`)),
	)
	b.expectText("revocation notice", "p.notice", "The certificate was revoked.")
	b.expectText("revoked order", "#order-status", "revoked")
}

// fetchWithSession downloads a console URL with the browser's session
// cookie, as the browser's download would.
func (b *consoleBrowser) fetchWithSession(href string) []byte {
	b.t.Helper()
	result, err := chromedp.Run(b.ctx, func(ctx context.Context, t *chromedp.Target) (network.GetCookiesResult, error) {
		return cdp.Call(ctx, t, network.GetCookies, network.GetCookiesParams{URLs: []string{b.s.URL + "/console/"}})
	})
	if err != nil {
		b.t.Fatalf("read the session cookie: %v", err)
	}
	cookies := result.Cookies

	url := href
	if strings.HasPrefix(href, "/") {
		url = b.s.URL + href
	}
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	for _, c := range cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		b.t.Fatalf("GET %s: status %d:\n%s", href, resp.StatusCode, body)
	}
	return body
}
