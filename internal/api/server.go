// Package api serves CertCentral's Services API v2 wire format. It handles
// HTTP and JSON and none of SQL or signing: it decodes a request into a
// typed command for the order package, and renders results and errors.
package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/errs"
	"github.com/docsign-ca/docsign-ca/internal/metrics"
	"github.com/docsign-ca/docsign-ca/internal/order"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

// MaxBodyBytes is the largest request body accepted (1 MiB). A larger body
// gets 413 before it is parsed.
const MaxBodyBytes = 1 << 20

const apiPrefix = "/services/v2/"

// Server is the HTTP front end.
type Server struct {
	orders  *order.Service
	store   *store.Store
	log     *slog.Logger
	mux     *routeMux
	ready   atomic.Bool
	limiter *rateLimiter
	// revocation serves /crl, /ca and /ocsp once SetRevocation set it.
	revocation revocationHolder
	// pickups counts wrong pickup codes per client address.
	pickups pickupGuard
}

// New builds the server and its routes. limits are the per-API-key rate
// limits; none disables rate limiting.
func New(orders *order.Service, st *store.Store, log *slog.Logger, limits ...RateLimit) *Server {
	s := &Server{orders: orders, store: st, log: log, mux: &routeMux{ServeMux: http.NewServeMux()}, limiter: newRateLimiter(limits)}
	s.routes()
	return s
}

// SetReady marks bootstrap complete, after which /healthz returns 200.
func (s *Server) SetReady() { s.ready.Store(true) }

func (s *Server) routes() {
	s.mux.HandleFunc("GET /healthz", s.healthz)

	s.handle("POST /services/v2/organization", s.createOrganization)
	s.handle("GET /services/v2/organization/{id}", s.getOrganization)
	s.handle("POST /services/v2/organization/{id}/validation", s.submitValidation)
	s.handle("GET /services/v2/organization/{id}/validation", s.getValidation)

	s.handle("POST /services/v2/order/certificate/ds_org", s.placeDSOrder)
	s.handle("GET /services/v2/order/certificate/{id}", s.getOrder)

	s.handle("PUT /services/v2/request/{id}/status", s.updateRequestStatus)

	s.certificateRoutes()
	s.orderChangeRoutes()
	s.metricsRoutes()
	s.readRoutes()
	s.revocationRoutes()
	s.provisioningRoutes()
	s.accountRoutes()
	s.handle("GET /services/v2/certificate/intermediates", s.listIntermediates)
}

// handle registers an authenticated API route. The route's action in
// routeActions is checked before fn runs.
func (s *Server) handle(pattern string, fn func(http.ResponseWriter, *http.Request, *store.Caller)) {
	action, ok := routeActions[pattern]
	if !ok {
		action = actionUnmapped
	}
	s.mux.Handle(pattern, s.authenticated(action, fn))
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	if !s.ready.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "starting"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// ServeHTTP adds a request id, bounds the body, recovers from panics and
// turns the mux's own 404 and 405 responses into CertCentral's envelope.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	w = sw
	_, route := s.mux.Handler(r)
	if route == "" {
		route = metrics.UnmatchedRoute
	}
	// Registered before the recovery below, so it runs after it and records
	// the status of the error response.
	defer observeRequest(route, sw, start)

	ctx := context.WithValue(r.Context(), requestIDKey{}, newRequestID())
	ctx = store.WithAuditSource(ctx, store.AuditSourceAPI, requestID(ctx))
	r = r.WithContext(ctx)
	w.Header().Set("X-Request-Id", requestID(ctx))
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)

	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("handler panicked", "method", r.Method, "path", r.URL.Path, "request_id", requestID(ctx), "panic", v)
			s.writeError(w, r, errs.New(errs.Internal, "internal_error", "handler panicked"))
		}
	}()

	if route == metrics.UnmatchedRoute {
		s.unrouted(w, r)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// unrouted responds to a request that no pattern matched. The mux itself
// decides between 404 and 405, since it has the methods of each path, and
// its plain-text response is replaced by the envelope.
func (s *Server) unrouted(w http.ResponseWriter, r *http.Request) {
	rec := httptest.NewRecorder()
	h, _ := s.mux.Handler(r)
	h.ServeHTTP(rec, r)

	if rec.Code == http.StatusMethodNotAllowed {
		if name, ok := unknownProductOrder(r); ok {
			writeJSON(w, http.StatusNotFound, errorEnvelope{Errors: []wireError{{
				Code: "not_found|product",
				Message: fmt.Sprintf("product %q not found; %s is the product this server issues: POST %sorder/certificate/%s",
					name, order.ProductNameID, apiPrefix, order.ProductNameID),
			}}})
			return
		}

		w.Header().Set("Allow", rec.Header().Get("Allow"))
		writeJSON(w, http.StatusMethodNotAllowed, errorEnvelope{Errors: []wireError{{
			Code:    "method_not_allowed",
			Message: "method " + r.Method + " is not allowed on " + r.URL.Path + "; allowed: " + rec.Header().Get("Allow"),
		}}})
		return
	}
	writeJSON(w, http.StatusNotFound, errorEnvelope{Errors: []wireError{{
		Code:    "not_found|route",
		Message: "no route matches " + r.Method + " " + r.URL.Path,
	}}})
}

// unknownProductOrder returns the product name of a POST to
// /services/v2/order/certificate/{name} for a product other than ds_org.
// Such a request matches only the GET route of order info, whose 405 would
// send the client to the wrong method. A name of digits is an order id,
// for which 405 is right.
func unknownProductOrder(r *http.Request) (string, bool) {
	if r.Method != http.MethodPost {
		return "", false
	}
	name, ok := strings.CutPrefix(r.URL.Path, apiPrefix+"order/certificate/")
	if !ok || name == "" || strings.Contains(name, "/") {
		return "", false
	}
	if strings.Trim(name, "0123456789") == "" {
		return "", false
	}
	return name, true
}

type callerKey struct{}

// authenticated resolves X-DC-DEVKEY to a caller. A missing or unknown key
// gets 403 access_denied|access_denied_invalid_key, as from CertCentral.
func (s *Server) authenticated(action order.Action, fn func(http.ResponseWriter, *http.Request, *store.Caller)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := strings.TrimSpace(r.Header.Get("X-DC-DEVKEY"))
		if key == "" {
			s.writeError(w, r, errs.New(errs.Unauthenticated, "access_denied|access_denied_invalid_key",
				"missing X-DC-DEVKEY header; send the API key of a user in that header"))
			return
		}

		caller, err := s.store.CallerByKeyHash(r.Context(), HashAPIKey(key))
		if err == store.ErrNotFound {
			s.writeError(w, r, errs.New(errs.Unauthenticated, "access_denied|access_denied_invalid_key",
				"the API key in X-DC-DEVKEY is not valid; check the key or create a new one"))
			return
		}
		if err != nil {
			s.writeError(w, r, errs.Wrap(err, "authenticate"))
			return
		}
		if !s.limiter.allow(HashAPIKey(key), w) {
			s.writeError(w, r, errs.New(errs.RateLimited, "request_limit_exceeded",
				"Service unavailable, please limit request volume; retry after the number of seconds in the Retry-After header"))
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), callerKey{}, caller))
		if err := authorize(caller, action); err != nil {
			s.writeError(w, r, err)
			return
		}
		s.idempotent(w, r, caller, fn)
	})
}

// HashAPIKey returns the SHA-256 of an API key, the form stored in the
// database. API keys carry at least 128 random bits, so a fast hash is enough.
func HashAPIKey(key string) []byte {
	sum := sha256.Sum256([]byte(key))
	return sum[:]
}

type requestIDKey struct{}

func newRequestID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}
