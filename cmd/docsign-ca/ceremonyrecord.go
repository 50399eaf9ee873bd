package main

import (
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/ca"
	"github.com/docsign-ca/docsign-ca/internal/keys"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

// recordFileName is the ceremony record in the output directory.
const recordFileName = "ceremony-record.json"

// ceremonyRecord is what a ceremony created, when and by whom. It holds
// certificates' fingerprints and key URIs, never a PIN or a passphrase.
type ceremonyRecord struct {
	Format       string            `json:"format"`
	Status       string            `json:"status"` // "completed" or "failed"
	Error        string            `json:"error,omitempty"`
	Operator     string            `json:"operator"`
	OSUser       string            `json:"os_user"`
	Host         string            `json:"host"`
	StartedAt    time.Time         `json:"started_at"`
	FinishedAt   time.Time         `json:"finished_at"`
	ConfigFile   string            `json:"config_file"`
	ConfigSHA256 string            `json:"config_sha256"`
	KeysCreated  []ceremonyKeyNote `json:"keys_created"`
	CAs          []ceremonyCANote  `json:"cas"`
	Database     *ceremonyDatabase `json:"database,omitempty"`
}

// ceremonyKeyNote is a key the ceremony generated.
type ceremonyKeyNote struct {
	For             string `json:"for"`
	KeyURI          string `json:"key_uri"`
	Algorithm       string `json:"algorithm"`
	PublicKeySHA256 string `json:"public_key_sha256"`
}

// ceremonyCANote is a CA certificate the ceremony signed or, for an
// existing root, used.
type ceremonyCANote struct {
	Role              string           `json:"role"`
	Name              string           `json:"name"`
	New               bool             `json:"new"`
	CACertID          string           `json:"ca_cert_id"`
	Subject           string           `json:"subject"`
	Issuer            string           `json:"issuer"`
	SerialNumber      string           `json:"serial_number"`
	NotBefore         time.Time        `json:"not_before"`
	NotAfter          time.Time        `json:"not_after"`
	SHA256Fingerprint string           `json:"sha256_fingerprint"`
	PublicKeySHA256   string           `json:"public_key_sha256"`
	KeyURI            string           `json:"key_uri"`
	CertificateFile   string           `json:"certificate_file,omitempty"`
	LintWarnings      []ca.LintFinding `json:"lint_warnings,omitempty"`
}

// ceremonyDatabase records whether the CAs were recorded in a server's database.
type ceremonyDatabase struct {
	DataDir  string `json:"data_dir"`
	Inserted bool   `json:"inserted"`
}

func newCeremonyRecord(operator, configPath string, config []byte) *ceremonyRecord {
	sum := sha256.Sum256(config)
	host, _ := os.Hostname()
	osUser := ""
	if u, err := user.Current(); err == nil {
		osUser = u.Username
	}
	abs, err := filepath.Abs(configPath)
	if err != nil {
		abs = configPath
	}
	return &ceremonyRecord{
		Format:       "docsign-ca ceremony record 1",
		Operator:     operator,
		OSUser:       osUser,
		Host:         host,
		StartedAt:    time.Now().UTC().Truncate(time.Second),
		ConfigFile:   abs,
		ConfigSHA256: hex.EncodeToString(sum[:]),
	}
}

func (r *ceremonyRecord) addKey(owner, uri string, alg keys.Algorithm, public crypto.PublicKey) {
	r.KeysCreated = append(r.KeysCreated, ceremonyKeyNote{For: owner, KeyURI: uri, Algorithm: string(alg), PublicKeySHA256: publicKeySHA256(public)})
}

func (r *ceremonyRecord) addCA(role, name string, record store.CA, cert *x509.Certificate, findings []ca.LintFinding, isNew bool, file string) {
	sum := sha256.Sum256(cert.Raw)
	r.CAs = append(r.CAs, ceremonyCANote{
		Role: role, Name: name, New: isNew, CACertID: record.CACertID,
		Subject: cert.Subject.String(), Issuer: cert.Issuer.String(),
		SerialNumber: strings.ToUpper(cert.SerialNumber.Text(16)),
		NotBefore:    cert.NotBefore, NotAfter: cert.NotAfter,
		SHA256Fingerprint: strings.ToUpper(hex.EncodeToString(sum[:])),
		PublicKeySHA256:   publicKeySHA256(cert.PublicKey),
		KeyURI:            record.KeyURI, CertificateFile: file, LintWarnings: findings,
	})
}

func (r *ceremonyRecord) rootIsNew() bool {
	return len(r.CAs) > 0 && r.CAs[0].Role == "root" && r.CAs[0].New
}

// write writes the record to a new file in dir; cause is the ceremony's
// error, if any. An existing record is never overwritten.
func (r *ceremonyRecord) write(dir string, cause error) error {
	r.FinishedAt = time.Now().UTC().Truncate(time.Second)
	r.Status = "completed"
	if cause != nil {
		r.Status, r.Error = "failed", cause.Error()
	}

	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(dir, recordFileName)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("write ceremony record: %w", err)
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("write ceremony record %s: %w", path, err)
	}
	return f.Close()
}

// publicKeySHA256 is the SHA-256 of the DER SubjectPublicKeyInfo in hex,
// the value `openssl pkey -pubin -outform DER | sha256sum` prints.
func publicKeySHA256(public crypto.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(public)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}
