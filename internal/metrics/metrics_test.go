package metrics

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// scrape returns the text that GET /metrics serves.
func scrape(t *testing.T, log *slog.Logger) string {
	t.Helper()
	rec := httptest.NewRecorder()
	Handler(log).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("GET /metrics: status %d\n%s", rec.Code, rec.Body)
	}
	return rec.Body.String()
}

func TestObservationsAreServed(t *testing.T) {
	ObserveRequest("GET /observed/{id}", 404, 3*time.Millisecond)
	ObserveTransaction(time.Millisecond, 2*time.Millisecond, errors.New("rolled back"))
	ObserveIssuance(10*time.Millisecond, errors.New("lint failed"))
	ObserveLint(time.Millisecond)
	ObserveSign(time.Millisecond)

	text := scrape(t, nil)

	for _, line := range []string{
		`docsign_http_request_duration_seconds_count{code="404",route="GET /observed/{id}"} 1`,
		`docsign_db_transaction_duration_seconds_count{outcome="rollback"} 1`,
		`docsign_db_transaction_wait_seconds_count 1`,
		`docsign_issuance_duration_seconds_count{outcome="failed"} 1`,
		`docsign_lint_duration_seconds_count 1`,
		`docsign_sign_duration_seconds_count 1`,
		`process_cpu_seconds_total`,
		`go_goroutines`,
	} {
		if !strings.Contains(text, line) {
			t.Errorf("/metrics lacks %q", line)
		}
	}
}

func TestStateGauges(t *testing.T) {
	t.Cleanup(func() { SetStateSource(nil) })
	SetStateSource(func(ctx context.Context) (StateCounts, error) {
		return StateCounts{
			Orders:       map[string]int{"issued": 7, "needs_approval": 2},
			Certificates: map[string]int{"issued": 7, "pending": 2},
			ReadyOrders:  1,
		}, nil
	})

	text := scrape(t, nil)

	for _, line := range []string{
		`docsign_orders{status="issued"} 7`,
		`docsign_orders{status="needs_approval"} 2`,
		`docsign_certificates{status="pending"} 2`,
		`docsign_issuance_queue_depth 1`,
	} {
		if !strings.Contains(text, line) {
			t.Errorf("/metrics lacks %q", line)
		}
	}
}

func TestStateQueryFailureKeepsOtherMetrics(t *testing.T) {
	t.Cleanup(func() { SetStateSource(nil) })
	SetStateSource(func(ctx context.Context) (StateCounts, error) {
		return StateCounts{}, errors.New("database is locked")
	})
	var logs bytes.Buffer

	text := scrape(t, slog.New(slog.NewTextHandler(&logs, nil)))

	if strings.Contains(text, "docsign_orders{") {
		t.Error("order gauges served although their query failed")
	}
	if !strings.Contains(text, "go_goroutines") {
		t.Error("the other metrics were not served")
	}
	if !strings.Contains(logs.String(), "database is locked") {
		t.Errorf("the failure was not logged; log: %s", logs.String())
	}
}
