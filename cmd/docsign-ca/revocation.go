package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/api"
	"github.com/docsign-ca/docsign-ca/internal/ca"
	"github.com/docsign-ca/docsign-ca/internal/revocation"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

// defaultPublicURL matches the default --listen address.
const defaultPublicURL = "http://127.0.0.1:8080"

// revocationConfig holds the serve flags of the CRL and OCSP services.
type revocationConfig struct {
	publicURL   string
	crlValidity time.Duration
	crlDelay    time.Duration
}

func (c *revocationConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&c.publicURL, "public-url", defaultPublicURL,
		"base URL where relying parties reach /crl, /ocsp and /ca; every issued certificate carries URLs under it")
	fs.DurationVar(&c.crlValidity, "crl-validity", revocation.DefaultCRLValidity,
		"time from a CRL's thisUpdate to its nextUpdate; a new CRL is made when half of it has passed")
	fs.DurationVar(&c.crlDelay, "crl-delay", revocation.DefaultCRLDelay,
		"longest time a revocation waits before a new CRL lists it; OCSP shows a revocation at once")
}

// startRevocation points the certificates that authority issues at the
// public URL, starts the CRL and OCSP services for every loaded issuing CA
// (retired ones included, since their certificates still need status), and
// connects them to handler. It must run before the first issuance. The
// returned function stops the background work and waits for it.
func startRevocation(ctx context.Context, cfg revocationConfig, listen, dataDir string, st *store.Store,
	authority *ca.Service, handler *api.Server, log *slog.Logger) (func(), error) {
	publicURL, err := revocation.CheckPublicURL(cfg.publicURL)
	if err != nil {
		return nil, fmt.Errorf("--public-url: %w", err)
	}
	if cfg.crlValidity < time.Minute {
		return nil, fmt.Errorf("--crl-validity %s is shorter than one minute; use for example 24h", cfg.crlValidity)
	}
	if cfg.crlDelay < 0 {
		return nil, fmt.Errorf("--crl-delay %s is negative; use 0 to list every revocation on the next CRL request", cfg.crlDelay)
	}
	if cfg.publicURL == defaultPublicURL && listen != "127.0.0.1:8080" {
		log.Warn("--public-url is the default while --listen is not; issued certificates point relying parties at "+defaultPublicURL,
			"listen", listen)
	}
	authority.PublicURL = publicURL

	issuers, err := revocationIssuers(ctx, st, authority)
	if err != nil {
		return nil, err
	}
	svc, err := revocation.New(st, issuers, revocation.Config{
		CRLValidity: cfg.crlValidity,
		CRLDelay:    cfg.crlDelay,
		KeyDir:      filepath.Join(dataDir, "ocsp"),
	}, log)
	if err != nil {
		return nil, err
	}
	if err := svc.Start(ctx); err != nil {
		return nil, err
	}
	handler.SetRevocation(svc)

	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		svc.Run(runCtx)
	}()
	log.Info("CRL and OCSP services started", "public_url", publicURL, "crl_validity", cfg.crlValidity.String(),
		"crl_delay", cfg.crlDelay.String(), "issuing_cas", len(issuers))
	return func() { cancel(); <-done }, nil
}

// revocationIssuers returns every intermediate that authority loaded.
func revocationIssuers(ctx context.Context, st *store.Store, authority *ca.Service) ([]revocation.Issuer, error) {
	records, err := st.CAs(ctx)
	if err != nil {
		return nil, err
	}
	var issuers []revocation.Issuer
	for _, r := range records {
		issuer, ok := authority.Issuer(r.ID)
		if !ok {
			continue
		}
		issuers = append(issuers, revocation.Issuer{
			CAID: r.ID, CACertID: r.CACertID, Cert: issuer.Cert, Signer: issuer.Signer(),
		})
	}
	return issuers, nil
}
