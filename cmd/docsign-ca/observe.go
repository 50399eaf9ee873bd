package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/metrics"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

// observeStore reports the store's transactions and state counts to the
// metrics served at /metrics.
func observeStore(st *store.Store) {
	st.SetTransactionHook(metrics.ObserveTransaction)
	metrics.SetStateSource(func(ctx context.Context) (metrics.StateCounts, error) {
		counts, err := st.CountStates(ctx)
		return metrics.StateCounts(counts), err
	})
}

// startProfiling serves net/http/pprof on addr, which must be a loopback
// address: profiles and goroutine dumps reveal internals, and the CPU
// profile endpoint costs CPU on demand. An empty addr turns profiling off.
// The returned function stops the listener.
func startProfiling(addr string, log *slog.Logger) (func(), error) {
	if addr == "" {
		return func() {}, nil
	}
	if err := checkLoopback(addr); err != nil {
		return nil, fmt.Errorf("--pprof-listen: %w", err)
	}

	listener, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--pprof-listen: listen on %s: %w", addr, err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}

	go func() {
		if err := srv.Serve(listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("pprof server stopped", "addr", listener.Addr().String(), "error", err)
		}
	}()
	log.Warn("pprof profiling is on; keep this address private", "addr", listener.Addr().String())
	return func() { _ = srv.Close() }, nil
}

// checkLoopback accepts HOST:PORT whose host is a loopback IP address or
// "localhost".
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("invalid address %q: %w; use HOST:PORT such as 127.0.0.1:6060", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("address %q is not a loopback address; use 127.0.0.1 or [::1]", addr)
	}
	return nil
}
