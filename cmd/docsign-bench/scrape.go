package main

import (
	"context"
	"fmt"
	"io"
	"net/http"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Server metrics the report reads; internal/metrics defines them.
const (
	metricHTTP        = "docsign_http_request_duration_seconds"
	metricTransaction = "docsign_db_transaction_duration_seconds"
	metricTxWait      = "docsign_db_transaction_wait_seconds"
	metricIssuance    = "docsign_issuance_duration_seconds"
	metricLint        = "docsign_lint_duration_seconds"
	metricSign        = "docsign_sign_duration_seconds"
	metricProcessCPU  = "process_cpu_seconds_total"
	metricProcessRSS  = "process_resident_memory_bytes"
)

// histogramTotal is the sum and count of a histogram over all its label values.
type histogramTotal struct {
	Sum   float64
	Count uint64
}

// metricsSnapshot is one scrape of /metrics, reduced to what the report uses.
type metricsSnapshot struct {
	Histograms map[string]histogramTotal
	// HTTPByRoute splits the HTTP histogram by its route label.
	HTTPByRoute map[string]histogramTotal
	ProcessCPU  float64
	ProcessRSS  float64
}

// scrapeMetrics reads GET /metrics. The endpoint needs no API key.
func scrapeMetrics(ctx context.Context, client *http.Client, baseURL string) (*metricsSnapshot, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", baseURL+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET /metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: status %d, expected 200; is the server a docsign-ca with metrics?", resp.StatusCode)
	}
	return parseMetrics(io.LimitReader(resp.Body, maxResponseBytes))
}

func parseMetrics(r io.Reader) (*metricsSnapshot, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("parse /metrics: %w", err)
	}

	snap := &metricsSnapshot{Histograms: map[string]histogramTotal{}, HTTPByRoute: map[string]histogramTotal{}}
	for _, name := range []string{metricHTTP, metricTransaction, metricTxWait, metricIssuance, metricLint, metricSign} {
		family, ok := families[name]
		if !ok {
			continue
		}
		snap.Histograms[name] = sumHistograms(family.GetMetric())
	}
	if family, ok := families[metricHTTP]; ok {
		for _, m := range family.GetMetric() {
			route := labelValue(m, "route")
			total := snap.HTTPByRoute[route]
			total.Sum += m.GetHistogram().GetSampleSum()
			total.Count += m.GetHistogram().GetSampleCount()
			snap.HTTPByRoute[route] = total
		}
	}
	snap.ProcessCPU = firstValue(families[metricProcessCPU])
	snap.ProcessRSS = firstValue(families[metricProcessRSS])
	return snap, nil
}

func sumHistograms(metrics []*dto.Metric) histogramTotal {
	var total histogramTotal
	for _, m := range metrics {
		total.Sum += m.GetHistogram().GetSampleSum()
		total.Count += m.GetHistogram().GetSampleCount()
	}
	return total
}

func labelValue(m *dto.Metric, name string) string {
	for _, label := range m.GetLabel() {
		if label.GetName() == name {
			return label.GetValue()
		}
	}
	return ""
}

// firstValue returns the value of a counter or gauge without labels, or 0
// when the family is missing.
func firstValue(family *dto.MetricFamily) float64 {
	if family == nil || len(family.GetMetric()) == 0 {
		return 0
	}
	m := family.GetMetric()[0]
	if m.GetCounter() != nil {
		return m.GetCounter().GetValue()
	}
	return m.GetGauge().GetValue()
}

// delta returns after minus before for one histogram.
func delta(before, after *metricsSnapshot, name string) histogramTotal {
	a, b := after.Histograms[name], before.Histograms[name]
	return histogramTotal{Sum: a.Sum - b.Sum, Count: a.Count - b.Count}
}
