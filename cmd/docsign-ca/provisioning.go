package main

import (
	"context"
	"crypto/x509"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/ca"
	"github.com/docsign-ca/docsign-ca/internal/notify"
	"github.com/docsign-ca/docsign-ca/internal/order"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

// provisioningConfig holds the serve flags of the e-mail queue, the
// renewal notices and the client_app pickup codes.
type provisioningConfig struct {
	smtpURL         string
	smtpCAFile      string
	mailFrom        string
	mailInterval    time.Duration
	mailRetryMin    time.Duration
	mailLease       time.Duration
	renewalNotices  string
	renewalInterval time.Duration
	pickupCodeTTL   time.Duration
}

func (c *provisioningConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&c.smtpURL, "smtp-url", "",
		"SMTP relay for e-mail: smtp://[user:password@]host[:port] (STARTTLS required, port 587), smtps://... (TLS, port 465), "+
			"or smtp://host:25?starttls=off for a relay on loopback; empty writes each message to <data-dir>/outbox/. "+
			"Set a URL with a password through DOCSIGN_SMTP_URL, so that it stays out of the process list")
	fs.StringVar(&c.smtpCAFile, "smtp-ca-file", "", "PEM file of the CA certificates that verify the SMTP relay (default: the system roots)")
	fs.StringVar(&c.mailFrom, "mail-from", "docsign-ca@localhost.localdomain", "sender address of the e-mail")
	fs.DurationVar(&c.mailInterval, "mail-interval", 5*time.Second, "how often the e-mail queue is checked for messages to send")
	fs.DurationVar(&c.mailRetryMin, "mail-retry-min", notify.DefaultRetryMin,
		"wait after a failed send; it doubles with each failure up to 1h, and a message is given up after about three days")
	fs.DurationVar(&c.mailLease, "mail-lease", notify.DefaultLease,
		"how long a message that a server is sending stays hidden from the other servers sharing the database; "+
			"a message whose server died is sent by another one after this time")
	fs.StringVar(&c.renewalNotices, "renewal-notices", "90,60,30,7,0",
		"days before a certificate's expiry on which its contacts get a renewal notice, comma-separated; 0 is the day it expires; empty sends none")
	fs.DurationVar(&c.renewalInterval, "renewal-check-interval", time.Hour, "how often the server looks for certificates that reached a renewal notice day")
	fs.DurationVar(&c.pickupCodeTTL, "pickup-code-ttl", order.DefaultPickupCodeTTL, "how long a client_app order's pickup code can be redeemed")
}

// startProvisioning configures the pickup codes and starts the e-mail
// worker and the renewal notices. They run until ctx ends or the returned
// function is called, which stops them and waits for them.
func startProvisioning(ctx context.Context, cfg provisioningConfig, publicURL, dataDir string, st *store.Store,
	authority *ca.Service, orders *order.Service, log *slog.Logger) (func(), error) {
	orders.Provisioning = order.ProvisioningConfig{PickupCodeTTL: cfg.pickupCodeTTL}

	days, err := order.ParseRenewalNoticeDays(cfg.renewalNotices)
	if err != nil {
		return nil, fmt.Errorf("--renewal-notices: %w", err)
	}
	sender, err := newSender(cfg, dataDir, log)
	if err != nil {
		return nil, err
	}
	worker := &notify.Worker{
		Store:    st,
		Sender:   sender,
		Log:      log,
		RetryMin: cfg.mailRetryMin,
		Lease:    cfg.mailLease,
		Composer: &notify.Composer{Store: st, Chain: issuerChain(authority), PublicURL: publicURL, From: cfg.mailFrom},
	}
	log.Info("e-mail queue started", "via", sender.Describe(), "from", cfg.mailFrom, "renewal_notice_days", cfg.renewalNotices)

	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		worker.Run(ctx, cfg.mailInterval)
	}()
	go func() {
		defer wg.Done()
		queueRenewalNotices(ctx, orders, days, cfg.renewalInterval, log)
	}()
	return func() {
		cancel()
		wg.Wait()
	}, nil
}

func newSender(cfg provisioningConfig, dataDir string, log *slog.Logger) (notify.Sender, error) {
	if cfg.smtpURL == "" {
		if cfg.smtpCAFile != "" {
			return nil, fmt.Errorf("--smtp-ca-file is set without --smtp-url; set both, or neither for the outbox")
		}
		return &notify.Outbox{Dir: filepath.Join(dataDir, "outbox"), Log: log}, nil
	}

	var roots *x509.CertPool
	if cfg.smtpCAFile != "" {
		pemBytes, err := os.ReadFile(cfg.smtpCAFile)
		if err != nil {
			return nil, fmt.Errorf("--smtp-ca-file: %w", err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pemBytes) {
			return nil, fmt.Errorf("--smtp-ca-file %s contains no PEM certificate", cfg.smtpCAFile)
		}
	}
	sender, err := notify.NewSMTPSender(strings.TrimSpace(cfg.smtpURL), roots)
	if err != nil {
		return nil, fmt.Errorf("--smtp-url: %w", err)
	}
	return sender, nil
}

func issuerChain(authority *ca.Service) func(int64) []*x509.Certificate {
	return func(caID int64) []*x509.Certificate {
		if issuer, ok := authority.Issuer(caID); ok {
			return issuer.Chain
		}
		return nil
	}
}

// queueRenewalNotices queues the due renewal notices at start and then
// every interval until ctx ends.
func queueRenewalNotices(ctx context.Context, orders *order.Service, days []int, interval time.Duration, log *slog.Logger) {
	if len(days) == 0 {
		return
	}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		if _, err := orders.QueueRenewalNotices(ctx, days); err != nil && ctx.Err() == nil {
			log.Error("queue renewal notices", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}
