package api

import (
	"net/http"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/metrics"
)

// metricsRoutes serves the Prometheus metrics without an API key, like
// /healthz. They show request volumes and order counts, not secrets, but the
// listener should still not be reachable from the public internet; see
// docs/benchmarks.md.
func (s *Server) metricsRoutes() {
	s.mux.Handle("GET /metrics", metrics.Handler(s.log))
}

// statusWriter remembers the status code a handler wrote, for the request
// metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// code returns the status sent, or 200 for a handler that wrote nothing,
// because net/http then sends 200.
func (w *statusWriter) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// observeRequest records a finished request under its route pattern.
func observeRequest(route string, w *statusWriter, start time.Time) {
	metrics.ObserveRequest(route, w.code(), time.Since(start))
}
