package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/docsign-ca/docsign-ca/internal/errs"
	"github.com/docsign-ca/docsign-ca/internal/store"
	"github.com/docsign-ca/docsign-ca/internal/storetest"
)

// lockedBuffer is a log destination that handlers write to concurrently.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testServer is a Server over a real store with one administrator and
// extra test-only routes, behind a loopback httptest server.
type testServer struct {
	api    *Server
	store  *store.Store
	http   *httptest.Server
	logs   *lockedBuffer
	apiKey string
}

func newTestServer(t *testing.T, register func(s *Server)) *testServer {
	t.Helper()
	ctx := context.Background()
	st := storetest.Open(t, "api.db")

	const key = "test-api-key-for-the-api-package-0001"
	if _, err := st.CreateAccount(ctx, store.NewAccount{
		Name:    "API Test",
		Admin:   store.User{Username: "api-admin", FirstName: "API", LastName: "Administrator", Email: "api@example.com"},
		KeyHash: HashAPIKey(key), KeyPrefix: key[:8],
	}); err != nil {
		t.Fatal(err)
	}

	logs := &lockedBuffer{}
	s := New(nil, st, slog.New(slog.NewTextHandler(logs, nil)))
	register(s)
	s.SetReady()
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return &testServer{api: s, store: st, http: ts, logs: logs, apiKey: key}
}

func (ts *testServer) get(t *testing.T, path string, key string) (*http.Response, []byte, error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, ts.http.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("X-DC-DEVKEY", key)
	}
	resp, err := ts.http.Client().Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

func TestPanicBecomesLoggedInternalError(t *testing.T) {
	ts := newTestServer(t, func(s *Server) {
		s.mux.HandleFunc("GET /test/panic", func(http.ResponseWriter, *http.Request) { panic("boom in an open route") })
		s.handle("GET /test/panic-authenticated", func(http.ResponseWriter, *http.Request, *store.Caller) {
			panic("boom behind authentication")
		})
		s.mux.HandleFunc("GET /test/nil-map", func(http.ResponseWriter, *http.Request) {
			var m map[string]int
			m["x"] = 1
		})
	})

	cases := []struct {
		name, path, key, logged string
	}{
		{"open route", "/test/panic", "", "boom in an open route"},
		{"authenticated route", "/test/panic-authenticated", ts.apiKey, "boom behind authentication"},
		{"runtime error", "/test/nil-map", "", "assignment to entry in nil map"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body, err := ts.get(t, tc.path, tc.key)
			if err != nil {
				t.Fatalf("the connection failed instead of answering 500: %v", err)
			}
			if resp.StatusCode != http.StatusInternalServerError {
				t.Errorf("status %d, want 500", resp.StatusCode)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q, want application/json", ct)
			}

			var env errorEnvelope
			if err := json.Unmarshal(body, &env); err != nil || len(env.Errors) != 1 {
				t.Fatalf("body is not an envelope with one error: %v\n%s", err, body)
			}
			id := resp.Header.Get("X-Request-Id")
			if env.Errors[0].Code != "internal_error" || id == "" || !strings.Contains(env.Errors[0].Message, id) {
				t.Errorf("error %+v, request id %q; want internal_error naming the request id", env.Errors[0], id)
			}
			if strings.Contains(string(body), tc.logged) {
				t.Errorf("the panic value reached the client: %s", body)
			}

			logs := ts.logs.String()
			if !strings.Contains(logs, "handler panicked") || !strings.Contains(logs, tc.logged) || !strings.Contains(logs, id) {
				t.Errorf("log does not record the panic %q with request id %s:\n%s", tc.logged, id, logs)
			}
		})
	}

	// The server keeps serving after the panics.
	resp, _, err := ts.get(t, "/healthz", "")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz after panics: %v %v", resp, err)
	}
}

func TestAbortHandlerPanicDropsConnection(t *testing.T) {
	ts := newTestServer(t, func(s *Server) {
		s.mux.HandleFunc("GET /test/abort", func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) })
	})

	// A handler panics with http.ErrAbortHandler to make net/http drop the
	// connection, so it is passed on rather than turned into a 500.
	if _, _, err := ts.get(t, "/test/abort", ""); err == nil {
		t.Fatal("a handler that panicked with http.ErrAbortHandler got a response")
	}
	if strings.Contains(ts.logs.String(), "handler panicked") {
		t.Errorf("an abort was logged as a panic:\n%s", ts.logs.String())
	}
}

func TestForbiddenIsAudited(t *testing.T) {
	ts := newTestServer(t, func(s *Server) {
		s.handle("GET /test/forbidden", func(w http.ResponseWriter, r *http.Request, _ *store.Caller) {
			s.writeError(w, r, errs.New(errs.Forbidden, "access_denied|missing_permission", "only an administrator may do this"))
		})
		s.handle("GET /test/not-found", func(w http.ResponseWriter, r *http.Request, _ *store.Caller) {
			s.writeError(w, r, errs.NotFoundf("order", "order 9 not found"))
		})
	})

	for _, path := range []string{"/test/forbidden", "/test/not-found"} {
		if _, _, err := ts.get(t, path, ts.apiKey); err != nil {
			t.Fatal(err)
		}
	}
	// A request without a key is not audited: anyone can send one.
	if _, _, err := ts.get(t, "/test/forbidden", ""); err != nil {
		t.Fatal(err)
	}

	var denied []store.AuditRecord
	err := ts.store.EachAuditRecord(context.Background(), 0, func(r *store.AuditRecord) error {
		if r.Type == store.AuditPermissionDenied {
			denied = append(denied, *r)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(denied) != 1 {
		t.Fatalf("%d permission.denied rows, want 1: %+v", len(denied), denied)
	}

	row := denied[0]
	if row.Source != store.AuditSourceAPI || row.HTTPRequestID == "" || row.UserID == 0 || row.AccountID == 0 {
		t.Errorf("row %+v lacks the source, request id, user or account", row)
	}
	if !strings.Contains(string(row.Data), `"path":"/test/forbidden"`) || !strings.Contains(string(row.Data), "missing_permission") {
		t.Errorf("row data %s does not name the path and the code", row.Data)
	}
	if strings.Contains(string(row.Data), ts.apiKey) {
		t.Errorf("row data contains the API key: %s", row.Data)
	}
}

// TestUnroutedOrderPaths checks the errors for paths beside the ds_org
// order route: a product name other than ds_org is 404 not_found|product,
// and a wrong method stays 405 with an Allow header.
func TestUnroutedOrderPaths(t *testing.T) {
	s := New(nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	cases := []struct {
		name, method, path string
		status             int
		code               string
		messageParts       []string
	}{
		{"product with a hyphen", "POST", "/services/v2/order/certificate/ds-org",
			http.StatusNotFound, "not_found|product", []string{`product "ds-org" not found`, "ds_org is the product this server issues"}},
		{"another CertCentral product", "POST", "/services/v2/order/certificate/ssl_basic",
			http.StatusNotFound, "not_found|product", []string{`"ssl_basic"`, "POST /services/v2/order/certificate/ds_org"}},
		{"upper-case ds_org", "POST", "/services/v2/order/certificate/DS_ORG",
			http.StatusNotFound, "not_found|product", []string{`"DS_ORG"`, "ds_org is the product"}},
		{"POST on an order id", "POST", "/services/v2/order/certificate/12",
			http.StatusMethodNotAllowed, "method_not_allowed", []string{"allowed: GET, HEAD"}},
		{"DELETE on a product name", "DELETE", "/services/v2/order/certificate/ds-org",
			http.StatusMethodNotAllowed, "method_not_allowed", []string{"allowed: GET, HEAD"}},
		{"DELETE on ds_org", "DELETE", "/services/v2/order/certificate/ds_org",
			http.StatusMethodNotAllowed, "method_not_allowed", []string{"POST"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, strings.NewReader("{}")))

			if rec.Code != tc.status {
				t.Errorf("status = %d, expected %d; body %s", rec.Code, tc.status, rec.Body)
			}
			var envelope errorEnvelope
			if err := json.Unmarshal(rec.Body.Bytes(), &envelope); err != nil {
				t.Fatalf("body %s is not the error envelope: %v", rec.Body, err)
			}
			if len(envelope.Errors) != 1 {
				t.Fatalf("%d errors, expected 1: %s", len(envelope.Errors), rec.Body)
			}
			if envelope.Errors[0].Code != tc.code {
				t.Errorf("code = %q, expected %q", envelope.Errors[0].Code, tc.code)
			}
			for _, part := range tc.messageParts {
				if !strings.Contains(envelope.Errors[0].Message, part) {
					t.Errorf("message %q lacks %q", envelope.Errors[0].Message, part)
				}
			}
			if tc.status == http.StatusMethodNotAllowed && rec.Header().Get("Allow") == "" {
				t.Errorf("405 without an Allow header")
			}
		})
	}
}
