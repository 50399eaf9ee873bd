package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/api"
	"github.com/docsign-ca/docsign-ca/internal/ca"
	"github.com/docsign-ca/docsign-ca/internal/console"
	"github.com/docsign-ca/docsign-ca/internal/order"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

type serveConfig struct {
	listen        string
	dataDir       string
	autoValidate  bool
	issueInterval time.Duration
	intentLease   time.Duration
	drainTimeout  time.Duration
	logFormat     string
	rateLimits    string
	keys          keyConfig
	revocation    revocationConfig
	pprofListen   string
	http          httpConfig
	provisioning  provisioningConfig
	consoleIdle   time.Duration
	payment       paymentConfig
}

func serve(args []string) error {
	var cfg serveConfig
	fs := flag.NewFlagSet("docsign-ca serve", flag.ContinueOnError)
	fs.StringVar(&cfg.listen, "listen", "127.0.0.1:8080", "address and port to listen on")
	fs.StringVar(&cfg.dataDir, "data-dir", "./docsign-data", "directory for the database, the development CA keys and the bootstrap API key")
	fs.BoolVar(&cfg.autoValidate, "auto-validate", false, "complete every submitted organization validation at once (development and sandbox use only)")
	fs.DurationVar(&cfg.issueInterval, "issue-interval", time.Second, "how often to look for orders that became ready for issuance, such as after an operator validation")
	fs.DurationVar(&cfg.intentLease, "issuance-lease", store.DefaultIntentLease,
		"how long a server keeps a certificate it is about to sign before another server sharing the database may complete it")
	fs.DurationVar(&cfg.drainTimeout, "drain-timeout", 30*time.Second, "how long SIGTERM waits for in-flight requests before closing them")
	fs.StringVar(&cfg.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&cfg.rateLimits, "rate-limit", api.DefaultRateLimits,
		"per-API-key limits as REQUESTS/DURATION, comma-separated, each over a rolling window; off disables them")
	cfg.keys.register(fs, "accept unencrypted key files for every CA, not only for the development CAs (development and sandbox use only)")
	cfg.revocation.register(fs)
	fs.StringVar(&cfg.pprofListen, "pprof-listen", "",
		"loopback address and port for Go's net/http/pprof profiles, such as 127.0.0.1:6060; empty turns profiling off")
	cfg.http.register(fs)
	cfg.provisioning.register(fs)
	fs.DurationVar(&cfg.consoleIdle, "console-idle-timeout", console.DefaultIdleTimeout,
		"how long a web console session may stay without a request before it ends and the user signs in again")
	cfg.payment.register(fs)
	fs.Usage = usageWithEnv(fs, "docsign-ca serve [flags]")
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if err := cfg.http.check(); err != nil {
		return err
	}
	if _, err := cfg.payment.parse(); err != nil {
		return err
	}

	log, err := newLogger(cfg.logFormat)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	return runServer(ctx, cfg, log)
}

func newLogger(format string) (*slog.Logger, error) {
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, nil)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, nil)), nil
	}
	return nil, fmt.Errorf("invalid --log-format %q; allowed: text, json", format)
}

func runServer(ctx context.Context, cfg serveConfig, log *slog.Logger) error {
	// Bind first, so that a taken port fails before the data directory, the
	// database and a development CA are created for a server that cannot run.
	listener, err := listen(cfg.listen)
	if err != nil {
		return err
	}
	// srv.Shutdown closes the listener too, and a second Close is harmless.
	defer listener.Close()

	database.opts.Log = log
	st, err := openDataDir(ctx, cfg.dataDir)
	if err != nil {
		return err
	}
	defer st.Close()
	observeStore(st)
	logDatabase(log, cfg.dataDir, cfg.intentLease)
	if cfg.intentLease < time.Second {
		return fmt.Errorf("--issuance-lease %s is too short; give at least 1s", cfg.intentLease)
	}
	st.SetIntentLease(cfg.intentLease)

	// Replicas that start together on an empty database create one
	// development hierarchy and one bootstrap account between them.
	if err := st.WithStartupLock(ctx, func() error { return bootstrap(ctx, st, cfg.dataDir, log) }); err != nil {
		return err
	}

	stopProfiling, err := startProfiling(cfg.pprofListen, log)
	if err != nil {
		return err
	}
	defer stopProfiling()

	opener, err := cfg.keys.opener("", nil)
	if err != nil {
		return err
	}
	defer opener.Close()
	if cfg.keys.dev {
		log.Warn("--dev is on: unencrypted key files are accepted for every CA; use it for development and sandboxes only")
	}
	authority, err := ca.LoadWithKeys(ctx, st, log, opener)
	if err != nil {
		return withMovedDataDirHint(err, cfg.dataDir)
	}
	if err := authority.Recover(ctx); err != nil {
		return err
	}
	// On SQLite this server owns the database, so any running job belongs to
	// a server that stopped. Its order need not wait for the lease to end.
	if !st.Postgres() {
		if err := st.ReleaseRunningJobs(ctx); err != nil {
			return err
		}
	}

	orders := order.NewService(st, authority, log)
	orders.AutoValidate = cfg.autoValidate
	if err := cfg.payment.apply(orders); err != nil {
		return err
	}
	log.Info("card payments use the built-in TEST payment processor, which approves only published test card numbers and moves no money")
	if cfg.autoValidate {
		log.Warn("--auto-validate is on: every submitted organization validation completes at once; use it for development and sandboxes only")
	}

	limits, err := api.ParseRateLimits(cfg.rateLimits)
	if err != nil {
		return fmt.Errorf("--rate-limit: %w", err)
	}

	handler := api.New(orders, st, log, limits...)
	stopRevocation, err := startRevocation(ctx, cfg.revocation, cfg.listen, cfg.dataDir, st, authority, handler, log)
	if err != nil {
		return withMovedDataDirHint(err, cfg.dataDir)
	}
	defer stopRevocation()
	consoleHandler, err := console.New(console.Config{
		Orders: orders, Store: st, Log: log, IdleTimeout: cfg.consoleIdle, SecureCookie: cfg.http.scheme() == "https",
	})
	if err != nil {
		return fmt.Errorf("start the web console: %w", err)
	}
	srv, err := cfg.http.newServer(withConsole(handler, consoleHandler), log)
	if err != nil {
		return err
	}
	if err := auditStart(ctx, st, cfg, authority, listener.Addr().String()); err != nil {
		return fmt.Errorf("record the start in the audit log: %w", err)
	}

	waitProvisioning, err := startProvisioning(ctx, cfg.provisioning, cfg.revocation.publicURL, cfg.dataDir, st, authority, orders, log)
	if err != nil {
		return err
	}
	defer waitProvisioning()

	sweepDone := make(chan struct{})
	go func() {
		defer close(sweepDone)
		sweep(ctx, orders, authority, cfg.issueInterval)
	}()

	serveErr := make(chan error, 1)
	go func() { serveErr <- cfg.http.serve(srv, listener) }()
	handler.SetReady()
	log.Info("docsign-ca listening", "addr", listener.Addr().String(), "scheme", cfg.http.scheme(), "data_dir", cfg.dataDir, "rate_limit", cfg.rateLimits)

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}

	log.Info("shutting down: draining in-flight requests", "timeout", cfg.drainTimeout.String())
	drainCtx, cancel := context.WithTimeout(context.Background(), cfg.drainTimeout)
	defer cancel()
	if err := srv.Shutdown(drainCtx); err != nil {
		log.Error("drain did not finish; closing open connections", "error", err)
		_ = srv.Close()
	}
	<-sweepDone
	log.Info("docsign-ca stopped")
	return nil
}

// withConsole serves the web console under /console/ and everything else
// with the API handler.
func withConsole(apiHandler, consoleHandler http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(console.Prefix, consoleHandler)
	mux.Handle("/", apiHandler)
	return mux
}

// sweep issues orders that became ready outside a request, for example after
// `docsign-ca validation approve` ran in another process, completes the
// intents that another server left when it died while signing, gives
// pickup codes to the client_app orders that became ready, and retries
// card refunds that the processor did not confirm.
func sweep(ctx context.Context, orders *order.Service, authority *ca.Service, interval time.Duration) {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			authority.RecoverStale(ctx)
			orders.IssueReady(ctx)
			orders.PreparePickups(ctx)
			orders.RefundPendingCards(ctx)
		}
	}
}

// listen binds the server's address. A taken address gets a message that
// names the flags to change, because 8080, the default, is a common
// development port.
func listen(addr string) (net.Listener, error) {
	listener, err := net.Listen("tcp", addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		// Wrapping EADDRINUSE, not err, keeps errors.Is working and leaves
		// out net.Listen's message, which repeats the address.
		return nil, fmt.Errorf("listen on %s: %w; stop the other server or choose another address with --listen (and --public-url)",
			addr, syscall.EADDRINUSE)
	}
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return listener, nil
}

// openDataDir creates the data directory (mode 0700) and opens its database.
func openDataDir(ctx context.Context, dir string) (*store.Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory %s: %w", dir, err)
	}

	if database.usesPostgres() {
		return database.open(ctx, "")
	}

	// Create the database file readable only by its owner; SQLite gives its
	// -wal and -shm files the same mode.
	path := filepath.Join(dir, "docsign.db")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create database file %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("create database file %s: %w", path, err)
	}
	return database.open(ctx, path)
}
