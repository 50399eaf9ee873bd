package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Call names: one per HTTP call of the lifecycle, plus the whole lifecycle.
const (
	callCreateOrder = "create_order"
	callApprove     = "approve"
	callOrderInfo   = "order_info"
	callDownload    = "download"
	callLifecycle   = "lifecycle"
)

var callNames = []string{callCreateOrder, callApprove, callOrderInfo, callDownload, callLifecycle}

// latencies collects the duration of every call, by call name.
type latencies struct {
	mu      sync.Mutex
	samples map[string][]time.Duration
}

func newLatencies() *latencies {
	return &latencies{samples: map[string][]time.Duration{}}
}

func (l *latencies) add(call string, d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.samples[call] = append(l.samples[call], d)
}

// timed runs fn and records its duration under call when it succeeds.
func (l *latencies) timed(call string, fn func() error) error {
	start := time.Now()
	if err := fn(); err != nil {
		return err
	}
	l.add(call, time.Since(start))
	return nil
}

// maxErrorMessages bounds the error messages kept for the report; every
// error is still counted.
const maxErrorMessages = 20

// errorLog counts errors and keeps the first messages.
type errorLog struct {
	mu       sync.Mutex
	count    int
	messages []string
}

func (e *errorLog) add(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.count++
	if len(e.messages) < maxErrorMessages {
		e.messages = append(e.messages, err.Error())
	}
}

// lifecycleRun is one measured run: clients workers that each take the next
// CSR and take an order through its whole lifecycle.
type lifecycleRun struct {
	api          *apiClient
	orgID        int64
	csrs         []preparedCSR
	clients      int
	orders       int           // 0: no limit on the count
	duration     time.Duration // 0: no time limit
	rate         float64       // orders started per second; 0: no limit
	orderTimeout time.Duration

	latencies *latencies
	errors    errorLog
	completed atomic.Int64
	// certificateID is the certificate of a completed order, for the chain look-up.
	certificateID atomic.Int64
}

// run starts the workers and waits for them. New orders stop when the
// count or the duration is reached, or at the first error, which also
// cancels the orders in flight. Orders in flight at the end of the duration
// complete and count.
func (r *lifecycleRun) run(ctx context.Context) time.Duration {
	abortCtx, abort := context.WithCancel(ctx)
	defer abort()
	startCtx := abortCtx
	if r.duration > 0 {
		var cancel context.CancelFunc
		startCtx, cancel = context.WithTimeout(abortCtx, r.duration)
		defer cancel()
	}
	tokens := pace(startCtx, r.rate)

	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range r.clients {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if r.orders > 0 && i >= r.orders {
					return
				}
				if !takeToken(startCtx, tokens) {
					return
				}
				if err := r.order(abortCtx, r.csrs[i%len(r.csrs)]); err != nil {
					// After the first error aborts the run, the orders in
					// flight fail with context.Canceled: not errors of their own.
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

// pace returns a channel that yields rate tokens per second until ctx ends,
// or nil for no rate limit.
func pace(ctx context.Context, rate float64) <-chan struct{} {
	if rate <= 0 {
		return nil
	}
	tokens := make(chan struct{})
	go func() {
		defer close(tokens)
		ticker := time.NewTicker(time.Duration(float64(time.Second) / rate))
		defer ticker.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-ticker.C:
			}
			select {
			case <-ctx.Done():
				return
			case tokens <- struct{}{}:
			}
		}
	}()
	return tokens
}

// takeToken waits for the next token, and reports false once ctx ended.
func takeToken(ctx context.Context, tokens <-chan struct{}) bool {
	if ctx.Err() != nil {
		return false
	}
	if tokens == nil {
		return true
	}
	select {
	case <-ctx.Done():
		return false
	case _, ok := <-tokens:
		return ok
	}
}

// order takes one order from placement to the downloaded certificate.
func (r *lifecycleRun) order(ctx context.Context, csr preparedCSR) error {
	ctx, cancel := context.WithTimeout(ctx, r.orderTimeout)
	defer cancel()
	start := time.Now()

	var placed *placedOrder
	err := r.latencies.timed(callCreateOrder, func() error {
		var err error
		placed, err = r.api.placeOrder(ctx, r.orgID, csr.PEM)
		return err
	})
	if err != nil {
		return err
	}

	// An account whose policy approves an administrator's orders creates
	// the request already approved; only a pending request needs a decision.
	if len(placed.Requests) > 0 && placed.Requests[0].Status == "pending" {
		err := r.latencies.timed(callApprove, func() error { return r.api.approve(ctx, placed.Requests[0].ID) })
		if err != nil {
			return err
		}
	}

	certificateID, err := r.waitIssued(ctx, placed.ID)
	if err != nil {
		return err
	}

	err = r.latencies.timed(callDownload, func() error {
		certs, err := r.api.downloadPEMAll(ctx, certificateID)
		if err != nil {
			return err
		}
		if !bytes.Equal(certs[0].RawSubjectPublicKeyInfo, csr.SPKI) {
			return fmt.Errorf("order %d: the downloaded certificate does not certify the CSR's public key", placed.ID)
		}
		return nil
	})
	if err != nil {
		return err
	}

	r.latencies.add(callLifecycle, time.Since(start))
	r.certificateID.Store(certificateID)
	return nil
}

// waitIssued reads order info until the order is issued and returns its
// certificate id. The server issues during the approval call when it can,
// so the first read usually finds the order issued. Otherwise it polls with
// a growing pause, up to the order timeout.
func (r *lifecycleRun) waitIssued(ctx context.Context, orderID int64) (int64, error) {
	pause := 5 * time.Millisecond
	for {
		var info *orderInfo
		err := r.latencies.timed(callOrderInfo, func() error {
			var err error
			info, err = r.api.orderInfo(ctx, orderID)
			return err
		})
		if err != nil {
			return 0, err
		}

		switch info.Status {
		case "issued":
			return info.Certificate.ID, nil
		case "needs_approval", "pending":
		default:
			return 0, fmt.Errorf("order %d has status %q, expected issued", orderID, info.Status)
		}

		if err := sleepContext(ctx, pause); err != nil {
			return 0, fmt.Errorf("order %d is still %s after %s: %w", orderID, info.Status, r.orderTimeout, err)
		}
		pause = min(2*pause, 200*time.Millisecond)
	}
}
