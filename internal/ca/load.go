package ca

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/issuance"
	"github.com/docsign-ca/docsign-ca/internal/keys"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

// LoadWithKeys opens the key of every intermediate in the store, checks it
// against its certificate (CheckIssuingCA) and builds its signing engine.
//
// Active intermediates issue; the first by id is the default (DefaultID).
// Retired intermediates are loaded too, because they keep signing CRLs and
// completing issuances that a crash interrupted, but they take no new
// orders. Any failed check of an active CA stops the load, so a wrong key
// or an expired certificate stops the server at start. A retired CA
// outside its validity period is loaded with a warning.
//
// Keys of development CAs (store.CA.Development) may be unencrypted files;
// every other CA needs an encrypted file or a PKCS#11 key unless opener
// allows plain files (serve --dev).
//
// NOTE: the statuses are read once, here. A CA that `docsign-ca ca retire`
// or a ceremony changes in the database takes effect at the next load,
// that is, the next server start.
func LoadWithKeys(ctx context.Context, st *store.Store, log *slog.Logger, opener *keys.Opener) (*Service, error) {
	records, err := st.CAs(ctx)
	if err != nil {
		return nil, err
	}
	certs, err := parseCertificates(records)
	if err != nil {
		return nil, err
	}

	s := &Service{store: st, log: log, issuers: map[int64]*Issuer{}}
	now := time.Now()
	for _, r := range records {
		if r.Role != store.CAIntermediate {
			continue
		}
		if r.Status != store.CAActive && r.Status != store.CARetired {
			return nil, fmt.Errorf("issuing CA %s (%s) has unknown status %q; expected %s or %s",
				r.CACertID, r.CommonName, r.Status, store.CAActive, store.CARetired)
		}

		issuer, err := loadIssuer(r, certs, opener, now, log)
		if err != nil {
			return nil, err
		}
		s.issuers[r.ID] = issuer
		if issuer.Active() && s.DefaultID == 0 {
			s.DefaultID = r.ID
		}
		logLoaded(log, r, s.DefaultID == r.ID)
	}

	if s.DefaultID == 0 {
		return nil, errors.New("no active issuing CA in the database; create one with `docsign-ca ceremony --data-dir`, " +
			"or start on an empty data directory to get a development hierarchy")
	}
	return s, nil
}

func parseCertificates(records []store.CA) (map[int64]*x509.Certificate, error) {
	certs := map[int64]*x509.Certificate{}
	for _, r := range records {
		cert, err := x509.ParseCertificate(r.CertDER)
		if err != nil {
			return nil, fmt.Errorf("parse certificate of CA %d (%s): %w", r.ID, r.CommonName, err)
		}
		certs[r.ID] = cert
	}
	return certs, nil
}

func loadIssuer(r store.CA, certs map[int64]*x509.Certificate, opener *keys.Opener, now time.Time, log *slog.Logger) (*Issuer, error) {
	keyOpener := opener
	if r.Development {
		keyOpener = opener.WithPlainFiles()
	}
	signer, err := keyOpener.Open(r.KeyURI)
	if err != nil {
		return nil, fmt.Errorf("open key of issuing CA %s (%s): %w", r.CACertID, r.CommonName, err)
	}

	cert := certs[r.ID]
	if problems := checkCAKey(cert, signer); len(problems) > 0 {
		return nil, fmt.Errorf("issuing CA %s (%s) with key %s: %w", r.CACertID, r.CommonName, redactKeyURI(r.KeyURI), joinProblems(problems))
	}
	if err := checkValidity(cert, now); err != nil {
		if r.Status == store.CAActive {
			return nil, fmt.Errorf("issuing CA %s (%s): %w; retire it with `docsign-ca ca retire --ca-cert-id %s`",
				r.CACertID, r.CommonName, err, r.CACertID)
		}
		log.Warn("retired issuing CA is outside its validity period; it is loaded to sign CRLs only",
			"ca_cert_id", r.CACertID, "subject", r.CommonName, "error", err)
	}

	chain := []*x509.Certificate{cert}
	if parent, ok := certs[r.ParentID]; ok {
		chain = append(chain, parent)
	}
	authority, err := issuance.NewAuthority(&issuance.Issuer{Cert: cert, Signer: signer, Chain: chain})
	if err != nil {
		return nil, fmt.Errorf("issuing CA %s (%s): %w", r.CACertID, r.CommonName, err)
	}
	return &Issuer{Record: r, Cert: cert, Chain: chain, authority: authority}, nil
}

func logLoaded(log *slog.Logger, r store.CA, isDefault bool) {
	attrs := []any{"ca_id", r.ID, "ca_cert_id", r.CACertID, "subject", r.CommonName, "status", r.Status,
		"default", isDefault, "key", redactKeyURI(r.KeyURI)}
	if r.Development && r.Status == store.CAActive {
		log.Warn("issuing CA is a DEVELOPMENT CA with an unencrypted key file; retire it before production use", attrs...)
		return
	}
	log.Info("issuing CA loaded", attrs...)
}

// redactKeyURI keeps a key URI's scheme and path but drops query
// attributes, which for PKCS#11 may name a PIN source.
func redactKeyURI(uri string) string {
	if i := strings.IndexByte(uri, '?'); i >= 0 {
		return uri[:i]
	}
	return uri
}

// Active reports whether the CA issues new certificates (status "active").
func (i *Issuer) Active() bool { return i.Record.Status == store.CAActive }

// Signer returns the CA's private key, for signing CRLs and OCSP responder
// certificates.
func (i *Issuer) Signer() crypto.Signer { return i.authority.Issuer().Signer }
