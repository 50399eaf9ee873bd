// Command docsign-bench measures a running docsign-ca server. N concurrent
// clients take ds_org orders through the whole lifecycle over HTTP: place
// the order with a pre-generated CSR, approve its request, read order info
// until the certificate is issued, and download it as pem_all. It reports
// orders per second, the latency percentiles of each call, the server's CPU
// time per order and peak memory, and the ratio of the throughput to an
// in-process signing baseline with the server's issuer key type.
//
// It starts no server. Start one with --auto-validate, so that the
// benchmark's organization is validated at once:
//
//	docsign-ca serve --auto-validate --data-dir /tmp/bench-data &
//	docsign-bench --api-key-file /tmp/bench-data/bootstrap-api-key --orders 1000 --server-pid $!
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/keys"
)

// benchOrganization is the name of the organization the benchmark creates.
const benchOrganization = "docsign-bench Example Inc"

// config is the parsed command line.
type config struct {
	mode              string
	readCalls         string
	storedOrders      int
	url               string
	apiKeyFile        string
	clients           int
	orders            int
	duration          time.Duration
	rate              float64
	csrs              int
	keyPool           int
	warmup            int
	serverPID         int
	issuerKeyType     string
	subscriberKeyType string
	signatureHash     string
	baselineDuration  time.Duration
	orderTimeout      time.Duration
	out               string
	allowRemote       bool
}

// defaultDurationCSRs is the number of CSRs generated for a run bounded
// only by --duration.
const defaultDurationCSRs = 2000

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "docsign-bench:", err)
		os.Exit(1)
	}
}

func newFlagSet(cfg *config, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("docsign-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.mode, "mode", modeLifecycle, "lifecycle: take orders through placement, approval, issuance and download; "+
		"read: repeat order info of a random stored order, the list of issued orders (limit 100) and the status changes of the 10 minutes around order 1's creation, "+
		"with --orders as the number of those rounds")
	fs.StringVar(&cfg.readCalls, "read-calls", strings.Join(readCallNames, ","),
		"comma-separated calls of each read-mode round: "+strings.Join(readCallNames, ", ")+"; timing one call alone keeps a slow one from delaying the others")
	fs.IntVar(&cfg.storedOrders, "stored-orders", 0,
		"read mode: number of stored orders, whose ids must be 1 to N; 0 reads it from the order list's page total")
	fs.StringVar(&cfg.url, "url", "http://127.0.0.1:8080", "base URL of the docsign-ca server; must be a loopback address unless --allow-remote")
	fs.StringVar(&cfg.apiKeyFile, "api-key-file", "docsign-data/bootstrap-api-key",
		"file with an administrator's API key, such as the server's bootstrap-api-key")
	fs.IntVar(&cfg.clients, "clients", 8, "number of concurrent clients, each taking one order at a time through the lifecycle")
	fs.IntVar(&cfg.orders, "orders", 0, "number of orders to complete; 0 for no count limit (then --duration is required)")
	fs.DurationVar(&cfg.duration, "duration", 0, "stop starting new orders after this time, such as 30s; 0 for no time limit")
	fs.Float64Var(&cfg.rate, "rate", 0, "orders started per second over all clients; 0 starts them as fast as the clients can")
	fs.IntVar(&cfg.csrs, "csrs", 0, fmt.Sprintf("number of CSRs to generate before the run; 0 means --orders, or %d for a run bounded only by --duration; with fewer CSRs than orders, CSRs are reused in turn", defaultDurationCSRs))
	fs.IntVar(&cfg.keyPool, "key-pool", 16, "number of distinct subscriber keys the CSRs are signed with")
	fs.IntVar(&cfg.warmup, "warmup", 8, "orders completed before the measurement starts, and not counted")
	fs.IntVar(&cfg.serverPID, "server-pid", 0, "process id of the server, to read its CPU time and peak memory from /proc; 0 reads the server's process_* metrics instead")
	fs.StringVar(&cfg.issuerKeyType, "issuer-key-type", "",
		"key type of the baseline's throwaway issuer: "+algorithmNames()+"; empty reads it from the server's issuing CA certificate")
	fs.StringVar(&cfg.subscriberKeyType, "subscriber-key-type", string(keys.RSA2048), "key type of the CSRs: "+algorithmNames())
	fs.StringVar(&cfg.signatureHash, "signature-hash", "sha256",
		"signature_hash of the orders and of the baseline's certificate: sha256, sha384 or sha512; an ECDSA P-384 issuing CA accepts sha384 only")
	fs.DurationVar(&cfg.baselineDuration, "baseline-duration", 5*time.Second,
		"how long each of the two baseline loops (signature, lint and signature) runs; 0 skips the baseline")
	fs.DurationVar(&cfg.orderTimeout, "order-timeout", time.Minute, "how long one order may take from placement to download before the run fails")
	fs.StringVar(&cfg.out, "out", "", "file to write the JSON report to; empty writes none")
	fs.BoolVar(&cfg.allowRemote, "allow-remote", false, "allow a --url host that is not a loopback address")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `usage: docsign-bench [flags]

Drives a running docsign-ca server through the ds_org order lifecycle and
reports throughput, latency, server CPU and memory, and the ratio to an
in-process signing baseline. Start the server with --auto-validate. Any
error fails the run with exit status 1.

`)
		fs.PrintDefaults()
	}
	return fs
}

func algorithmNames() string {
	names := make([]string, 0, len(keys.Algorithms()))
	for _, alg := range keys.Algorithms() {
		names = append(names, string(alg))
	}
	return strings.Join(names, ", ")
}

// parseConfig parses and checks the command line.
func parseConfig(args []string, stderr io.Writer) (*config, error) {
	cfg := &config{}
	fs := newFlagSet(cfg, stderr)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q; see docsign-bench --help", fs.Arg(0))
	}

	var problems []string
	if err := parseMode(cfg.mode); err != nil {
		problems = append(problems, err.Error())
	}
	if _, err := parseReadCalls(cfg.readCalls); err != nil {
		problems = append(problems, err.Error())
	}
	if cfg.orders < 0 || cfg.duration < 0 {
		problems = append(problems, "--orders and --duration must not be negative")
	}
	if cfg.orders == 0 && cfg.duration == 0 {
		problems = append(problems, "set --orders, --duration or both, so that the run ends")
	}
	if cfg.clients < 1 {
		problems = append(problems, fmt.Sprintf("--clients %d must be at least 1", cfg.clients))
	}
	if cfg.storedOrders < 0 {
		problems = append(problems, fmt.Sprintf("--stored-orders %d must not be negative", cfg.storedOrders))
	}
	if cfg.rate < 0 || cfg.csrs < 0 || cfg.warmup < 0 || cfg.baselineDuration < 0 {
		problems = append(problems, "--rate, --csrs, --warmup and --baseline-duration must not be negative")
	}
	if cfg.keyPool < 1 {
		problems = append(problems, fmt.Sprintf("--key-pool %d must be at least 1", cfg.keyPool))
	}
	if cfg.orderTimeout <= 0 {
		problems = append(problems, "--order-timeout must be positive")
	}
	if !knownAlgorithm(cfg.subscriberKeyType) {
		problems = append(problems, fmt.Sprintf("--subscriber-key-type %q is not one of %s", cfg.subscriberKeyType, algorithmNames()))
	}
	if cfg.issuerKeyType != "" && !knownAlgorithm(cfg.issuerKeyType) {
		problems = append(problems, fmt.Sprintf("--issuer-key-type %q is not one of %s", cfg.issuerKeyType, algorithmNames()))
	}
	if _, ok := signatureHashes[cfg.signatureHash]; !ok {
		problems = append(problems, fmt.Sprintf("--signature-hash %q is not one of sha256, sha384, sha512", cfg.signatureHash))
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "; "))
	}

	if cfg.csrs == 0 {
		cfg.csrs = cfg.orders
		if cfg.orders == 0 {
			cfg.csrs = defaultDurationCSRs
		}
	}
	return cfg, nil
}

func knownAlgorithm(name string) bool {
	for _, alg := range keys.Algorithms() {
		if string(alg) == name {
			return true
		}
	}
	return false
}

// run parses args, checks the target before any connection, and runs the
// benchmark. It returns an error when the run had any error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, stderr)
	if err != nil {
		return err
	}
	target, err := checkTarget(cfg.url, cfg.allowRemote)
	if err != nil {
		return err
	}
	key, err := readAPIKey(cfg.apiKeyFile)
	if err != nil {
		return err
	}

	api := &apiClient{http: newHTTPClient(cfg.clients, cfg.allowRemote), baseURL: target.String(), key: key,
		signatureHash: cfg.signatureHash}
	if cfg.mode == modeRead {
		return runRead(ctx, cfg, api, stdout, stderr)
	}

	b := &bench{cfg: cfg, api: api, stderr: stderr}
	r, err := b.run(ctx)
	if err != nil {
		return err
	}

	writeTable(stdout, r)
	if cfg.out != "" {
		if err := writeJSON(cfg.out, r); err != nil {
			return err
		}
	}
	if r.ErrorCount > 0 {
		return fmt.Errorf("%d errors during the run; the first: %s", r.ErrorCount, r.Errors[0])
	}
	return nil
}

// readAPIKey reads the key file. The key is never printed.
func readAPIKey(path string) (string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read --api-key-file: %w; pass the server's bootstrap-api-key file or another administrator's key", err)
	}
	key := strings.TrimSpace(string(raw))
	if key == "" {
		return "", fmt.Errorf("--api-key-file %s is empty", path)
	}
	return key, nil
}
