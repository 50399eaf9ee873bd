// Package metrics holds docsign-ca's Prometheus metrics and serves them in
// the Prometheus text format.
//
// The metrics live in one package-level registry because one process runs
// one server. Packages record into it through the Observe functions, and the
// store reports its transactions through a hook that the server wires to
// ObserveTransaction, so that the store itself does not depend on Prometheus.
package metrics

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// durationBuckets are the histogram bounds in seconds: 0.1 ms doubling up to
// about 6.6 s, which spans a fast SQLite read as well as a slow HSM signature.
var durationBuckets = prometheus.ExponentialBuckets(0.0001, 2, 17)

var (
	registry = prometheus.NewRegistry()

	httpRequestDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "docsign_http_request_duration_seconds",
		Help:    "Time to answer an HTTP request, by route pattern and status code. Its _count is the number of requests.",
		Buckets: durationBuckets,
	}, []string{"route", "code"})

	transactionDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "docsign_db_transaction_duration_seconds",
		Help:    "Time from BEGIN to the end of COMMIT or ROLLBACK of a write transaction, with the fsync of a durable commit.",
		Buckets: durationBuckets,
	}, []string{"outcome"})

	transactionWait = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "docsign_db_transaction_wait_seconds",
		Help:    "Time a write transaction waited for the other write transactions of this process before its BEGIN.",
		Buckets: durationBuckets,
	})

	issuanceDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "docsign_issuance_duration_seconds",
		Help:    "Time of one issuance cycle: template, lint, intent, signature and storing the certificate.",
		Buckets: durationBuckets,
	}, []string{"outcome"})

	lintDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "docsign_lint_duration_seconds",
		Help:    "Time to run zlint and the profile lints on one pre-issuance lint certificate.",
		Buckets: durationBuckets,
	})

	signDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "docsign_sign_duration_seconds",
		Help:    "Time to sign one certificate with the issuer key and verify the signature.",
		Buckets: durationBuckets,
	})
)

func init() {
	registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		httpRequestDuration,
		transactionDuration,
		transactionWait,
		issuanceDuration,
		lintDuration,
		signDuration,
		states,
	)
}

// Handler serves the registry in the Prometheus text format. A metric that
// cannot be collected, such as a state count whose query failed, is logged
// to log (slog.Default() when nil) and left out, and the other metrics are
// still served.
func Handler(log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.Default()
	}
	return promhttp.HandlerFor(registry, promhttp.HandlerOpts{
		ErrorLog:      errorLogger{log: log},
		ErrorHandling: promhttp.ContinueOnError,
	})
}

type errorLogger struct{ log *slog.Logger }

func (l errorLogger) Println(v ...any) {
	l.log.Error("collect metrics", "error", fmt.Sprint(v...))
}

// UnmatchedRoute is the route label of a request that matched no route.
const UnmatchedRoute = "unmatched"

// ObserveRequest records one completed HTTP request. route is the pattern of
// the route that served it, such as "GET /services/v2/order/certificate/{id}",
// never the raw path, so that the number of label values stays bounded.
func ObserveRequest(route string, code int, elapsed time.Duration) {
	httpRequestDuration.WithLabelValues(route, strconv.Itoa(code)).Observe(elapsed.Seconds())
}

// ObserveTransaction records one write transaction: how long it waited for
// its turn, how long it ran, and the error it ended with (nil for a commit,
// anything else for a rollback or a failed commit).
func ObserveTransaction(wait, elapsed time.Duration, err error) {
	outcome := "commit"
	if err != nil {
		outcome = "rollback"
	}
	transactionWait.Observe(wait.Seconds())
	transactionDuration.WithLabelValues(outcome).Observe(elapsed.Seconds())
}

// ObserveIssuance records one issuance cycle, successful when err is nil.
func ObserveIssuance(elapsed time.Duration, err error) {
	outcome := "issued"
	if err != nil {
		outcome = "failed"
	}
	issuanceDuration.WithLabelValues(outcome).Observe(elapsed.Seconds())
}

// ObserveLint records the lint time of one certificate.
func ObserveLint(elapsed time.Duration) { lintDuration.Observe(elapsed.Seconds()) }

// ObserveSign records the signature time of one certificate.
func ObserveSign(elapsed time.Duration) { signDuration.Observe(elapsed.Seconds()) }

// StateCounts is the number of orders and certificates in each status, and
// the number of orders ready for issuance.
type StateCounts struct {
	Orders       map[string]int
	Certificates map[string]int
	ReadyOrders  int
}

// StateSource counts orders and certificates when /metrics is scraped.
type StateSource func(ctx context.Context) (StateCounts, error)

// stateQueryTimeout bounds the state query of one scrape.
const stateQueryTimeout = 5 * time.Second

// SetStateSource sets the function that counts orders and certificates by
// status. Until it is set, those gauges are not exported.
func SetStateSource(source StateSource) {
	states.mu.Lock()
	defer states.mu.Unlock()
	states.source = source
}

var states = &stateCollector{
	orders: prometheus.NewDesc("docsign_orders",
		"Orders by status, counted when /metrics is scraped.", []string{"status"}, nil),
	certificates: prometheus.NewDesc("docsign_certificates",
		"Certificates by status, counted when /metrics is scraped.", []string{"status"}, nil),
	queueDepth: prometheus.NewDesc("docsign_issuance_queue_depth",
		"Orders that have everything issuance needs and are not yet issued or being issued.", nil, nil),
}

// stateCollector queries the store at scrape time, because the counts live
// in the database, which operator commands in other processes change too.
type stateCollector struct {
	mu                               sync.Mutex
	source                           StateSource
	orders, certificates, queueDepth *prometheus.Desc
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.orders
	ch <- c.certificates
	ch <- c.queueDepth
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	source := c.source
	c.mu.Unlock()
	if source == nil {
		return
	}

	ctx, cancel := context.WithTimeout(context.Background(), stateQueryTimeout)
	defer cancel()
	counts, err := source(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.orders, fmt.Errorf("count orders and certificates by status: %w", err))
		return
	}

	for status, n := range counts.Orders {
		ch <- prometheus.MustNewConstMetric(c.orders, prometheus.GaugeValue, float64(n), status)
	}
	for status, n := range counts.Certificates {
		ch <- prometheus.MustNewConstMetric(c.certificates, prometheus.GaugeValue, float64(n), status)
	}
	ch <- prometheus.MustNewConstMetric(c.queueDepth, prometheus.GaugeValue, float64(counts.ReadyOrders))
}
