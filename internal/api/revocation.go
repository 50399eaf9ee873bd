package api

import (
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/docsign-ca/docsign-ca/internal/errs"
	"github.com/docsign-ca/docsign-ca/internal/jsonbody"
	"github.com/docsign-ca/docsign-ca/internal/order"
	"github.com/docsign-ca/docsign-ca/internal/revocation"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

// maxRevokeComments bounds the comments of a revoke request, like an order's.
const maxRevokeComments = 2000

// Content types of the revocation status endpoints (RFC 5280 §4.2.1.13,
// RFC 2585 §4, RFC 6960 Appendix C).
const (
	contentTypeCRL          = "application/pkix-crl"
	contentTypeCertificate  = "application/pkix-cert"
	contentTypeOCSPRequest  = "application/ocsp-request"
	contentTypeOCSPResponse = "application/ocsp-response"
)

// revocationRoutes registers the revoke endpoints of the API and the
// public revocation status endpoints. The status endpoints need no API
// key: relying parties fetch them without one.
func (s *Server) revocationRoutes() {
	s.handle("PUT /services/v2/certificate/{id}/revoke", s.revokeCertificate)
	s.handle("PUT /services/v2/order/certificate/{id}/revoke", s.revokeOrder)

	s.mux.HandleFunc("GET /crl/{file}", s.serveCRL)
	s.mux.HandleFunc("GET /ca/{file}", s.serveCACertificate)
	s.mux.HandleFunc("POST /ocsp", s.serveOCSPPost)
	s.mux.HandleFunc("GET /ocsp/{request...}", s.serveOCSPGet)
}

// revocationHolder holds the revocation status service of a Server.
type revocationHolder = atomic.Pointer[revocation.Service]

// SetRevocation connects the revocation status service that serves /crl,
// /ca and /ocsp. Until it is set, those endpoints return 404.
func (s *Server) SetRevocation(rv *revocation.Service) { s.revocation.Store(rv) }

// revokeRequestView is CertCentral's revoke request object.
type revokeRequestView struct {
	ID        int64    `json:"id"`
	Date      string   `json:"date"`
	Type      string   `json:"type"`
	Status    string   `json:"status"`
	Requester userView `json:"requester"`
	Comments  string   `json:"comments"`
}

// revokeCertificate revokes a certificate named by its id or by its serial
// number in hex.
func (s *Server) revokeCertificate(w http.ResponseWriter, r *http.Request, caller *store.Caller) {
	in, err := parseRevokeBody(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	outcome, err := s.orders.RevokeCertificate(r.Context(), caller, r.PathValue("id"), in)
	s.writeRevokeOutcome(w, r, outcome, err)
}

// revokeOrder revokes every issued certificate of an order.
func (s *Server) revokeOrder(w http.ResponseWriter, r *http.Request, caller *store.Caller) {
	id, err := pathID(r, "order")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	in, err := parseRevokeBody(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	outcome, err := s.orders.RevokeOrder(r.Context(), caller, id, in)
	s.writeRevokeOutcome(w, r, outcome, err)
}

// writeRevokeOutcome writes 201 with the revoke request, or 204 with no
// body when the certificates were revoked at once (skip_approval), as
// CertCentral does.
func (s *Server) writeRevokeOutcome(w http.ResponseWriter, r *http.Request, outcome *order.RevokeOutcome, err error) {
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if outcome.Request == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}

	req, user := outcome.Request, outcome.Requester
	writeJSON(w, http.StatusCreated, revokeRequestView{
		ID:        req.ID,
		Date:      req.Date.Format(dateTimeLayout),
		Type:      req.Type,
		Status:    req.Status,
		Requester: userView{ID: user.ID, FirstName: user.FirstName, LastName: user.LastName, Email: user.Email},
		Comments:  req.Comments,
	})
}

// parseRevokeBody reads {"comments", "revocation_reason", "skip_approval"}.
// It also accepts the keys that Venafi's DigiCert connector sends, "reason"
// and "comment", and "Comment". Every field is optional, so an empty body
// is accepted too; unknown fields are ignored.
func parseRevokeBody(r *http.Request) (order.RevokeInput, error) {
	var in order.RevokeInput
	body, err := io.ReadAll(r.Body)
	if isMaxBytes(err) {
		return in, errs.New(errs.TooLarge, "request_entity_too_large",
			"request body is larger than %d bytes; send a smaller body", MaxBodyBytes)
	}
	if err != nil {
		return in, errs.New(errs.BadRequest, "bad_request_format", "could not read the request body: %v", err)
	}

	root := map[string]any{}
	if strings.TrimSpace(string(body)) != "" {
		tree, err := jsonbody.Decode(body)
		if err != nil {
			return in, err
		}
		root, _ = tree.(map[string]any)
	}

	var problems errs.List
	for _, key := range []string{"comments", "comment", "Comment"} {
		if in.Comments = optionalString(root, key, maxRevokeComments, &problems); in.Comments != "" {
			break
		}
	}
	in.Reason = parseRevocationReason(root, &problems)
	in.SkipApproval = optionalBool(root, "skip_approval", &problems)
	return in, problems.Err()
}

// parseRevocationReason reads revocation_reason, or Venafi's reason.
func parseRevocationReason(root map[string]any, problems *errs.List) revocation.Reason {
	for _, key := range []string{"revocation_reason", "reason"} {
		raw, ok := root[key]
		if !ok || raw == nil {
			continue
		}
		name, ok := raw.(string)
		if !ok {
			problems.Invalid(key, "%s must be a string; allowed: %s", key, strings.Join(revocation.ReasonNames(), ", "))
			return revocation.Unspecified
		}
		reason, err := revocation.ParseReason(name)
		if err != nil {
			problems.Invalid(key, "%s", err.Error())
		}
		return reason
	}
	return revocation.Unspecified
}

// statusService returns the revocation status service, or writes a 404
// when none is connected.
func (s *Server) statusService(w http.ResponseWriter, r *http.Request) *revocation.Service {
	rv := s.revocation.Load()
	if rv == nil {
		writeJSON(w, http.StatusNotFound, errorEnvelope{Errors: []wireError{{
			Code:    "not_found|route",
			Message: "no revocation status service runs on this server",
		}}})
	}
	return rv
}

// serveCRL serves GET /crl/<ca_cert_id>.crl: the DER CRL.
func (s *Server) serveCRL(w http.ResponseWriter, r *http.Request) {
	rv := s.statusService(w, r)
	if rv == nil {
		return
	}
	caCertID, ok := strings.CutSuffix(r.PathValue("file"), ".crl")
	if !ok {
		s.writeError(w, r, errs.NotFoundf("crl", "no CRL at %s; CRLs are at /crl/<ca_cert_id>.crl", r.URL.Path))
		return
	}

	crl, err := rv.CRL(r.Context(), caCertID)
	if errors.Is(err, revocation.ErrUnknownCA) {
		s.writeError(w, r, errs.NotFoundf("crl", "no issuing CA has ca_cert_id %q", caCertID))
		return
	}
	if err != nil {
		s.writeError(w, r, errs.Wrap(err, "make CRL"))
		return
	}

	// A CRL may change before its nextUpdate, when a revocation is listed,
	// so caches must check back.
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Last-Modified", crl.ThisUpdate.UTC().Format(http.TimeFormat))
	writeDER(w, contentTypeCRL, crl.DER)
}

// serveCACertificate serves GET /ca/<ca_cert_id>.cer: the DER certificate
// of a root or intermediate CA.
func (s *Server) serveCACertificate(w http.ResponseWriter, r *http.Request) {
	rv := s.statusService(w, r)
	if rv == nil {
		return
	}
	caCertID, ok := strings.CutSuffix(r.PathValue("file"), ".cer")
	if !ok {
		s.writeError(w, r, errs.NotFoundf("ca", "no CA certificate at %s; CA certificates are at /ca/<ca_cert_id>.cer", r.URL.Path))
		return
	}

	der, err := rv.CACertificate(r.Context(), caCertID)
	if errors.Is(err, revocation.ErrUnknownCA) {
		s.writeError(w, r, errs.NotFoundf("ca", "no CA has ca_cert_id %q", caCertID))
		return
	}
	if err != nil {
		s.writeError(w, r, errs.Wrap(err, "read CA certificate"))
		return
	}
	w.Header().Set("Cache-Control", "max-age=86400")
	writeDER(w, contentTypeCertificate, der)
}

// serveOCSPPost responds to an OCSP request sent as the body of a POST
// (RFC 6960 Appendix A.1). The Content-Type should be
// application/ocsp-request. Another one is logged, and the body is still
// parsed, because the body alone decides.
func (s *Server) serveOCSPPost(w http.ResponseWriter, r *http.Request) {
	rv := s.statusService(w, r)
	if rv == nil {
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != contentTypeOCSPRequest {
		s.log.Info("OCSP request with an unexpected Content-Type", "content_type", ct, "request_id", requestID(r.Context()))
	}

	body, err := io.ReadAll(io.LimitReader(r.Body, revocation.MaxOCSPRequestBytes+1))
	if err != nil {
		s.log.Info("read OCSP request body", "request_id", requestID(r.Context()), "error", err)
		body = nil
	}
	s.writeOCSP(w, r, rv, body)
}

// serveOCSPGet serves GET /ocsp/<request>, where the request is the
// base64 of the DER OCSP request, URL-encoded (RFC 6960 Appendix A.1).
// Standard and URL-safe base64 are accepted, with or without padding.
//
// NOTE: Go's ServeMux redirects a path with "//" or "/./" before this
// handler runs, which corrupts an unencoded base64 request that contains
// them. Clients that URL-encode "/" as %2F, as RFC 6960 specifies, or that
// use POST are not affected.
func (s *Server) serveOCSPGet(w http.ResponseWriter, r *http.Request) {
	rv := s.statusService(w, r)
	if rv == nil {
		return
	}
	der, err := decodeOCSPPath(r.PathValue("request"))
	if err != nil {
		s.log.Info("OCSP GET request is not base64", "request_id", requestID(r.Context()), "error", err)
	}
	s.writeOCSP(w, r, rv, der)
}

// decodeOCSPPath decodes standard or URL-safe base64, padded or not.
func decodeOCSPPath(encoded string) ([]byte, error) {
	encoded = strings.NewReplacer("-", "+", "_", "/").Replace(strings.TrimSpace(encoded))
	return base64.RawStdEncoding.DecodeString(strings.TrimRight(encoded, "="))
}

// writeOCSP sends the OCSP response with status 200, also for an error
// status such as malformedRequest (RFC 6960 §2.3).
func (s *Server) writeOCSP(w http.ResponseWriter, r *http.Request, rv *revocation.Service, der []byte) {
	resp := rv.Respond(r.Context(), der)
	if !resp.ThisUpdate.IsZero() {
		// OCSP reads the status at every request, so caches must check back
		// to see a revocation at once.
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("Last-Modified", resp.ThisUpdate.UTC().Format(http.TimeFormat))
	}
	writeDER(w, contentTypeOCSPResponse, resp.DER)
}

func writeDER(w http.ResponseWriter, contentType string, der []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(der)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(der)
}
