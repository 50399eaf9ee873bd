package api

import (
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/errs"
	"github.com/docsign-ca/docsign-ca/internal/order"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

// provisioningRoutes registers the client app's pickup endpoints, which the
// pickup code authenticates instead of X-DC-DEVKEY, and the administrator's
// endpoint that replaces a pickup code. The code travels in the body, never
// in the URL, so that it does not reach access logs.
func (s *Server) provisioningRoutes() {
	s.mux.HandleFunc("POST /services/v2/pickup/info", s.pickupInfo)
	s.mux.HandleFunc("POST /services/v2/pickup", s.redeemPickup)
	s.mux.HandleFunc("POST /services/v2/pickup/certificate", s.pickupCertificate)
	s.handle("POST /services/v2/order/certificate/{id}/pickup-code", s.newPickupCode)
}

// Lockout of an address that sends wrong or used pickup codes: after
// pickupMaxFailures within pickupFailureWindow, every pickup request from
// that address gets 429 until the window ends. Codes carry 120 random bits,
// so the lockout slows down noise rather than a search that could succeed.
const (
	pickupMaxFailures   = 10
	pickupFailureWindow = 15 * time.Minute
	pickupMaxAddresses  = 10000
)

// pickupGuard counts pickup failures per client address.
// NOTE: the counts live in this process; replicas behind a load balancer
// count separately, and RemoteAddr is the balancer's address unless it
// passes connections through.
type pickupGuard struct {
	mu       sync.Mutex
	failures map[string]*pickupFailures
}

type pickupFailures struct {
	count int
	since time.Time
}

// lockedFor returns how long the address stays locked out, or 0.
func (g *pickupGuard) lockedFor(addr string, now time.Time) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	f := g.failures[addr]
	if f == nil || now.Sub(f.since) >= pickupFailureWindow || f.count < pickupMaxFailures {
		return 0
	}
	return f.since.Add(pickupFailureWindow).Sub(now)
}

func (g *pickupGuard) fail(addr string, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.failures == nil {
		g.failures = map[string]*pickupFailures{}
	}
	if len(g.failures) >= pickupMaxAddresses {
		g.prune(now)
	}
	f := g.failures[addr]
	if f == nil || now.Sub(f.since) >= pickupFailureWindow {
		f = &pickupFailures{since: now}
		g.failures[addr] = f
	}
	f.count++
}

// prune drops the addresses whose window has ended, and every address when
// that frees nothing, so that the map stays bounded.
func (g *pickupGuard) prune(now time.Time) {
	for addr, f := range g.failures {
		if now.Sub(f.since) >= pickupFailureWindow {
			delete(g.failures, addr)
		}
	}
	if len(g.failures) >= pickupMaxAddresses {
		g.failures = map[string]*pickupFailures{}
	}
}

func clientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// pickupBody reads the code and the csr field from a pickup request. On
// failure it writes the error response itself and returns false.
func (s *Server) pickupBody(w http.ResponseWriter, r *http.Request) (code string, csrValue any, ok bool) {
	addr := clientAddress(r)
	if wait := s.pickups.lockedFor(addr, time.Now()); wait > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		s.writeError(w, r, errs.New(errs.RateLimited, "request_limit_exceeded",
			"too many wrong or used pickup codes from this address; retry after the number of seconds in the Retry-After header"))
		return "", nil, false
	}

	tree, err := readBody(r)
	if err != nil {
		s.writeError(w, r, err)
		return "", nil, false
	}
	body, _ := tree.(map[string]any)
	var problems errs.List
	if body == nil {
		problems.Invalid("body", "the request body must be a JSON object such as {\"code\": \"ABCD-...\"}")
	}
	code, isString := body["code"].(string)
	switch {
	case body == nil:
	case body["code"] == nil || (isString && code == ""):
		problems.Required("code", "send the pickup code from the e-mail in code")
	case !isString:
		problems.Invalid("code", "code must be a string such as ABCD-EFGH-JKLM-NPQR-STUV-WXYZ")
	}
	if err := problems.Err(); err != nil {
		s.writeError(w, r, err)
		return "", nil, false
	}
	return code, body["csr"], true
}

// pickupFailed writes the error response of a pickup request and counts a
// wrong or used code against the client's address.
func (s *Server) pickupFailed(w http.ResponseWriter, r *http.Request, err error) {
	if order.PickupCodeIsFailure(err) {
		s.pickups.fail(clientAddress(r), time.Now())
	}
	s.writeError(w, r, err)
}

type pickupInfoView struct {
	OrderID       int64          `json:"order_id"`
	Status        string         `json:"status"`
	KeyType       string         `json:"key_type"`
	KeySize       int            `json:"key_size"`
	SignatureHash string         `json:"signature_hash"`
	Organization  map[string]any `json:"organization"`
	CodeExpiresAt string         `json:"code_expires_at"`
}

func (s *Server) pickupInfo(w http.ResponseWriter, r *http.Request) {
	code, _, ok := s.pickupBody(w, r)
	if !ok {
		return
	}
	info, err := s.orders.PickupInfo(r.Context(), code)
	if err != nil {
		s.pickupFailed(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, pickupInfoView{
		OrderID: info.OrderID, Status: info.Status, KeyType: info.KeyType, KeySize: info.KeySize,
		SignatureHash: info.SignatureHash, Organization: map[string]any{"name": info.OrganizationName},
		CodeExpiresAt: info.CodeExpiresAt.UTC().Format(time.RFC3339),
	})
}

type pickupResultView struct {
	OrderID          int64        `json:"order_id"`
	CertificateID    int64        `json:"certificate_id"`
	Status           string       `json:"status"`
	Message          string       `json:"message,omitempty"`
	CertificateChain []chainEntry `json:"certificate_chain,omitempty"`
}

// writePickupResult responds 200 with the chain once the certificate is
// issued, and 202 while it is pending or after its issuance failed.
func writePickupResult(w http.ResponseWriter, res *order.PickupResult) {
	v := pickupResultView{OrderID: res.OrderID, CertificateID: res.CertificateID}
	switch {
	case res.Certificate != nil:
		v.Status = "issued"
		v.CertificateChain = append(v.CertificateChain, chainEntry{SubjectCommonName: commonNameOf(res.Certificate), PEM: pemString(res.Certificate)})
		for _, c := range res.Chain {
			v.CertificateChain = append(v.CertificateChain, chainEntry{SubjectCommonName: c.Subject.CommonName, PEM: pemString(c.Raw)})
		}
		writeJSON(w, http.StatusOK, v)
		return
	case res.Failed:
		v.Status = "failed"
		v.Message = "the CA could not issue the certificate; the account's administrator sees the reason in the order"
	default:
		v.Status = "pending"
		v.Message = "the certificate is not issued yet; poll POST /services/v2/pickup/certificate with the same code"
	}
	writeJSON(w, http.StatusAccepted, v)
}

func (s *Server) redeemPickup(w http.ResponseWriter, r *http.Request) {
	code, csrValue, ok := s.pickupBody(w, r)
	if !ok {
		return
	}
	parsed, err := order.ParseCSRField(csrValue, "csr")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := s.orders.RedeemPickup(r.Context(), code, parsed)
	if err != nil {
		s.pickupFailed(w, r, err)
		return
	}
	writePickupResult(w, res)
}

func (s *Server) pickupCertificate(w http.ResponseWriter, r *http.Request) {
	code, _, ok := s.pickupBody(w, r)
	if !ok {
		return
	}
	res, err := s.orders.PickupCertificate(r.Context(), code)
	if err != nil {
		s.pickupFailed(w, r, err)
		return
	}
	writePickupResult(w, res)
}

type newPickupCodeView struct {
	OrderID   int64  `json:"order_id"`
	Code      string `json:"code"`
	ExpiresAt string `json:"expires_at"`
}

func (s *Server) newPickupCode(w http.ResponseWriter, r *http.Request, caller *store.Caller) {
	id, err := pathID(r, "order")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := s.orders.NewPickupCode(r.Context(), caller, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, newPickupCodeView{OrderID: res.OrderID, Code: res.Code, ExpiresAt: res.ExpiresAt.UTC().Format(time.RFC3339)})
}
