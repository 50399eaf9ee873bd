package api

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestMetricsLabelRequestsByRoute(t *testing.T) {
	s := New(nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	send := func(method, path string) int {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
		return rec.Code
	}

	// /healthz returns 503 until SetReady, and an unknown path matches no route.
	if code := send("GET", "/healthz"); code != http.StatusServiceUnavailable {
		t.Fatalf("GET /healthz before SetReady: %d, expected 503", code)
	}
	if code := send("GET", "/no/such/route/7"); code != http.StatusNotFound {
		t.Fatalf("GET /no/such/route/7: %d, expected 404", code)
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))

	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics without an API key: %d, expected 200", rec.Code)
	}
	text := rec.Body.String()
	for _, want := range []string{
		`docsign_http_request_duration_seconds_count{code="503",route="GET /healthz"}`,
		`docsign_http_request_duration_seconds_count{code="404",route="unmatched"}`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(text, "/no/such/route/7") {
		t.Error("/metrics contains a raw path; unmatched requests must share one label value")
	}
}

func TestStatusWriterDefaultsToOK(t *testing.T) {
	cases := []struct {
		name  string
		write func(w http.ResponseWriter)
		want  int
	}{
		{"nothing written", func(w http.ResponseWriter) {}, http.StatusOK},
		{"body only", func(w http.ResponseWriter) { _, _ = w.Write([]byte("x")) }, http.StatusOK},
		{"explicit status", func(w http.ResponseWriter) { w.WriteHeader(http.StatusCreated) }, http.StatusCreated},
		{"second status ignored", func(w http.ResponseWriter) {
			w.WriteHeader(http.StatusAccepted)
			w.WriteHeader(http.StatusInternalServerError)
		}, http.StatusAccepted},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sw := &statusWriter{ResponseWriter: httptest.NewRecorder()}
			tc.write(sw)
			if got := sw.code(); got != tc.want {
				t.Errorf("code = %d, expected %d", got, tc.want)
			}
		})
	}
}
