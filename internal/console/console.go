// Package console serves the web console under /console/: server-rendered
// HTML pages (html/template, no JavaScript needed) for signing in,
// approving requests, placing and managing orders, organizations and the
// operator's queues. Every action goes through order.Service with a
// store.Caller built from the signed-in user, after the same permission
// table check as the API (order.Authorize), so the console and the API
// allow exactly the same things.
package console

import (
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/errs"
	"github.com/docsign-ca/docsign-ca/internal/order"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

// Prefix is the path under which the console is served.
const Prefix = "/console/"

// DefaultIdleTimeout ends a session after 30 minutes without a request.
// Operators lower it with serve's --console-idle-timeout.
const DefaultIdleTimeout = 30 * time.Minute

// maxSessionAge is the longest a session lasts after sign-in, even while
// it is in use.
const maxSessionAge = 12 * time.Hour

// maxFormBytes bounds a form body: the order form carries a PEM CSR of up
// to 64 KiB, and the rest of every form is small.
const maxFormBytes = 256 << 10

//go:embed templates/*.html static/*
var assets embed.FS

// Config configures the console.
type Config struct {
	Orders *order.Service
	Store  *store.Store
	Log    *slog.Logger
	// IdleTimeout ends a session after this long without a request;
	// zero means DefaultIdleTimeout.
	IdleTimeout time.Duration
	// SecureCookie sets the Secure attribute on the console's cookies. Set
	// it when the server speaks HTTPS; browsers drop Secure cookies on
	// plain HTTP.
	SecureCookie bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Handler is the console's HTTP handler.
type Handler struct {
	cfg      Config
	mux      *http.ServeMux
	pages    map[string]*template.Template
	static   fs.FS
	routes   []route
	byUser   *loginLimiter
	byClient *loginLimiter
}

// route is one console page or form target and the permission it needs.
type route struct {
	pattern string
	// action is the permission table's action the route performs, or ""
	// for the routes that work without a session (sign-in, the style sheet).
	action order.Action
	handle func(http.ResponseWriter, *http.Request, *session)
}

// New builds the console handler.
func New(cfg Config) (*Handler, error) {
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	static, err := fs.Sub(assets, "static")
	if err != nil {
		return nil, err
	}
	h := &Handler{
		cfg: cfg, mux: http.NewServeMux(), pages: pages, static: static,
		byUser:   newLoginLimiter(maxFailuresPerUser, cfg.Now),
		byClient: newLoginLimiter(maxFailuresPerClient, cfg.Now),
	}
	h.routes = h.routeTable()
	for _, rt := range h.routes {
		h.mux.Handle(rt.pattern, h.wrap(rt))
	}
	h.mux.HandleFunc("/console/", func(w http.ResponseWriter, r *http.Request) {
		h.renderError(w, r, nil, errs.NotFoundf("page", "no console page at %s", r.URL.Path))
	})
	return h, nil
}

// routeTable lists every console route. TestEveryRouteChecksPermissions
// calls each one with every role.
func (h *Handler) routeTable() []route {
	return []route{
		{pattern: "GET /console/static/{file}", handle: h.serveStatic},
		{pattern: "GET /console/login", handle: h.loginPage},
		{pattern: "POST /console/login", handle: h.login},
		{pattern: "POST /console/logout", action: order.ActionAccountView, handle: h.logout},
		{pattern: "GET /console/{$}", action: order.ActionAccountView, handle: h.home},

		{pattern: "GET /console/requests", action: order.ActionRequestView, handle: h.requestsPage},
		{pattern: "GET /console/requests/{id}", action: order.ActionRequestView, handle: h.requestPage},
		{pattern: "POST /console/requests/{id}/decision", action: order.ActionRequestDecide, handle: h.decideRequest},
		{pattern: "POST /console/requests/bulk", action: order.ActionRequestDecide, handle: h.bulkConfirmPage},
		{pattern: "POST /console/requests/bulk/approve", action: order.ActionRequestDecide, handle: h.bulkApprove},

		{pattern: "GET /console/orders", action: order.ActionOrderView, handle: h.ordersPage},
		{pattern: "GET /console/orders/new", action: order.ActionOrderPlace, handle: h.orderFormPage},
		{pattern: "POST /console/orders/new", action: order.ActionOrderPlace, handle: h.placeOrder},
		{pattern: "GET /console/orders/{id}", action: order.ActionOrderView, handle: h.orderPage},
		{pattern: "GET /console/orders/{id}/download/{format}", action: order.ActionCertificateView, handle: h.download},
		{pattern: "POST /console/orders/{id}/revoke", action: order.ActionCertificateRevoke, handle: h.revokeOrder},
		{pattern: "POST /console/orders/{id}/cancel", action: order.ActionOrderChange, handle: h.cancelOrder},

		{pattern: "GET /console/organizations", action: order.ActionOrganizationView, handle: h.organizationsPage},
		{pattern: "GET /console/organizations/{id}", action: order.ActionOrganizationView, handle: h.organizationPage},
		{pattern: "POST /console/organizations/{id}/validation", action: order.ActionValidationApprove, handle: h.completeValidation},

		{pattern: "GET /console/operator", action: order.ActionOperatorView, handle: h.operatorPage},
		{pattern: "POST /console/operator/tokens/{id}/ship", action: order.ActionTokenShip, handle: h.shipToken},
	}
}

// ServeHTTP serves a console request with the console's security headers.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	// The pages need no script, frame or foreign resource; the policy
	// forbids them (CSP Level 3), and forms may post only to this origin.
	hdr.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("X-Frame-Options", "DENY")
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)

	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			h.cfg.Log.Error("console handler panicked", "method", r.Method, "path", r.URL.Path, "panic", v)
			h.renderError(w, r, nil, errs.New(errs.Internal, "internal_error", "handler panicked"))
		}
	}()
	h.mux.ServeHTTP(w, r)
}

// wrap adds the session, CSRF and permission checks a route needs.
func (h *Handler) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rt.action == "" {
			rt.handle(w, r, nil)
			return
		}
		w.Header().Set("Cache-Control", "no-store")

		sess, ok := h.requireSession(w, r)
		if !ok {
			return
		}
		if r.Method == http.MethodPost && !h.checkCSRF(r, sess) {
			h.renderError(w, r, sess, errs.New(errs.Forbidden, "invalid_csrf_token",
				"the form's CSRF token is missing or does not match this session; reload the page and submit the form again"))
			return
		}
		if err := authorizeRoute(&sess.caller, rt); err != nil {
			h.cfg.Log.Info("console request rejected", "method", r.Method, "path", r.URL.Path, "user_id", sess.caller.User.ID, "action", rt.action)
			h.renderError(w, r, sess, err)
			return
		}
		rt.handle(w, r, sess)
	})
}

// authorizeRoute applies the permission table, the same one the API uses.
func authorizeRoute(caller *store.Caller, rt route) error {
	return order.Authorize(caller, rt.action)
}

func (h *Handler) serveStatic(w http.ResponseWriter, r *http.Request, _ *session) {
	body, err := fs.ReadFile(h.static, r.PathValue("file"))
	if err != nil {
		h.renderError(w, r, nil, errs.NotFoundf("file", "no console file %q", r.PathValue("file")))
		return
	}
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "max-age=3600")
	_, _ = w.Write(body)
}

func (h *Handler) home(w http.ResponseWriter, r *http.Request, _ *session) {
	http.Redirect(w, r, "/console/requests", http.StatusSeeOther)
}

// pathID reads the {id} path value as a positive integer.
func pathID(r *http.Request, object string) (int64, error) {
	raw := r.PathValue("id")
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		return 0, errs.NotFoundf(object, "%s %q not found; ids are positive whole numbers", object, raw)
	}
	return id, nil
}

// statusOf maps an error to the HTTP status of its page, as the API's
// envelope does.
func statusOf(err error) int {
	e := errs.As(err)
	if e == nil {
		return http.StatusInternalServerError
	}
	switch e.Kind {
	case errs.BadRequest:
		return http.StatusBadRequest
	case errs.Unauthenticated, errs.Forbidden:
		return http.StatusForbidden
	case errs.NotFound:
		return http.StatusNotFound
	case errs.Conflict:
		return http.StatusConflict
	case errs.TooLarge:
		return http.StatusRequestEntityTooLarge
	case errs.RateLimited:
		return http.StatusTooManyRequests
	}
	return http.StatusInternalServerError
}

// parseForm parses a POST body and maps an oversized one to 413.
func parseForm(r *http.Request) error {
	err := r.ParseForm()
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return errs.New(errs.TooLarge, "request_entity_too_large", "the form is larger than %d bytes; send a smaller one", maxFormBytes)
	}
	if err != nil {
		return errs.New(errs.BadRequest, "bad_request_format", "the form could not be read: %v", err)
	}
	return nil
}
