package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/api"
	"github.com/docsign-ca/docsign-ca/internal/issuance"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

// bootstrapKeyFile is the file, in the data directory, to which the first start
// writes the administrator's API key.
const bootstrapKeyFile = "bootstrap-api-key"

// bootstrap prepares an empty data directory: a development CA hierarchy
// and a first account. Each step is skipped when its result already exists,
// so a restart keeps the database, the CA and the key.
func bootstrap(ctx context.Context, st *store.Store, dataDir string, log *slog.Logger) error {
	if err := bootstrapCA(ctx, st, dataDir, log); err != nil {
		return err
	}
	return bootstrapAccount(ctx, st, dataDir, log)
}

func bootstrapCA(ctx context.Context, st *store.Store, dataDir string, log *slog.Logger) error {
	cas, err := st.CAs(ctx)
	if err != nil {
		return err
	}
	if len(cas) > 0 {
		return nil
	}

	// A fresh directory per attempt: if a previous first start died after
	// writing keys but before recording them, its keys are left untouched
	// (key files are never overwritten) and simply unused.
	keyDir := filepath.Join(dataDir, "ca", "dev-"+time.Now().UTC().Format("20060102T150405"))
	if err := os.MkdirAll(keyDir, 0o700); err != nil {
		return fmt.Errorf("create CA key directory %s: %w", keyDir, err)
	}
	h, err := issuance.CreateDevelopmentHierarchy(keyDir, time.Now().UTC())
	if err != nil {
		return fmt.Errorf("create development CA hierarchy: %w", err)
	}

	rootID, err := insertCA(ctx, st, h.RootDER, h.RootKeyURI, store.CARoot, 0)
	if err != nil {
		return err
	}
	if _, err := insertCA(ctx, st, h.IntermediateDER, h.IntermediateKeyURI, store.CAIntermediate, rootID); err != nil {
		return err
	}
	log.Warn("created a DEVELOPMENT CA hierarchy with keys in files; these are development keys, not for production use",
		"key_dir", keyDir)
	return nil
}

func insertCA(ctx context.Context, st *store.Store, der []byte, keyURI, role string, parentID int64) (int64, error) {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return 0, fmt.Errorf("parse new %s certificate: %w", role, err)
	}
	// Development marks these CAs so that serve accepts their unencrypted key
	// files without --dev.
	return st.InsertCA(ctx, store.CA{
		CACertID:    caCertID(der),
		Role:        role,
		ParentID:    parentID,
		CommonName:  cert.Subject.CommonName,
		CertDER:     der,
		KeyURI:      keyURI,
		Development: true,
	})
}

// caCertID derives the ca_cert_id clients use to pick an issuing CA: the
// first 8 bytes of the certificate's SHA-256 fingerprint in upper-case hex.
func caCertID(der []byte) string {
	sum := sha256.Sum256(der)
	return strings.ToUpper(hex.EncodeToString(sum[:8]))
}

func bootstrapAccount(ctx context.Context, st *store.Store, dataDir string, log *slog.Logger) error {
	n, err := st.CountAccounts(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		return nil
	}

	key, err := newAPIKey()
	if err != nil {
		return err
	}
	_, err = st.CreateAccount(ctx, store.NewAccount{
		Name:      "Default",
		Admin:     store.User{Username: "admin", FirstName: "CA", LastName: "Administrator", Email: "admin@localhost.localdomain"},
		KeyHash:   api.HashAPIKey(key),
		KeyPrefix: key[:8],
	})
	if err != nil {
		return fmt.Errorf("create first account: %w", err)
	}

	path := filepath.Join(dataDir, bootstrapKeyFile)
	if err := writeSecretFile(path, key+"\n"); err != nil {
		return err
	}
	log.Info("created the first account; its administrator's API key is in the file", "path", path)
	return nil
}

// newAPIKey returns a random API key: 24 bytes (192 bits) from the CSPRNG
// in lower-case hex.
func newAPIKey() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate API key: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// writeSecretFile writes content to a new file readable only by its owner.
func writeSecretFile(path, content string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("restrict %s to mode 0600: %w", path, err)
	}
	if _, err := f.WriteString(content); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}
