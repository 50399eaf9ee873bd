package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/docsign-ca/docsign-ca/internal/errs"
)

// contentTypeJSON is sent without a charset parameter: some CertCentral
// clients compare the header literally.
const contentTypeJSON = "application/json"

type wireError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

type errorEnvelope struct {
	Errors []wireError `json:"errors"`
}

// statusFor maps an error kind to its HTTP status. This table and writeError
// are the only place where internal errors meet the wire.
var statusFor = map[errs.Kind]int{
	errs.BadRequest:      http.StatusBadRequest,
	errs.Unauthenticated: http.StatusForbidden,
	errs.Forbidden:       http.StatusForbidden,
	errs.NotFound:        http.StatusNotFound,
	errs.Conflict:        http.StatusConflict,
	errs.TooLarge:        http.StatusRequestEntityTooLarge,
	errs.RateLimited:     http.StatusTooManyRequests,
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Marshal fails only on values such as channels, functions or NaN,
		// and the response types of this package hold none.
		http.Error(w, "encode response", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentTypeJSON)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeError renders err in CertCentral's envelope. An error that is not an
// *errs.Error, or is Internal, is logged with its cause and reaches the
// client only as a generic message, so internal details stay in the log.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := errs.As(err)
	if e == nil || e.Kind == errs.Internal {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "request_id", requestID(r.Context()), "error", err)
		writeJSON(w, http.StatusInternalServerError, errorEnvelope{Errors: []wireError{{
			Code:    "internal_error",
			Message: "The server failed to process the request. The failure was logged with request id " + requestID(r.Context()) + ".",
		}}})
		return
	}

	status := statusFor[e.Kind]
	env := errorEnvelope{Errors: make([]wireError, 0, len(e.Problems))}
	for _, p := range e.Problems {
		env.Errors = append(env.Errors, wireError{Code: p.Code, Message: p.Message})
	}
	s.log.Info("request rejected", "method", r.Method, "path", r.URL.Path, "request_id", requestID(r.Context()),
		"status", status, "code", env.Errors[0].Code)
	if e.Kind == errs.Forbidden {
		s.auditDenied(r, env.Errors[0])
	}
	writeJSON(w, status, env)
}

// isMaxBytes reports whether err came from http.MaxBytesReader.
func isMaxBytes(err error) bool {
	var mb *http.MaxBytesError
	return errors.As(err, &mb)
}
