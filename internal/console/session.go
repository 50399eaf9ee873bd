package console

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/errs"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

// Cookie names. The session cookie carries 256 random bits; the database
// keeps only their SHA-256. The login cookie carries the sign-in form's
// CSRF token before a session exists (the double-submit cookie pattern).
const (
	sessionCookie = "docsign_console_session"
	loginCookie   = "docsign_console_login"
)

// session is the signed-in user of a request.
type session struct {
	id     int64
	caller store.Caller
	csrf   string
}

// Username returns the signed-in user's username, for the page header.
func (s *session) Username() string { return s.caller.User.Username }

// Role returns the signed-in user's role.
func (s *session) Role() string { return s.caller.User.Role }

// CSRF returns the token every form of the session sends back.
func (s *session) CSRF() string { return s.csrf }

// IsAdministrator reports whether the user has the administrator role.
func (s *session) IsAdministrator() bool { return s.caller.User.Role == store.RoleAdministrator }

func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("read random token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func hashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// cookie returns a console cookie: HttpOnly, SameSite=Strict, limited to
// the console's path, and Secure when the server speaks HTTPS.
func (h *Handler) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name: name, Value: value, Path: Prefix, MaxAge: maxAge,
		HttpOnly: true, Secure: h.cfg.SecureCookie, SameSite: http.SameSiteStrictMode,
	}
}

// requireSession returns the request's session. Without a valid one it
// sends a GET to the sign-in page and rejects any other method with 403.
func (h *Handler) requireSession(w http.ResponseWriter, r *http.Request) (*session, bool) {
	sess, reason := h.lookupSession(r)
	if sess != nil {
		return sess, true
	}
	if reason != "" {
		http.SetCookie(w, h.cookie(sessionCookie, "", -1))
	}
	if r.Method == http.MethodGet {
		target := "/console/login?next=" + url.QueryEscape(r.URL.RequestURI())
		if reason != "" {
			target += "&notice=" + reason
		}
		http.Redirect(w, r, target, http.StatusSeeOther)
		return nil, false
	}
	h.renderError(w, r, nil, errs.New(errs.Unauthenticated, "access_denied|not_signed_in",
		"this form needs a signed-in session; sign in at /console/login and submit it again"))
	return nil, false
}

// lookupSession returns the valid session of the request's cookie. When a
// cookie is present but its session is unknown or timed out, it returns a
// notice key for the sign-in page instead.
func (h *Handler) lookupSession(r *http.Request) (*session, string) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil, ""
	}

	stored, err := h.cfg.Store.ConsoleSessionByTokenHash(r.Context(), hashToken(c.Value))
	if errors.Is(err, store.ErrNotFound) {
		return nil, "signed_out"
	}
	if err != nil {
		h.cfg.Log.Error("read console session", "error", err)
		return nil, "signed_out"
	}

	now := h.cfg.Now().UTC()
	if now.Sub(stored.LastSeenAt) > h.cfg.IdleTimeout || now.Sub(stored.CreatedAt) > maxSessionAge {
		if err := h.cfg.Store.DeleteConsoleSession(r.Context(), stored.ID); err != nil {
			h.cfg.Log.Error("delete timed-out console session", "session_id", stored.ID, "error", err)
		}
		h.cfg.Log.Info("console session timed out", "session_id", stored.ID, "user_id", stored.Caller.User.ID)
		return nil, "timed_out"
	}

	// Stored times have whole seconds, so a touch more often than once a
	// minute would change nothing the idle timeout can notice.
	if now.Sub(stored.LastSeenAt) >= time.Minute {
		if err := h.cfg.Store.TouchConsoleSession(r.Context(), stored.ID); err != nil {
			h.cfg.Log.Error("touch console session", "session_id", stored.ID, "error", err)
		}
	}
	return &session{id: stored.ID, caller: stored.Caller, csrf: stored.CSRFToken}, ""
}

// checkCSRF compares the form's csrf_token with the session's token.
func (h *Handler) checkCSRF(r *http.Request, sess *session) bool {
	if err := parseForm(r); err != nil {
		return false
	}
	sent := r.PostForm.Get("csrf_token")
	return sent != "" && subtle.ConstantTimeCompare([]byte(sent), []byte(sess.csrf)) == 1
}

// loginNotices are the messages the sign-in page shows for its notice
// parameter. Only these keys are shown, so a link cannot put other text
// on the page.
var loginNotices = map[string]string{
	"signed_out": "You are signed out. Sign in to continue.",
	"timed_out":  "Your session ended after a period without activity. Sign in again.",
}

type loginView struct {
	Next     string
	Username string
	Notice   string
	Problem  string
	CSRF     string
}

func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request, _ *session) {
	h.renderLogin(w, r, http.StatusOK, loginView{
		Next:   safeNext(r.URL.Query().Get("next")),
		Notice: loginNotices[r.URL.Query().Get("notice")],
	})
}

// renderLogin renders the sign-in form with a fresh login CSRF token.
func (h *Handler) renderLogin(w http.ResponseWriter, r *http.Request, status int, v loginView) {
	token, err := randomToken()
	if err != nil {
		h.renderError(w, r, nil, errs.Wrap(err, "create sign-in form"))
		return
	}
	v.CSRF = token
	http.SetCookie(w, h.cookie(loginCookie, token, int(time.Hour/time.Second)))
	w.Header().Set("Cache-Control", "no-store")
	h.render(w, r, status, "login.html", nil, "Sign in", v)
}

// login checks a username, password and TOTP code and starts a session.
// Failed attempts count against the username and the client's address;
// over either limit the attempt is rejected with 429 before the password
// is checked.
func (h *Handler) login(w http.ResponseWriter, r *http.Request, _ *session) {
	if err := parseForm(r); err != nil {
		h.renderError(w, r, nil, err)
		return
	}
	if !h.checkLoginCSRF(r) {
		h.renderError(w, r, nil, errs.New(errs.Forbidden, "invalid_csrf_token",
			"the sign-in form's CSRF token is missing or wrong; open /console/login again and sign in"))
		return
	}

	username := strings.TrimSpace(r.PostForm.Get("username"))
	view := loginView{Next: safeNext(r.PostForm.Get("next")), Username: username}
	client := clientIP(r)
	if until, limited := h.loginLimited(username, client); limited {
		h.cfg.Log.Warn("console sign-in rate-limited", "username", username, "client", client)
		minutes := int(until.Sub(h.cfg.Now()).Minutes()) + 1
		view.Problem = fmt.Sprintf("Too many failed sign-in attempts for this username or from this address. Wait %d minutes and try again.", minutes)
		h.renderLogin(w, r, http.StatusTooManyRequests, view)
		return
	}

	login, ok := h.checkCredentials(r, username, r.PostForm.Get("password"), strings.TrimSpace(r.PostForm.Get("totp_code")))
	if !ok {
		h.byUser.fail(strings.ToLower(username))
		h.byClient.fail(client)
		h.cfg.Log.Info("console sign-in failed", "username", username, "client", client)
		view.Problem = "The username, password or authentication code is wrong."
		h.renderLogin(w, r, http.StatusUnauthorized, view)
		return
	}
	h.byUser.reset(strings.ToLower(username))

	if err := h.startSession(w, r, login); err != nil {
		h.renderError(w, r, nil, err)
		return
	}
	http.SetCookie(w, h.cookie(loginCookie, "", -1))
	h.cfg.Log.Info("console sign-in", "user_id", login.Caller.User.ID, "client", client)
	target := view.Next
	if target == "" {
		target = "/console/requests"
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

func (h *Handler) loginLimited(username, client string) (time.Time, bool) {
	if blocked, until := h.byUser.blocked(strings.ToLower(username)); blocked {
		return until, true
	}
	if blocked, until := h.byClient.blocked(client); blocked {
		return until, true
	}
	return time.Time{}, false
}

// checkCredentials returns the user when the password matches and, for a
// user with TOTP, the code matches an unused time step.
func (h *Handler) checkCredentials(r *http.Request, username, password, code string) (*store.ConsoleLogin, bool) {
	login, err := h.cfg.Store.ConsoleLoginByUsername(r.Context(), username)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			h.cfg.Log.Error("read console credential", "error", err)
		}
		VerifyPassword(unknownUserHash, password)
		return nil, false
	}
	if !VerifyPassword(login.Credential.PasswordHash, password) {
		return nil, false
	}
	if login.Credential.TOTPSecret == "" {
		return login, true
	}

	step, ok := matchTOTP(login.Credential.TOTPSecret, code, h.cfg.Now())
	if !ok {
		return nil, false
	}
	if err := h.cfg.Store.UseTOTPStep(r.Context(), login.Caller.User.ID, step); err != nil {
		if !errors.Is(err, store.ErrConflict) {
			h.cfg.Log.Error("record TOTP step", "user_id", login.Caller.User.ID, "error", err)
		}
		return nil, false
	}
	return login, true
}

// startSession stores a new session and sets its cookie. It also removes
// stale sessions, so the table does not grow with abandoned ones.
func (h *Handler) startSession(w http.ResponseWriter, r *http.Request, login *store.ConsoleLogin) error {
	token, err := randomToken()
	if err != nil {
		return errs.Wrap(err, "start session")
	}
	csrf, err := randomToken()
	if err != nil {
		return errs.Wrap(err, "start session")
	}
	if _, err := h.cfg.Store.CreateConsoleSession(r.Context(), login.Caller.User.ID, hashToken(token), csrf); err != nil {
		return errs.Wrap(err, "start session")
	}

	now := h.cfg.Now().UTC()
	if _, err := h.cfg.Store.DeleteStaleConsoleSessions(r.Context(), now.Add(-h.cfg.IdleTimeout), now.Add(-maxSessionAge)); err != nil {
		h.cfg.Log.Error("delete stale console sessions", "error", err)
	}
	// No MaxAge: the cookie ends with the browser session, and the server
	// ends the session itself after the idle timeout.
	http.SetCookie(w, h.cookie(sessionCookie, token, 0))
	return nil
}

func (h *Handler) checkLoginCSRF(r *http.Request) bool {
	c, err := r.Cookie(loginCookie)
	if err != nil || c.Value == "" {
		return false
	}
	sent := r.PostForm.Get("csrf_token")
	return sent != "" && subtle.ConstantTimeCompare([]byte(sent), []byte(c.Value)) == 1
}

// logout deletes the session, so its cookie no longer works anywhere.
func (h *Handler) logout(w http.ResponseWriter, r *http.Request, sess *session) {
	if err := h.cfg.Store.DeleteConsoleSession(r.Context(), sess.id); err != nil {
		h.renderError(w, r, sess, errs.Wrap(err, "sign out"))
		return
	}
	h.cfg.Log.Info("console sign-out", "user_id", sess.caller.User.ID, "session_id", sess.id)
	http.SetCookie(w, h.cookie(sessionCookie, "", -1))
	http.Redirect(w, r, "/console/login?notice=signed_out", http.StatusSeeOther)
}

// safeNext keeps a post-sign-in target only when it is a console path on
// this server, so the sign-in form cannot redirect elsewhere.
func safeNext(next string) string {
	if !strings.HasPrefix(next, Prefix) || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return ""
	}
	return next
}

// clientIP returns the address of the TCP peer. Forwarding headers are
// ignored, because any client can set them.
// NOTE: behind a reverse proxy every client shares the proxy's address, so
// the per-address limit then applies to all clients together.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
