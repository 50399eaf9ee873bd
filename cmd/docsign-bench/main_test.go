package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/metrics"
)

func TestCheckTarget(t *testing.T) {
	cases := []struct {
		name        string
		url         string
		allowRemote bool
		wantErr     string
	}{
		{"IPv4 loopback", "http://127.0.0.1:8080", false, ""},
		{"other IPv4 loopback", "http://127.0.0.2:8080", false, ""},
		{"IPv6 loopback", "http://[::1]:8080", false, ""},
		{"localhost", "https://localhost:8443/", false, ""},
		{"documentation address", "http://192.0.2.1:8080", false, "not a loopback address"},
		{"private address", "http://10.0.0.1:8080", false, "not a loopback address"},
		{"host name", "http://ca.example.com", false, "not a loopback address"},
		{"documentation address allowed", "http://192.0.2.1:8080", true, ""},
		{"other scheme", "ftp://127.0.0.1/", false, "scheme must be http or https"},
		{"no host", "http:///services", false, "host is missing"},
		{"query", "http://127.0.0.1:8080/?x=1", false, "remove the query"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := checkTarget(tc.url, tc.allowRemote)
			if tc.wantErr == "" {
				if err != nil {
					t.Errorf("checkTarget(%q) = %v, expected success", tc.url, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("checkTarget(%q) = %v, expected an error containing %q", tc.url, err, tc.wantErr)
			}
		})
	}
}

// TestRunRejectsRemoteWithoutDialing checks that a non-loopback --url is
// rejected before any connection: the dial function is never called.
func TestRunRejectsRemoteWithoutDialing(t *testing.T) {
	var dials atomic.Int64
	original := dialContext
	dialContext = func(bool) func(ctx context.Context, network, addr string) (net.Conn, error) {
		return func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			return nil, errors.New("dialing is not allowed in this test")
		}
	}
	t.Cleanup(func() { dialContext = original })

	keyFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(keyFile, []byte("not-a-real-key\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"--url", "http://192.0.2.1:8080", "--orders", "1", "--api-key-file", keyFile}, &stdout, &stderr)

	if err == nil || !strings.Contains(err.Error(), "not a loopback address") {
		t.Errorf("run = %v, expected the loopback refusal", err)
	}
	if n := dials.Load(); n != 0 {
		t.Errorf("%d connections were attempted, expected none", n)
	}
}

func TestDialerRejectsNonLoopbackAddress(t *testing.T) {
	dial := dialContext(false)

	// The address is refused in the dialer's Control function, after the
	// socket is created and before connect(2), so nothing is sent.
	_, err := dial(context.Background(), "tcp", "192.0.2.1:8080")

	if err == nil || !strings.Contains(err.Error(), "not a loopback address") {
		t.Errorf("dial 192.0.2.1:8080 = %v, expected a refusal", err)
	}
}

func TestParseConfigRejects(t *testing.T) {
	cases := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"no bound", nil, "set --orders, --duration or both"},
		{"negative orders", []string{"--orders", "-1"}, "must not be negative"},
		{"no clients", []string{"--orders", "1", "--clients", "0"}, "--clients 0 must be at least 1"},
		{"unknown subscriber key", []string{"--orders", "1", "--subscriber-key-type", "dsa-1024"}, "--subscriber-key-type \"dsa-1024\""},
		{"unknown issuer key", []string{"--orders", "1", "--issuer-key-type", "rsa-1024"}, "--issuer-key-type \"rsa-1024\""},
		{"zero order timeout", []string{"--orders", "1", "--order-timeout", "0s"}, "--order-timeout must be positive"},
		{"extra argument", []string{"--orders", "1", "now"}, "unexpected argument \"now\""},
		{"unknown mode", []string{"--orders", "1", "--mode", "write"}, "--mode \"write\" is not one of lifecycle, read"},
		{"unknown read call", []string{"--orders", "1", "--read-calls", "order_info,download"}, "--read-calls contains \"download\""},
		{"unknown signature hash", []string{"--orders", "1", "--signature-hash", "sha1"}, "--signature-hash \"sha1\""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseConfig(tc.args, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("parseConfig(%q) = %v, expected an error containing %q", tc.args, err, tc.wantErr)
			}
		})
	}
}

func TestParseConfigDefaultsCSRCount(t *testing.T) {
	cases := []struct {
		name     string
		args     []string
		wantCSRs int
	}{
		{"one per order", []string{"--orders", "50"}, 50},
		{"duration only", []string{"--duration", "10s"}, defaultDurationCSRs},
		{"explicit", []string{"--orders", "50", "--csrs", "5"}, 5},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := parseConfig(tc.args, &bytes.Buffer{})
			if err != nil {
				t.Fatal(err)
			}
			if cfg.csrs != tc.wantCSRs {
				t.Errorf("csrs = %d, expected %d", cfg.csrs, tc.wantCSRs)
			}
		})
	}
}

func TestHelpDocumentsEveryOption(t *testing.T) {
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"--help"}, &bytes.Buffer{}, &stderr)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("run --help = %v, expected flag.ErrHelp", err)
	}

	help := stderr.String()
	newFlagSet(&config{}, &bytes.Buffer{}).VisitAll(func(f *flag.Flag) {
		if !strings.Contains(help, "-"+f.Name) {
			t.Errorf("--help does not list --%s", f.Name)
		}
		if strings.TrimSpace(f.Usage) == "" {
			t.Errorf("--%s has no help text", f.Name)
		}
	})
	if !strings.Contains(help, "--auto-validate") {
		t.Error("--help does not say to start the server with --auto-validate")
	}
}

func TestPercentileNearestRank(t *testing.T) {
	sorted := make([]time.Duration, 100)
	for i := range sorted {
		sorted[i] = time.Duration(i+1) * time.Millisecond
	}
	cases := []struct {
		p    float64
		want time.Duration
	}{
		{50, 50 * time.Millisecond},
		{95, 95 * time.Millisecond},
		{99, 99 * time.Millisecond},
		{100, 100 * time.Millisecond},
		{0, 1 * time.Millisecond},
	}
	for _, tc := range cases {
		if got := percentile(sorted, tc.p); got != tc.want {
			t.Errorf("percentile(1..100 ms, %g) = %v, expected %v", tc.p, got, tc.want)
		}
	}
	if got := percentile([]time.Duration{7}, 99); got != 7 {
		t.Errorf("percentile of one sample = %v, expected that sample", got)
	}
}

func TestParseStatCPU(t *testing.T) {
	// Fields 14 and 15 are utime 150 and stime 50 ticks; the command name
	// contains a space and a parenthesis.
	line := "4242 (docsign-ca (x) y) S 1 4242 4242 0 -1 4194560 1000 0 0 0 150 50 0 0 20 0 8 0 100 1000000 5000\n"

	got, err := parseStatCPU([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if want := 2 * time.Second; got != want {
		t.Errorf("CPU = %v, expected %v", got, want)
	}

	if _, err := parseStatCPU([]byte("4242 (short) S 1 2")); err == nil {
		t.Error("a truncated stat line was accepted")
	}
}

func TestParseVmHWM(t *testing.T) {
	status := "Name:\tdocsign-ca\nVmPeak:\t  900000 kB\nVmHWM:\t   81234 kB\nVmRSS:\t   70000 kB\n"

	got, err := parseVmHWM(strings.NewReader(status))
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(81234 * 1024); got != want {
		t.Errorf("peak RSS = %d, expected %d", got, want)
	}

	if _, err := parseVmHWM(strings.NewReader("Name:\tx\n")); err == nil {
		t.Error("a status without VmHWM was accepted")
	}
}

// TestBreakdownFromServerMetrics records known durations into the server's
// metrics and checks the per-order split the report computes from two
// scrapes of the real /metrics handler.
func TestBreakdownFromServerMetrics(t *testing.T) {
	scrape := func() *metricsSnapshot {
		t.Helper()
		rec := httptest.NewRecorder()
		metrics.Handler(nil).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		snap, err := parseMetrics(rec.Body)
		if err != nil {
			t.Fatal(err)
		}
		return snap
	}

	before := scrape()
	for range 2 {
		metrics.ObserveRequest("POST /services/v2/order/certificate/ds_org", 201, 10*time.Millisecond)
		metrics.ObserveRequest("PUT /services/v2/request/{id}/status", 204, 30*time.Millisecond)
		metrics.ObserveTransaction(time.Millisecond, 2*time.Millisecond, nil)
		metrics.ObserveTransaction(0, 4*time.Millisecond, nil)
		metrics.ObserveIssuance(20*time.Millisecond, nil)
		metrics.ObserveLint(3 * time.Millisecond)
		metrics.ObserveSign(5 * time.Millisecond)
	}
	after := scrape()

	b := breakdown(before, after, 2)
	checks := []struct {
		name      string
		got, want float64
	}{
		{"HTTP ms per order", b.HTTPMillisPerOrder, 40},
		{"HTTP requests per order", b.HTTPRequestsPerOrder, 2},
		{"ds_org ms per order", b.HTTPMillisByRoute["POST /services/v2/order/certificate/ds_org"], 10},
		{"transaction ms per order", b.TransactionMillisPerOrder, 6},
		{"transactions per order", b.TransactionsPerOrder, 2},
		{"transaction wait ms per order", b.TransactionWaitPerOrder, 1},
		{"issuance ms per order", b.IssuanceMillisPerOrder, 20},
		{"lint ms per order", b.LintMillisPerOrder, 3},
		{"sign ms per order", b.SignMillisPerOrder, 5},
	}
	for _, c := range checks {
		if diff := c.got - c.want; diff > 1e-6 || diff < -1e-6 {
			t.Errorf("%s = %g, expected %g", c.name, c.got, c.want)
		}
	}
	// The CPU counter moves in 10 ms steps and may still read 0 here, but a
	// running process always has resident memory.
	if after.ProcessRSS <= 0 {
		t.Errorf("process RSS = %g, expected the process collector's positive value", after.ProcessRSS)
	}
}

func TestWaitForIdleSleepingProcess(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})

	_, idle, err := waitForIdle(cmd.Process.Pid, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !idle {
		t.Error("a sleeping process was not found idle")
	}
}

// TestWaitForIdleThreshold feeds CPU times, because a real busy process on
// a loaded machine may get too little CPU to count as busy.
func TestWaitForIdleThreshold(t *testing.T) {
	tests := []struct {
		name      string
		perWindow time.Duration
		wantIdle  bool
	}{
		{name: "no CPU", perWindow: 0, wantIdle: true},
		{name: "just under the threshold", perWindow: 12 * time.Millisecond, wantIdle: true},
		{name: "at the threshold", perWindow: 13 * time.Millisecond, wantIdle: false},
		{name: "one busy core", perWindow: idleWindow, wantIdle: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var used time.Duration
			cpuTime := func() (time.Duration, error) {
				used += tc.perWindow
				return used, nil
			}

			_, idle, err := waitForIdleCPU(cpuTime, 3*idleWindow)
			if err != nil {
				t.Fatal(err)
			}
			if idle != tc.wantIdle {
				t.Errorf("idle = %v, expected %v", idle, tc.wantIdle)
			}
		})
	}
}
