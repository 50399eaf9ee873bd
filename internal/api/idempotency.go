package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/docsign-ca/docsign-ca/internal/errs"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

// maxIdempotencyKeyLength bounds the Idempotency-Key header.
const maxIdempotencyKeyLength = 255

// recorder captures a response so that it can be stored and replayed.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	r.body.Write(p)
	return r.ResponseWriter.Write(p)
}

// idempotent runs a POST at most once per Idempotency-Key and account. The
// same key with the same method, path and body replays the first answer; the
// same key with another request is 409. A server-side failure (5xx) releases
// the key, so that the client can retry it.
func (s *Server) idempotent(w http.ResponseWriter, r *http.Request, caller *store.Caller, next func(http.ResponseWriter, *http.Request, *store.Caller)) {
	key := r.Header.Get("Idempotency-Key")
	if r.Method != http.MethodPost || key == "" {
		next(w, r, caller)
		return
	}
	if len(key) > maxIdempotencyKeyLength {
		s.writeError(w, r, errs.New(errs.BadRequest, "invalid_value:Idempotency-Key",
			"the Idempotency-Key header is longer than %d characters", maxIdempotencyKeyLength))
		return
	}

	body, err := io.ReadAll(r.Body)
	if isMaxBytes(err) {
		s.writeError(w, r, errs.New(errs.TooLarge, "request_entity_too_large", "request body is larger than %d bytes; send a smaller body", MaxBodyBytes))
		return
	}
	if err != nil {
		s.writeError(w, r, errs.New(errs.BadRequest, "bad_request_format", "could not read the request body: %v", err))
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))

	hash := sha256.New()
	hash.Write([]byte(r.Method + " " + r.URL.Path + "\n"))
	hash.Write(body)

	stored, err := s.store.ReserveIdempotencyKey(r.Context(), caller.Account.ID, key, hash.Sum(nil))
	var orphan *store.OrphanedOrderError
	switch {
	case errors.Is(err, store.ErrIdempotencyMismatch):
		s.writeError(w, r, errs.New(errs.Conflict, "idempotency_key_reused",
			"Idempotency-Key %q was already used with a different request; use a new key for a new request", key))
		return
	case errors.As(err, &orphan):
		s.replayOrphanedOrder(w, r, caller, key, orphan.OrderID)
		return
	case errors.Is(err, store.ErrIdempotencyInProgress):
		s.writeError(w, r, errs.New(errs.Conflict, "idempotency_key_in_progress",
			"the first request with Idempotency-Key %q has not finished; retry in a moment", key))
		return
	case err != nil:
		s.writeError(w, r, errs.Wrap(err, "reserve idempotency key"))
		return
	case stored != nil:
		w.Header().Set("Content-Type", stored.ContentType)
		w.Header().Set("Content-Length", strconv.Itoa(len(stored.Body)))
		w.Header().Set("Idempotent-Replayed", "true")
		w.WriteHeader(stored.Status)
		_, _ = w.Write(stored.Body)
		return
	}

	rec := &recorder{ResponseWriter: w}
	next(rec, r.WithContext(store.WithIdempotencyKey(r.Context(), caller.Account.ID, key)), caller)

	// The request's own context may be done once the handler returns; the
	// key's record must still be written.
	ctx := context.WithoutCancel(r.Context())
	if rec.status >= 500 || rec.status == 0 {
		if err := s.store.ReleaseIdempotencyKey(ctx, caller.Account.ID, key); err != nil {
			s.log.Error("release idempotency key", "request_id", requestID(r.Context()), "error", err)
		}
		return
	}
	resp := store.StoredResponse{Status: rec.status, ContentType: rec.Header().Get("Content-Type"), Body: rec.body.Bytes()}
	if err := s.store.CompleteIdempotencyKey(ctx, caller.Account.ID, key, resp); err != nil {
		s.log.Error("store idempotent response", "request_id", requestID(r.Context()), "error", err)
	}
}

// replayOrphanedOrder responds to a retry whose first request placed an
// order on a server that died before it stored the response. The response
// is built from the stored order, as ds_org's response without
// certificate_chain (the chain is one GET away), and stored for the key.
func (s *Server) replayOrphanedOrder(w http.ResponseWriter, r *http.Request, caller *store.Caller, key string, orderID int64) {
	info, err := s.orders.Order(r.Context(), caller, orderID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}

	view := placedOrderView{ID: orderID}
	if len(info.Requests) > 0 {
		first := info.Requests[0]
		view.Requests = []requestRef{{ID: first.ID, Status: placedRequestStatus(first, info.Certificate)}}
	}
	issued := info.Certificate != nil && info.Certificate.Status == store.CertificateIssued
	if info.Certificate != nil && (len(view.Requests) == 0 || issued) {
		view.CertificateID = info.Certificate.ID
	}
	body, err := json.Marshal(view)
	if err != nil {
		s.writeError(w, r, errs.Wrap(err, "encode the replayed order"))
		return
	}

	resp := store.StoredResponse{Status: http.StatusCreated, ContentType: "application/json", Body: body}
	if err := s.store.CompleteIdempotencyKey(context.WithoutCancel(r.Context()), caller.Account.ID, key, resp); err != nil {
		s.log.Error("store idempotent response", "request_id", requestID(r.Context()), "error", err)
	}
	s.log.Warn("returned the order that a retry's first request placed before its server stopped",
		"order_id", orderID, "request_id", requestID(r.Context()))
	w.Header().Set("Content-Type", resp.ContentType)
	w.Header().Set("Idempotent-Replayed", "true")
	w.WriteHeader(resp.Status)
	_, _ = w.Write(body)
}

// placedRequestStatus is the status ds_org's response shows for a request:
// pending, submitted (approved and waiting for issuance) or approved (and
// issued).
func placedRequestStatus(req store.Request, cert *store.Certificate) string {
	if req.Status != store.RequestApproved {
		return req.Status
	}
	if cert != nil && cert.Status == store.CertificateIssued {
		return "approved"
	}
	return "submitted"
}
