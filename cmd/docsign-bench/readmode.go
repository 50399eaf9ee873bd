package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Calls of the read mode, which measures how reads scale with the number of
// stored orders.
const (
	callReadOrderInfo     = "order_info"
	callReadFilteredList  = "list_issued"
	callReadStatusChanges = "status_changes"
)

var readCallNames = []string{callReadOrderInfo, callReadFilteredList, callReadStatusChanges}

// filteredListPath is the read mode's order list call.
const filteredListPath = "/services/v2/order/certificate?filters%5Bstatus%5D=issued&limit=100"

// statusChangesWindow is the time range of the status-changes call, centred
// on the creation of order 1. It is short so that it returns about the same
// rows at every store size when the orders are spread out in time, as
// `docsign-ca dev seed` spreads them (one a minute).
const statusChangesWindow = 10 * time.Minute

// filterTimeLayout is the time form of a date range filter, in UTC.
const filterTimeLayout = "2006-01-02 15:04:05"

// readReport is the result of one read-mode run.
type readReport struct {
	StartedAt       string  `json:"started_at"`
	URL             string  `json:"url"`
	Clients         int     `json:"clients"`
	StoredOrders    int64   `json:"stored_orders"`
	RoundsCompleted int64   `json:"rounds_completed"`
	ElapsedSeconds  float64 `json:"elapsed_seconds"`
	RoundsPerSecond float64 `json:"rounds_per_second"`
	LoadAverage     float64 `json:"load_average_1m"`

	Calls map[string]latencySummary `json:"calls"`

	// ServerPeakRSSBytes is VmHWM of --server-pid at the end of the run: the
	// server's peak resident memory since it started. 0 without --server-pid.
	ServerPeakRSSBytes int64 `json:"server_peak_rss_bytes"`

	ErrorCount int      `json:"error_count"`
	Errors     []string `json:"errors"`

	Machine machine `json:"machine"`
}

// runRead runs the read mode: each client repeats a round of order info of
// a random stored order, the filtered order list and the status changes of
// a fixed 10-minute window, or of the calls --read-calls selects.
func runRead(ctx context.Context, cfg *config, api *apiClient, stdout, stderr io.Writer) error {
	calls, err := parseReadCalls(cfg.readCalls)
	if err != nil {
		return err
	}
	total := int64(cfg.storedOrders)
	if total == 0 {
		if total, err = storedOrders(ctx, api); err != nil {
			return err
		}
	}
	if total == 0 {
		return errors.New("the server stores no orders; seed them with docsign-ca dev seed or run the lifecycle mode first")
	}
	changesPath, err := statusChangesPath(ctx, api)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "docsign-bench: %d stored orders; measuring reads with %d clients\n", total, cfg.clients)

	r := &readReport{
		StartedAt:    time.Now().UTC().Format(time.RFC3339),
		URL:          api.baseURL,
		Clients:      cfg.clients,
		StoredOrders: total,
		Errors:       []string{},
		Machine:      currentMachine(),
	}
	run := &readRun{api: api, clients: cfg.clients, rounds: cfg.orders, duration: cfg.duration, maxOrderID: total,
		calls: calls, statusChangesPath: changesPath, latencies: newLatencies()}
	elapsed := run.run(ctx)

	r.RoundsCompleted = run.completed.Load()
	r.ElapsedSeconds = elapsed.Seconds()
	r.RoundsPerSecond = float64(r.RoundsCompleted) / elapsed.Seconds()
	r.LoadAverage = loadAverage()
	r.ErrorCount = run.errors.count
	r.Errors = append(r.Errors, run.errors.messages...)
	r.Calls = map[string]latencySummary{}
	for _, name := range readCallNames {
		if calls[name] {
			r.Calls[name] = summarize(run.latencies.samples[name])
		}
	}
	if cfg.serverPID > 0 {
		if r.ServerPeakRSSBytes, err = peakRSS(cfg.serverPID); err != nil {
			return err
		}
	}

	writeReadTable(stdout, r)
	if cfg.out != "" {
		if err := writeReadJSON(cfg.out, r); err != nil {
			return err
		}
	}
	if r.ErrorCount > 0 {
		return fmt.Errorf("%d errors during the run; the first: %s", r.ErrorCount, r.Errors[0])
	}
	return nil
}

// storedOrders returns page.total of the unfiltered order list. The read
// mode takes order ids 1 to that total as the stored orders, which holds
// for a store where no order was ever deleted.
// NOTE: the total counts every order through the list's joins, which takes
// tens of seconds at a million orders; --stored-orders skips it.
func storedOrders(ctx context.Context, api *apiClient) (int64, error) {
	var list struct {
		Page struct {
			Total int64 `json:"total"`
		} `json:"page"`
	}
	if _, err := api.do(ctx, "GET", "/services/v2/order/certificate?limit=1", nil, http.StatusOK, &list); err != nil {
		return 0, fmt.Errorf("count the stored orders: %w", err)
	}
	return list.Page.Total, nil
}

// statusChangesPath returns the status-changes call for statusChangesWindow
// around the creation of order 1. A window fixed in the store's time, and not
// the last minutes, keeps the result the same between runs minutes apart.
func statusChangesPath(ctx context.Context, api *apiClient) (string, error) {
	var info struct {
		DateCreated string `json:"date_created"`
	}
	if _, err := api.do(ctx, "GET", "/services/v2/order/certificate/1", nil, http.StatusOK, &info); err != nil {
		return "", fmt.Errorf("read order 1 to place the status-changes window: %w", err)
	}
	created, err := time.Parse(time.RFC3339, info.DateCreated)
	if err != nil {
		return "", fmt.Errorf("order 1 has date_created %q, expected RFC 3339: %w", info.DateCreated, err)
	}

	from := created.UTC().Add(-statusChangesWindow / 2).Format(filterTimeLayout)
	until := created.UTC().Add(statusChangesWindow / 2).Format(filterTimeLayout)
	query := url.Values{"filters[status_last_updated]": {from + "..." + until}}
	return "/services/v2/order/certificate/status-changes?" + query.Encode(), nil
}

// readRun is one measured read-mode run.
type readRun struct {
	api        *apiClient
	clients    int
	rounds     int           // 0: no limit on the count
	duration   time.Duration // 0: no time limit
	maxOrderID int64
	// calls is the set of call names each round sends.
	calls map[string]bool
	// statusChangesPath is the status-changes call with its fixed window.
	statusChangesPath string

	latencies *latencies
	errors    errorLog
	completed atomic.Int64
}

// run starts the clients and waits for them. Rounds stop at the count, the
// duration or the first error.
func (r *readRun) run(ctx context.Context) time.Duration {
	abortCtx, abort := context.WithCancel(ctx)
	defer abort()
	startCtx := abortCtx
	if r.duration > 0 {
		var cancel context.CancelFunc
		startCtx, cancel = context.WithTimeout(abortCtx, r.duration)
		defer cancel()
	}

	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range r.clients {
		wg.Go(func() {
			for startCtx.Err() == nil {
				if i := next.Add(1); r.rounds > 0 && i > int64(r.rounds) {
					return
				}
				if err := r.round(abortCtx); err != nil {
					if !(errors.Is(err, context.Canceled) && abortCtx.Err() != nil) {
						r.errors.add(err)
					}
					abort()
					return
				}
				r.completed.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)

	if ctx.Err() != nil {
		r.errors.add(fmt.Errorf("run interrupted: %w", ctx.Err()))
	}
	return elapsed
}

// round sends each of the selected read calls once.
func (r *readRun) round(ctx context.Context) error {
	if r.calls[callReadOrderInfo] {
		orderID := 1 + rand.Int64N(r.maxOrderID)
		err := r.latencies.timed(callReadOrderInfo, func() error {
			_, err := r.api.orderInfo(ctx, orderID)
			return err
		})
		if err != nil {
			return err
		}
	}

	if r.calls[callReadFilteredList] {
		err := r.latencies.timed(callReadFilteredList, func() error {
			_, err := r.api.do(ctx, "GET", filteredListPath, nil, http.StatusOK, nil)
			return err
		})
		if err != nil {
			return err
		}
	}

	if r.calls[callReadStatusChanges] {
		return r.latencies.timed(callReadStatusChanges, func() error {
			_, err := r.api.do(ctx, "GET", r.statusChangesPath, nil, http.StatusOK, nil)
			return err
		})
	}
	return nil
}

// parseReadCalls parses --read-calls, a comma-separated list of read-mode
// call names.
func parseReadCalls(list string) (map[string]bool, error) {
	calls := map[string]bool{}
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		if !slices.Contains(readCallNames, name) {
			return nil, fmt.Errorf("--read-calls contains %q, which is not one of %s", name, strings.Join(readCallNames, ", "))
		}
		calls[name] = true
	}
	return calls, nil
}

func writeReadTable(w io.Writer, r *readReport) {
	fmt.Fprintf(w, "stored orders     %d\n", r.StoredOrders)
	fmt.Fprintf(w, "clients           %d\n", r.Clients)
	fmt.Fprintf(w, "rounds            %d in %.1f s (%.1f per second)\n", r.RoundsCompleted, r.ElapsedSeconds, r.RoundsPerSecond)
	if r.ServerPeakRSSBytes > 0 {
		fmt.Fprintf(w, "server peak RSS   %.1f MiB\n", float64(r.ServerPeakRSSBytes)/(1<<20))
	}
	fmt.Fprintf(w, "load average 1m   %.2f\n", r.LoadAverage)
	fmt.Fprintf(w, "errors            %d\n\n", r.ErrorCount)

	fmt.Fprintf(w, "%-16s %7s %9s %9s %9s %9s %9s\n", "call (ms)", "count", "mean", "p50", "p95", "p99", "max")
	for _, name := range readCallNames {
		s, ok := r.Calls[name]
		if !ok {
			continue
		}
		fmt.Fprintf(w, "%-16s %7d %9.2f %9.2f %9.2f %9.2f %9.2f\n", name, s.Count, s.Mean, s.P50, s.P95, s.P99, s.Max)
	}
}

func writeReadJSON(path string, r *readReport) error {
	raw, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(raw, '\n'), 0o644); err != nil {
		return fmt.Errorf("write --out %s: %w", path, err)
	}
	return nil
}

// parseMode checks --mode.
func parseMode(mode string) error {
	switch mode {
	case modeLifecycle, modeRead:
		return nil
	}
	return fmt.Errorf("--mode %q is not one of %s", mode, strings.Join([]string{modeLifecycle, modeRead}, ", "))
}

// Values of --mode.
const (
	modeLifecycle = "lifecycle"
	modeRead      = "read"
)
