package main

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/keys"
)

// bench runs the steps of one benchmark against one server.
type bench struct {
	cfg    *config
	api    *apiClient
	stderr io.Writer
	// startCPU is the server's CPU time when the measured run started.
	startCPU time.Duration
}

// run sets up, warms up, measures and runs the baseline, in that order, so
// that the baseline never competes with the server for the CPU.
func (b *bench) run(ctx context.Context) (*report, error) {
	cfg := b.cfg
	b.progress("generating %d CSRs with %d %s keys", cfg.csrs, min(cfg.keyPool, cfg.csrs), cfg.subscriberKeyType)
	csrs, err := generateCSRs(cfg.csrs, cfg.keyPool, keys.Algorithm(cfg.subscriberKeyType))
	if err != nil {
		return nil, err
	}

	orgID, err := b.setUpOrganization(ctx)
	if err != nil {
		return nil, err
	}

	issuerType, err := b.warmUp(ctx, orgID, csrs)
	if err != nil {
		return nil, err
	}

	r := &report{
		StartedAt:     time.Now().UTC().Format(time.RFC3339),
		URL:           b.api.baseURL,
		Clients:       cfg.clients,
		OrdersLimit:   cfg.orders,
		DurationLimit: cfg.duration.String(),
		RateLimit:     cfg.rate,
		SubscriberKey: cfg.subscriberKeyType,
		IssuerKeyType: string(issuerType),
		Errors:        []string{},
		Machine:       currentMachine(),
	}
	if err := b.measure(ctx, orgID, csrs, r); err != nil {
		return nil, err
	}
	if err := b.settle(r); err != nil {
		return nil, err
	}

	if cfg.baselineDuration > 0 && r.ErrorCount == 0 {
		if err := b.baseline(issuerType, csrs[0], r); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func (b *bench) progress(format string, args ...any) {
	fmt.Fprintf(b.stderr, "docsign-bench: "+format+"\n", args...)
}

// setUpOrganization creates the organization and checks that its "ds"
// validation is active, which needs a server started with --auto-validate.
func (b *bench) setUpOrganization(ctx context.Context) (int64, error) {
	orgID, err := b.api.createOrganization(ctx, benchOrganization)
	if err != nil {
		return 0, err
	}
	active, err := b.api.validationActive(ctx, orgID)
	if err != nil {
		return 0, fmt.Errorf("read the validation of organization %d: %w", orgID, err)
	}
	if !active {
		return 0, fmt.Errorf("the ds validation of organization %d is not active; start docsign-ca serve with --auto-validate "+
			"for benchmarks, or run docsign-ca validation approve --organization %d --type ds and start again", orgID, orgID)
	}
	b.progress("organization %d created and validated", orgID)
	return orgID, nil
}

// warmUp completes the warm-up orders, which also opens the connections,
// and returns the issuer key type: --issuer-key-type, or the key type of
// the issuing CA of a warm-up certificate.
func (b *bench) warmUp(ctx context.Context, orgID int64, csrs []preparedCSR) (keys.Algorithm, error) {
	warm := &lifecycleRun{
		api: b.api, orgID: orgID, csrs: csrs, clients: min(b.cfg.clients, max(1, b.cfg.warmup)),
		orders: max(1, b.cfg.warmup), orderTimeout: b.cfg.orderTimeout, latencies: newLatencies(),
	}
	warm.run(ctx)
	if warm.errors.count > 0 {
		return "", fmt.Errorf("warm-up order failed: %s", warm.errors.messages[0])
	}
	b.progress("%d warm-up orders completed", warm.completed.Load())

	if b.cfg.issuerKeyType != "" {
		return keys.Algorithm(b.cfg.issuerKeyType), nil
	}
	issuer, err := b.api.issuerCertificate(ctx, warm.certificateID.Load())
	if err != nil {
		return "", fmt.Errorf("read the issuing CA to choose the baseline key type: %w; or set --issuer-key-type", err)
	}
	return issuerKeyType(issuer)
}

// measure runs the lifecycle and fills the throughput, latency, server
// usage and breakdown fields of r.
func (b *bench) measure(ctx context.Context, orgID int64, csrs []preparedCSR, r *report) error {
	cfg := b.cfg
	before, err := b.usage(ctx)
	if err != nil {
		return err
	}

	b.progress("measuring: %d clients, --orders %d, --duration %s, --rate %g", cfg.clients, cfg.orders, cfg.duration, cfg.rate)
	measured := &lifecycleRun{
		api: b.api, orgID: orgID, csrs: csrs, clients: cfg.clients, orders: cfg.orders, duration: cfg.duration,
		rate: cfg.rate, orderTimeout: cfg.orderTimeout, latencies: newLatencies(),
	}
	clientCPU := processCPU()
	elapsed := measured.run(ctx)
	clientCPU = processCPU() - clientCPU

	after, err := b.usage(ctx)
	if err != nil {
		return err
	}

	completed := measured.completed.Load()
	r.OrdersCompleted = completed
	r.ElapsedSeconds = elapsed.Seconds()
	r.OrdersPerSecond = float64(completed) / elapsed.Seconds()
	r.ErrorCount = measured.errors.count
	r.Errors = append(r.Errors, measured.errors.messages...)
	r.Calls = map[string]latencySummary{}
	for _, name := range callNames {
		r.Calls[name] = summarize(measured.latencies.samples[name])
	}

	r.Server = after.minus(before, completed)
	b.startCPU = before.cpu
	if completed > 0 {
		r.ClientCPUMillisPerOrder = millisPer(clientCPU, completed)
	}
	r.LoadAverage = loadAverage()
	r.Breakdown = breakdown(before.metrics, after.metrics, completed)
	return nil
}

// usageSample is the server's resource use at one moment.
type usageSample struct {
	source  string
	cpu     time.Duration
	rss     int64
	metrics *metricsSnapshot
}

// usage reads the server's CPU time and memory, from /proc with
// --server-pid or from its process_* metrics otherwise, and its metrics.
func (b *bench) usage(ctx context.Context) (*usageSample, error) {
	snap, err := scrapeMetrics(ctx, b.api.http, b.api.baseURL)
	if err != nil {
		return nil, err
	}
	sample := &usageSample{
		source:  "metrics",
		cpu:     time.Duration(snap.ProcessCPU * float64(time.Second)),
		rss:     int64(snap.ProcessRSS),
		metrics: snap,
	}
	if b.cfg.serverPID == 0 {
		return sample, nil
	}

	sample.source = "proc"
	if sample.cpu, err = processCPUTime(b.cfg.serverPID); err != nil {
		return nil, err
	}
	if sample.rss, err = peakRSS(b.cfg.serverPID); err != nil {
		return nil, err
	}
	return sample, nil
}

// minus returns the server usage between two samples for orders orders.
func (after *usageSample) minus(before *usageSample, orders int64) serverUsage {
	u := serverUsage{
		Source:       after.source,
		CPUSeconds:   (after.cpu - before.cpu).Seconds(),
		PeakRSSBytes: after.rss,
	}
	if orders > 0 {
		u.CPUMillisPerOrder = u.CPUSeconds * 1000 / float64(orders)
	}
	return u
}

// settle waits, when --server-pid is set, until the server uses almost no
// CPU, and adds the CPU time it spent after the last order, such as on the
// e-mails of the last orders, to r.Server. The baseline that follows then
// does not share the CPU with that work.
func (b *bench) settle(r *report) error {
	if b.cfg.serverPID == 0 {
		return nil
	}

	b.progress("run finished; waiting for the server to go idle")
	waited, idle, err := waitForIdle(b.cfg.serverPID, idleTimeout)
	if err != nil {
		return err
	}
	if idle {
		b.progress("waited %s for the server to go idle", waited.Round(time.Millisecond))
	} else {
		b.progress("the server was still busy %s after the run; the baseline shares the CPU with it", waited.Round(time.Millisecond))
	}

	cpu, err := processCPUTime(b.cfg.serverPID)
	if err != nil {
		return err
	}
	r.Server.IdleWaitSeconds, r.Server.BusyAfterRun = waited.Seconds(), !idle
	r.Server.CPUSecondsUntilIdle = (cpu - b.startCPU).Seconds()
	if r.OrdersCompleted > 0 {
		r.Server.CPUMillisPerOrderUntilIdle = r.Server.CPUSecondsUntilIdle * 1000 / float64(r.OrdersCompleted)
	}
	return nil
}

// baseline measures the in-process reference and fills the ratios.
func (b *bench) baseline(issuerType keys.Algorithm, csr preparedCSR, r *report) error {
	subscriber, err := x509.ParsePKIXPublicKey(csr.SPKI)
	if err != nil {
		return err
	}
	b.progress("baseline: two loops of %s with a throwaway %s issuer", b.cfg.baselineDuration, issuerType)
	result, err := measureBaseline(issuerType, subscriber, signatureHashes[b.cfg.signatureHash], b.cfg.baselineDuration)
	if err != nil {
		return err
	}

	r.Baseline = result
	if result.SignPerSecond > 0 {
		r.RatioToSignBaseline = r.OrdersPerSecond / result.SignPerSecond
	}
	if result.IssuePerSecond > 0 {
		r.RatioToIssueBaseline = r.OrdersPerSecond / result.IssuePerSecond
	}
	if r.OrdersCompleted > 0 {
		r.Server.CPUMillisBeyondSignature = r.Server.CPUMillisPerOrder - result.SignCPUMillis
		if r.Server.CPUMillisPerOrderUntilIdle > 0 {
			r.Server.CPUMillisBeyondSignatureUntilIdle = r.Server.CPUMillisPerOrderUntilIdle - result.SignCPUMillis
		}
	}
	return nil
}
