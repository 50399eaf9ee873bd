package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// benchReport is the part of docsign-bench's JSON report the test checks.
type benchReport struct {
	OrdersCompleted      int64    `json:"orders_completed"`
	OrdersPerSecond      float64  `json:"orders_per_second"`
	IssuerKeyType        string   `json:"issuer_key_type"`
	RatioToSignBaseline  float64  `json:"ratio_to_sign_baseline"`
	RatioToIssueBaseline float64  `json:"ratio_to_issue_baseline"`
	ErrorCount           int      `json:"error_count"`
	Errors               []string `json:"errors"`
	Calls                map[string]struct {
		Count int     `json:"count"`
		P50   float64 `json:"p50_ms"`
		P95   float64 `json:"p95_ms"`
		P99   float64 `json:"p99_ms"`
		Max   float64 `json:"max_ms"`
	} `json:"calls"`
	Server struct {
		Source            string  `json:"source"`
		CPUSeconds        float64 `json:"cpu_seconds"`
		CPUMillisPerOrder float64 `json:"cpu_ms_per_order"`
		PeakRSSBytes      int64   `json:"peak_rss_bytes"`
	} `json:"server"`
	Breakdown struct {
		HTTPRequestsPerOrder float64 `json:"http_requests_per_order"`
		TransactionsPerOrder float64 `json:"db_transactions_per_order"`
		LintMillisPerOrder   float64 `json:"lint_ms_per_order"`
		SignMillisPerOrder   float64 `json:"sign_ms_per_order"`
	} `json:"breakdown"`
	Baseline struct {
		IssuerKeyType  string  `json:"issuer_key_type"`
		SignPerSecond  float64 `json:"sign_per_second"`
		IssuePerSecond float64 `json:"issue_per_second"`
	} `json:"baseline"`
}

// TestBenchAgainstServer runs docsign-bench with 20 orders against a real
// server and checks its JSON report. It checks fields and counts, not
// speeds.
func TestBenchAgainstServer(t *testing.T) {
	benchBinary := filepath.Join(t.TempDir(), "docsign-bench")
	build := exec.Command("go", "build", "-o", benchBinary, "../cmd/docsign-bench")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build docsign-bench: %v\n%s", err, out)
	}
	s := startServer(t, "--auto-validate")
	reportPath := filepath.Join(t.TempDir(), "report.json")

	cmd := exec.Command(benchBinary, "--url", s.URL, "--api-key-file", filepath.Join(s.DataDir, "bootstrap-api-key"),
		"--orders", "20", "--clients", "4", "--warmup", "2", "--key-pool", "4", "--baseline-duration", "500ms",
		"--server-pid", fmt.Sprint(s.cmd.Process.Pid), "--out", reportPath)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("docsign-bench: %v\n%s", err, out)
	}

	raw, err := os.ReadFile(reportPath)
	if err != nil {
		t.Fatal(err)
	}
	var r benchReport
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, raw)
	}

	if r.ErrorCount != 0 || len(r.Errors) != 0 {
		t.Errorf("error_count = %d, errors = %q, expected none", r.ErrorCount, r.Errors)
	}
	if r.OrdersCompleted != 20 {
		t.Errorf("orders_completed = %d, expected 20", r.OrdersCompleted)
	}
	if r.OrdersPerSecond <= 0 {
		t.Errorf("orders_per_second = %g, expected a positive rate", r.OrdersPerSecond)
	}
	if r.IssuerKeyType != "rsa-3072" || r.Baseline.IssuerKeyType != "rsa-3072" {
		t.Errorf("issuer key types %q and %q, expected the development intermediate's rsa-3072", r.IssuerKeyType, r.Baseline.IssuerKeyType)
	}

	for _, call := range []string{"create_order", "approve", "order_info", "download", "lifecycle"} {
		c, ok := r.Calls[call]
		if !ok {
			t.Errorf("calls lacks %q", call)
			continue
		}
		if c.Count < 20 {
			t.Errorf("calls.%s.count = %d, expected at least 20", call, c.Count)
		}
		if !(c.P50 > 0 && c.P50 <= c.P95 && c.P95 <= c.P99 && c.P99 <= c.Max) {
			t.Errorf("calls.%s percentiles p50 %g, p95 %g, p99 %g, max %g are not positive and ordered", call, c.P50, c.P95, c.P99, c.Max)
		}
	}

	if r.Server.Source != "proc" {
		t.Errorf("server.source = %q, expected proc with --server-pid", r.Server.Source)
	}
	if r.Server.CPUSeconds <= 0 || r.Server.CPUMillisPerOrder <= 0 {
		t.Errorf("server CPU %g s, %g ms per order, expected positive values", r.Server.CPUSeconds, r.Server.CPUMillisPerOrder)
	}
	if r.Server.PeakRSSBytes <= 0 {
		t.Errorf("server.peak_rss_bytes = %d, expected a positive size", r.Server.PeakRSSBytes)
	}

	// Four calls per order: place, approve, order info, download. At least
	// CreateOrder, DecideRequest, CreateIntent and CompleteIssuance write.
	if r.Breakdown.HTTPRequestsPerOrder < 4 {
		t.Errorf("breakdown.http_requests_per_order = %g, expected at least 4", r.Breakdown.HTTPRequestsPerOrder)
	}
	if r.Breakdown.TransactionsPerOrder < 4 {
		t.Errorf("breakdown.db_transactions_per_order = %g, expected at least 4", r.Breakdown.TransactionsPerOrder)
	}
	if r.Breakdown.LintMillisPerOrder <= 0 || r.Breakdown.SignMillisPerOrder <= 0 {
		t.Errorf("lint %g ms and sign %g ms per order, expected positive values from /metrics", r.Breakdown.LintMillisPerOrder, r.Breakdown.SignMillisPerOrder)
	}

	if r.Baseline.SignPerSecond <= 0 || r.Baseline.IssuePerSecond <= 0 {
		t.Errorf("baseline sign %g/s, issue %g/s, expected positive rates", r.Baseline.SignPerSecond, r.Baseline.IssuePerSecond)
	}
	if r.RatioToSignBaseline <= 0 || r.RatioToIssueBaseline <= 0 {
		t.Errorf("ratios %g and %g, expected positive values", r.RatioToSignBaseline, r.RatioToIssueBaseline)
	}
}
