package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// report is the result of one run, written as JSON with --out.
type report struct {
	StartedAt       string  `json:"started_at"`
	URL             string  `json:"url"`
	Clients         int     `json:"clients"`
	OrdersLimit     int     `json:"orders_limit"`
	DurationLimit   string  `json:"duration_limit"`
	RateLimit       float64 `json:"rate_limit"`
	SubscriberKey   string  `json:"subscriber_key_type"`
	IssuerKeyType   string  `json:"issuer_key_type"`
	OrdersCompleted int64   `json:"orders_completed"`
	ElapsedSeconds  float64 `json:"elapsed_seconds"`
	OrdersPerSecond float64 `json:"orders_per_second"`

	// RatioToSignBaseline is the headline: lifecycle orders per second
	// divided by the baseline's signatures per second.
	RatioToSignBaseline float64 `json:"ratio_to_sign_baseline"`
	// RatioToIssueBaseline divides by the baseline's Prepare and Sign per
	// second, which includes linting.
	RatioToIssueBaseline float64 `json:"ratio_to_issue_baseline"`

	// ClientCPUMillisPerOrder is this program's CPU time per order. On one
	// machine the clients take that CPU from the server.
	ClientCPUMillisPerOrder float64 `json:"client_cpu_ms_per_order"`
	// LoadAverage is the 1-minute load average at the end of the measured
	// run. A value well above the cores the run used means that other
	// processes competed for the CPU, and the numbers are low.
	LoadAverage float64 `json:"load_average_1m"`

	Calls     map[string]latencySummary `json:"calls"`
	Server    serverUsage               `json:"server"`
	Breakdown *timeBreakdown            `json:"breakdown,omitempty"`
	Baseline  *baselineResult           `json:"baseline,omitempty"`

	ErrorCount int      `json:"error_count"`
	Errors     []string `json:"errors"`

	Machine machine `json:"machine"`
}

// latencySummary describes the durations of one kind of call, in milliseconds.
type latencySummary struct {
	Count int     `json:"count"`
	Mean  float64 `json:"mean_ms"`
	P50   float64 `json:"p50_ms"`
	P95   float64 `json:"p95_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
}

// serverUsage is the server's CPU time and memory over the measured run.
type serverUsage struct {
	// Source is "proc" when read from /proc for --server-pid, "metrics" when
	// read from the server's process_* metrics.
	Source            string  `json:"source"`
	CPUSeconds        float64 `json:"cpu_seconds"`
	CPUMillisPerOrder float64 `json:"cpu_ms_per_order"`
	// CPUMillisBeyondSignature is CPUMillisPerOrder minus the baseline's CPU
	// time of one signature.
	CPUMillisBeyondSignature float64 `json:"cpu_ms_per_order_beyond_signature"`
	// The fields below need --server-pid. IdleWaitSeconds is how long the
	// server kept working after the last order, up to 30 s, and
	// BusyAfterRun is true when it was still busy then. CPUSecondsUntilIdle
	// and the per-order values ending in UntilIdle count the CPU time from
	// the start of the run to the end of that wait, so they include work
	// that orders leave behind, such as their e-mails.
	IdleWaitSeconds                   float64 `json:"idle_wait_seconds,omitempty"`
	BusyAfterRun                      bool    `json:"busy_after_run,omitempty"`
	CPUSecondsUntilIdle               float64 `json:"cpu_seconds_until_idle,omitempty"`
	CPUMillisPerOrderUntilIdle        float64 `json:"cpu_ms_per_order_until_idle,omitempty"`
	CPUMillisBeyondSignatureUntilIdle float64 `json:"cpu_ms_per_order_beyond_signature_until_idle,omitempty"`
	// PeakRSSBytes is VmHWM with --server-pid, the peak since the server
	// started. Without it, it is the resident memory at the end of the run.
	PeakRSSBytes int64 `json:"peak_rss_bytes"`
}

// timeBreakdown splits server time per order by the server's own metrics.
// The values are wall-clock milliseconds summed over concurrent requests,
// so they overlap and do not add up to CPU time.
type timeBreakdown struct {
	HTTPMillisPerOrder        float64            `json:"http_ms_per_order"`
	HTTPRequestsPerOrder      float64            `json:"http_requests_per_order"`
	HTTPMillisByRoute         map[string]float64 `json:"http_ms_per_order_by_route"`
	TransactionMillisPerOrder float64            `json:"db_transaction_ms_per_order"`
	TransactionsPerOrder      float64            `json:"db_transactions_per_order"`
	TransactionWaitPerOrder   float64            `json:"db_transaction_wait_ms_per_order"`
	IssuanceMillisPerOrder    float64            `json:"issuance_ms_per_order"`
	LintMillisPerOrder        float64            `json:"lint_ms_per_order"`
	SignMillisPerOrder        float64            `json:"sign_ms_per_order"`
}

// machine describes where the benchmark ran.
type machine struct {
	CPUs      int    `json:"cpus"`
	CPUModel  string `json:"cpu_model"`
	GoVersion string `json:"go_version"`
	OS        string `json:"os"`
}

func currentMachine() machine {
	return machine{
		CPUs:      runtime.NumCPU(),
		CPUModel:  cpuModel(),
		GoVersion: runtime.Version(),
		OS:        runtime.GOOS + "/" + runtime.GOARCH,
	}
}

// cpuModel returns the first "model name" of /proc/cpuinfo, or "" elsewhere.
func cpuModel() string {
	raw, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for line := range strings.Lines(string(raw)) {
		name, value, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(name) == "model name" {
			return strings.TrimSpace(value)
		}
	}
	return ""
}

// summarize computes the latency summary of samples.
func summarize(samples []time.Duration) latencySummary {
	if len(samples) == 0 {
		return latencySummary{}
	}
	sorted := slices.Clone(samples)
	slices.Sort(sorted)

	var total time.Duration
	for _, d := range sorted {
		total += d
	}
	return latencySummary{
		Count: len(sorted),
		Mean:  millis(total / time.Duration(len(sorted))),
		P50:   millis(percentile(sorted, 50)),
		P95:   millis(percentile(sorted, 95)),
		P99:   millis(percentile(sorted, 99)),
		Max:   millis(sorted[len(sorted)-1]),
	}
}

// percentile returns the nearest-rank percentile p of sorted samples: the
// smallest sample with at least p percent of the samples at or below it.
func percentile(sorted []time.Duration, p float64) time.Duration {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = max(1, min(rank, len(sorted)))
	return sorted[rank-1]
}

func millis(d time.Duration) float64 {
	return math.Round(float64(d)/float64(time.Millisecond)*1000) / 1000
}

// breakdown computes the time split from two scrapes around the run.
func breakdown(before, after *metricsSnapshot, orders int64) *timeBreakdown {
	if orders == 0 {
		return nil
	}
	perOrder := func(h histogramTotal) float64 { return h.Sum * 1000 / float64(orders) }
	countPerOrder := func(h histogramTotal) float64 { return float64(h.Count) / float64(orders) }

	httpTotal := delta(before, after, metricHTTP)
	transactions := delta(before, after, metricTransaction)
	b := &timeBreakdown{
		HTTPMillisPerOrder:        perOrder(httpTotal),
		HTTPRequestsPerOrder:      countPerOrder(httpTotal),
		HTTPMillisByRoute:         map[string]float64{},
		TransactionMillisPerOrder: perOrder(transactions),
		TransactionsPerOrder:      countPerOrder(transactions),
		TransactionWaitPerOrder:   perOrder(delta(before, after, metricTxWait)),
		IssuanceMillisPerOrder:    perOrder(delta(before, after, metricIssuance)),
		LintMillisPerOrder:        perOrder(delta(before, after, metricLint)),
		SignMillisPerOrder:        perOrder(delta(before, after, metricSign)),
	}
	for route, total := range after.HTTPByRoute {
		spent := total.Sum - before.HTTPByRoute[route].Sum
		if route == "GET /metrics" || spent <= 0 {
			continue
		}
		b.HTTPMillisByRoute[route] = spent * 1000 / float64(orders)
	}
	return b
}

// writeTable prints the report for a person.
func writeTable(w io.Writer, r *report) {
	fmt.Fprintf(w, "docsign-bench: %d orders in %.1f s, %d clients, %s, issuer %s, subscriber keys %s\n\n",
		r.OrdersCompleted, r.ElapsedSeconds, r.Clients, r.URL, r.IssuerKeyType, r.SubscriberKey)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "orders per second\t%.1f\n", r.OrdersPerSecond)
	if b := r.Baseline; b != nil {
		fmt.Fprintf(tw, "baseline signatures per second (%s, %d cores)\t%.1f\n", b.IssuerKeyType, b.Cores, b.SignPerSecond)
		fmt.Fprintf(tw, "lifecycle / signature baseline\t%.1f %%\n", 100*r.RatioToSignBaseline)
		fmt.Fprintf(tw, "baseline issuances per second (lint and sign)\t%.1f\n", b.IssuePerSecond)
		fmt.Fprintf(tw, "lifecycle / issuance baseline\t%.1f %%\n", 100*r.RatioToIssueBaseline)
	}
	fmt.Fprintf(tw, "server CPU per order (%s)\t%.2f ms\n", r.Server.Source, r.Server.CPUMillisPerOrder)
	if r.Baseline != nil {
		fmt.Fprintf(tw, "server CPU per order beyond the signature\t%.2f ms\n", r.Server.CPUMillisBeyondSignature)
	}
	if r.Server.CPUMillisPerOrderUntilIdle > 0 {
		fmt.Fprintf(tw, "server CPU per order until idle, %.1f s after the run\t%.2f ms\n", r.Server.IdleWaitSeconds, r.Server.CPUMillisPerOrderUntilIdle)
		if r.Baseline != nil {
			fmt.Fprintf(tw, "  of which beyond the signature\t%.2f ms\n", r.Server.CPUMillisBeyondSignatureUntilIdle)
		}
	}
	if r.Server.BusyAfterRun {
		fmt.Fprintf(tw, "server\tstill busy %.0f s after the run\n", r.Server.IdleWaitSeconds)
	}
	fmt.Fprintf(tw, "server peak RSS\t%.1f MiB\n", float64(r.Server.PeakRSSBytes)/(1<<20))
	fmt.Fprintf(tw, "client CPU per order\t%.2f ms\n", r.ClientCPUMillisPerOrder)
	fmt.Fprintf(tw, "load average (1 min) at the end\t%.2f\n", r.LoadAverage)
	fmt.Fprintf(tw, "errors\t%d\n", r.ErrorCount)
	tw.Flush()

	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "call\tcount\tmean ms\tp50 ms\tp95 ms\tp99 ms\tmax ms\t")
	for _, name := range callNames {
		s := r.Calls[name]
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t\n", name, s.Count, s.Mean, s.P50, s.P95, s.P99, s.Max)
	}
	tw.Flush()

	if b := r.Breakdown; b != nil {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "server time per order, from /metrics (wall-clock ms, summed over concurrent requests):")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "  HTTP requests (%.1f per order)\t%.2f\n", b.HTTPRequestsPerOrder, b.HTTPMillisPerOrder)
		routes := make([]string, 0, len(b.HTTPMillisByRoute))
		for route := range b.HTTPMillisByRoute {
			routes = append(routes, route)
		}
		slices.Sort(routes)
		for _, route := range routes {
			fmt.Fprintf(tw, "    %s\t%.2f\n", route, b.HTTPMillisByRoute[route])
		}
		fmt.Fprintf(tw, "  database write transactions (%.1f per order)\t%.2f\n", b.TransactionsPerOrder, b.TransactionMillisPerOrder)
		fmt.Fprintf(tw, "  waiting for the turn to write\t%.2f\n", b.TransactionWaitPerOrder)
		fmt.Fprintf(tw, "  issuance cycle\t%.2f\n", b.IssuanceMillisPerOrder)
		fmt.Fprintf(tw, "    lint\t%.2f\n", b.LintMillisPerOrder)
		fmt.Fprintf(tw, "    signature\t%.2f\n", b.SignMillisPerOrder)
		tw.Flush()
	}

	for _, message := range r.Errors {
		fmt.Fprintln(w, "error:", message)
	}
}

// writeJSON writes the report to path.
func writeJSON(path string, r *report) error {
	raw, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(raw, '\n'), 0o644); err != nil {
		return fmt.Errorf("write --out %s: %w", path, err)
	}
	return nil
}

// loadAverage returns the 1-minute load average from /proc/loadavg, or 0.
func loadAverage() float64 {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	fields := strings.Fields(string(raw))
	if len(fields) == 0 {
		return 0
	}
	value, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return 0
	}
	return value
}
