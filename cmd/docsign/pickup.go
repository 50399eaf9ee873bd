package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/token"
)

// envPIN holds the token's user PIN. It is not a flag, so that the PIN
// never shows in the process list.
const envPIN = "DOCSIGN_PIN"

type pickupConfig struct {
	server       string
	serverCAFile string
	code         string
	module       string
	tokenLabel   string
	pinFile      string
	keyLabel     string
	keyFile      string
	certFile     string
	wait         time.Duration
}

func pickup(args []string) error {
	var cfg pickupConfig
	fs := flag.NewFlagSet("docsign pickup", flag.ContinueOnError)
	fs.StringVar(&cfg.server, "server", "", "base URL of the docsign-ca server, such as https://ca.example.com (required)")
	fs.StringVar(&cfg.serverCAFile, "server-ca-file", "", "PEM file of the CA certificates that verify an https server (default: the system roots)")
	fs.StringVar(&cfg.code, "code", "", "the one-time pickup code from the e-mail (required)")
	fs.StringVar(&cfg.module, "pkcs11-module", "", "path of the token's PKCS#11 module, such as /usr/lib/softhsm/libsofthsm2.so")
	fs.StringVar(&cfg.tokenLabel, "token-label", "", "label of the token that generates and keeps the key")
	fs.StringVar(&cfg.pinFile, "pin-file", "", "file whose first line is the token's user PIN; or set "+envPIN+", or answer the prompt")
	fs.StringVar(&cfg.keyLabel, "key-label", "", "label of the new key and certificate on the token (default: docsign-order-N)")
	fs.StringVar(&cfg.keyFile, "key-file", "", "generate a software key into this file instead of on a token (development only)")
	fs.StringVar(&cfg.certFile, "cert-file", "", "also write the certificate and its chain as PEM to this file (default with --key-file: the key file's name with .crt)")
	fs.DurationVar(&cfg.wait, "wait", 5*time.Minute, "how long to wait for the CA to issue the certificate")
	fs.Usage = usageWithEnv(fs, "docsign pickup --server URL --code CODE (--pkcs11-module PATH --token-label LABEL | --key-file PATH) [flags]")
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if err := cfg.check(); err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runPickup(ctx, cfg)
}

func (cfg *pickupConfig) check() error {
	switch {
	case cfg.server == "":
		return errors.New("missing --server; give the docsign-ca base URL from the e-mail")
	case cfg.code == "":
		return errors.New("missing --code; give the pickup code from the e-mail, or set DOCSIGN_CODE")
	case cfg.keyFile != "" && (cfg.module != "" || cfg.tokenLabel != ""):
		return errors.New("--key-file and --pkcs11-module/--token-label exclude each other; choose a token or a key file")
	case cfg.keyFile == "" && (cfg.module == "" || cfg.tokenLabel == ""):
		return errors.New("missing --pkcs11-module and --token-label; the key is generated on a token (or, for development, give --key-file)")
	}
	if cfg.keyFile != "" && cfg.certFile == "" {
		cfg.certFile = certFileBeside(cfg.keyFile)
	}
	return nil
}

func runPickup(ctx context.Context, cfg pickupConfig) error {
	cl, err := newClient(cfg.server, cfg.serverCAFile, cfg.code)
	if err != nil {
		return err
	}

	info, err := cl.info(ctx)
	var apiErr *apiError
	if errors.As(err, &apiErr) && apiErr.has("pickup_code_used") {
		progressf("the pickup code was redeemed before; collecting the certificate for the existing key")
		return resumePickup(ctx, cfg, cl)
	}
	if err != nil {
		return err
	}
	alg := token.Algorithm{KeyType: info.KeyType, KeySize: info.KeySize}
	if err := alg.Check(); err != nil {
		return fmt.Errorf("order %d: %w", info.OrderID, err)
	}
	progressf("order %d of %s needs an %s key, signature %s; the code is valid until %s",
		info.OrderID, info.Organization.Name, alg, info.SignatureHash, info.CodeExpiresAt)

	holder, err := openHolder(cfg, info.OrderID)
	if err != nil {
		return err
	}
	defer holder.Close()

	var signer crypto.Signer
	err = slowStep(fmt.Sprintf("generating the %s key pair %s", alg, holder.describe()), func() error {
		signer, err = holder.generate(alg)
		return err
	})
	if err != nil {
		return err
	}
	csrPEM, err := buildCSR(signer, info.Organization.Name)
	if err != nil {
		return err
	}

	progressf("sending the CSR with the pickup code")
	res, err := cl.redeem(ctx, csrPEM)
	if err != nil {
		return err
	}
	return finishPickup(ctx, cfg, cl, holder, signer, res)
}

// resumePickup collects the certificate of a code redeemed by an earlier
// run, whose key is already on the token or in the key file.
func resumePickup(ctx context.Context, cfg pickupConfig, cl *client) error {
	res, err := cl.certificate(ctx)
	if err != nil {
		return err
	}
	holder, err := openHolder(cfg, res.OrderID)
	if err != nil {
		return err
	}
	defer holder.Close()
	signer, err := holder.existing()
	if err != nil {
		return err
	}
	return finishPickup(ctx, cfg, cl, holder, signer, res)
}

func finishPickup(ctx context.Context, cfg pickupConfig, cl *client, holder keyHolder, signer crypto.Signer, res *pickupResult) error {
	if res.Status != "issued" {
		var err error
		err = slowStep(fmt.Sprintf("waiting for the CA to issue the certificate of order %d", res.OrderID), func() error {
			res, err = waitForIssuance(ctx, cl, res, cfg.wait)
			return err
		})
		if err != nil {
			return err
		}
	}
	leaf, chain, err := res.chain()
	if err != nil {
		return err
	}
	if err := checkSameKey(leaf, signer); err != nil {
		return err
	}

	where, err := holder.store(leaf, chain)
	if err != nil {
		return err
	}
	if cfg.certFile != "" {
		if err := writeCertFile(cfg.certFile, leaf, chain); err != nil {
			return err
		}
		where += ", and to " + cfg.certFile
	}
	progressf("certificate of order %d (serial %X, subject %s, valid until %s) written %s",
		res.OrderID, leaf.SerialNumber, leaf.Subject, leaf.NotAfter.UTC().Format(time.RFC3339), where)
	return nil
}

// waitForIssuance polls until the certificate is issued, the CA refuses
// it, or wait ends.
func waitForIssuance(ctx context.Context, cl *client, res *pickupResult, wait time.Duration) (*pickupResult, error) {
	deadline := time.Now().Add(wait)
	for {
		switch res.Status {
		case "issued":
			return res, nil
		case "failed":
			return nil, fmt.Errorf("order %d: %s", res.OrderID, res.Message)
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("the certificate of order %d is not issued after %s; run the same command later to collect it", res.OrderID, wait)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(2 * time.Second):
		}
		next, err := cl.certificate(ctx)
		if err != nil {
			return nil, err
		}
		res = next
	}
}

// buildCSR returns a PKCS #10 request (RFC 2986) signed with the new key,
// which proves its possession. The CA takes only the public key from it;
// the subject comes from the validated organization.
func buildCSR(signer crypto.Signer, organization string) (string, error) {
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: organization, Organization: []string{organization}},
	}, signer)
	if err != nil {
		return "", fmt.Errorf("sign the CSR with the new key: %w", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})), nil
}

// checkSameKey makes sure the certificate certifies the key just generated.
func checkSameKey(leaf *x509.Certificate, signer crypto.Signer) error {
	spki, err := x509.MarshalPKIXPublicKey(signer.Public())
	if err != nil {
		return err
	}
	if !bytes.Equal(spki, leaf.RawSubjectPublicKeyInfo) {
		return fmt.Errorf("the certificate (serial %X) certifies another key than the one generated; keep the key and contact the CA", leaf.SerialNumber)
	}
	return nil
}

func progressf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "docsign: "+format+"\n", args...)
}

// slowStep runs fn and reports its progress: a start line, a line every
// ten seconds while it runs, and the time it took.
func slowStep(what string, fn func() error) error {
	progressf("%s ...", what)
	start := time.Now()
	done := make(chan struct{})
	go func() {
		ticker := time.NewTicker(10 * time.Second)
		defer ticker.Stop()
		for {
			select {
			case <-done:
				return
			case <-ticker.C:
				progressf("  still %s (%s)", what, time.Since(start).Round(time.Second))
			}
		}
	}()
	err := fn()
	close(done)
	if err == nil {
		progressf("%s: done in %s", what, time.Since(start).Round(100*time.Millisecond))
	}
	return err
}
