package main

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/ca"
	"github.com/docsign-ca/docsign-ca/internal/keys"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

const ceremonySynopsis = "docsign-ca ceremony --config FILE --out DIR --operator NAME [--data-dir DIR] [flags]"

// ceremony runs a key ceremony. It generates the keys that the YAML file
// describes, signs the root and intermediate certificates, and writes them
// and a ceremony record to a new directory. With --data-dir it also records
// the new CAs in the server's database as active issuing CAs.
func ceremony(args []string) error {
	fs := flag.NewFlagSet("docsign-ca ceremony", flag.ContinueOnError)
	configPath := fs.String("config", "", "ceremony YAML file (required)")
	outDir := fs.String("out", "", "new or empty directory for the certificates and the ceremony record (required)")
	operator := fs.String("operator", "", "name of the person who runs the ceremony, for the record (required)")
	dataDir := fs.String("data-dir", "", "data directory of a server; when set, the new CAs are recorded there as active issuing CAs")
	var kc keyConfig
	kc.register(fs, "write new file keys unencrypted and record the new CAs as development CAs (development and sandbox use only)")
	if help, err := parseOperatorFlags(fs, args, ceremonySynopsis); help || err != nil {
		return err
	}

	var missing []string
	for name, value := range map[string]string{"--config": *configPath, "--out": *outDir, "--operator": *operator} {
		if strings.TrimSpace(value) == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %s; usage: %s", strings.Join(missing, ", "), ceremonySynopsis)
	}

	cfg, err := loadCeremonyConfig(*configPath)
	if err != nil {
		return err
	}
	run := &ceremonyRun{cfg: cfg, outDir: *outDir, dataDir: *dataDir, development: kc.dev,
		record: newCeremonyRecord(*operator, *configPath, cfg.raw)}
	return run.execute(&kc)
}

// ceremonyRun is one ceremony in progress.
type ceremonyRun struct {
	cfg         *ceremonyConfig
	outDir      string
	dataDir     string
	development bool
	opener      *keys.Opener
	store       *store.Store
	record      *ceremonyRecord

	rootCert   *x509.Certificate
	rootSigner crypto.Signer
	rootCA     store.CA
	issuing    []store.CA
}

func (r *ceremonyRun) execute(kc *keyConfig) (err error) {
	if err := r.prepare(kc); err != nil {
		return err
	}
	defer r.close()

	// From here on keys may exist, so the record is written even when a
	// later step fails: it lists every key the ceremony created.
	defer func() {
		if recordErr := r.record.write(r.outDir, err); recordErr != nil {
			err = errors.Join(err, recordErr)
		}
	}()

	if err := r.createRoot(); err != nil {
		return err
	}
	for _, spec := range r.cfg.Intermediates {
		if err := r.createIntermediate(spec); err != nil {
			return err
		}
	}
	if err := r.writeCertificates(); err != nil {
		return err
	}
	if err := r.recordInDatabase(); err != nil {
		return err
	}
	r.printSummary()
	return nil
}

// prepare does every check that can fail before a key is generated.
func (r *ceremonyRun) prepare(kc *keyConfig) error {
	if err := prepareOutDir(r.outDir); err != nil {
		return err
	}

	tokenPINs := map[string]string{}
	for token, path := range r.cfg.PKCS11.PINFiles {
		pin, err := keys.ReadSecretFile(r.cfg.path(path))
		if err != nil {
			return fmt.Errorf("pkcs11.pin_files[%s]: %w", token, err)
		}
		tokenPINs[token] = pin
	}
	opener, err := kc.opener(r.cfg.path(r.cfg.PKCS11.Module), tokenPINs)
	if err != nil {
		return err
	}
	r.opener = opener

	if r.dataDir != "" {
		if r.store, err = openDataDir(context.Background(), r.dataDir); err != nil {
			r.close()
			return err
		}
	}

	if err := r.checkKeys(); err != nil {
		r.close()
		return err
	}
	return nil
}

func (r *ceremonyRun) close() {
	if r.store != nil {
		r.store.Close()
	}
	if r.opener != nil {
		r.opener.Close()
	}
}

// prepareOutDir creates the output directory, or accepts an empty one, so
// that no earlier ceremony's files are overwritten.
func prepareOutDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("create output directory: %w", err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("read output directory: %w", err)
	}
	if len(entries) > 0 {
		return fmt.Errorf("output directory %s is not empty; name a new directory for this ceremony", dir)
	}
	return nil
}

// checkKeys fails when a key the ceremony would generate already exists,
// listing every such key, and checks that an existing root's key opens and
// matches its certificate.
func (r *ceremonyRun) checkKeys() error {
	var existing []string
	specs := r.cfg.Intermediates
	if r.cfg.rootCert == nil {
		specs = append([]ceremonyCA{r.cfg.Root}, specs...)
	}
	for _, spec := range specs {
		uri, err := r.cfg.uri(spec.Key)
		if err != nil {
			return err
		}
		if spec.Key.File != "" {
			if err := os.MkdirAll(filepath.Dir(r.cfg.path(spec.Key.File)), 0o700); err != nil {
				return fmt.Errorf("create key directory: %w", err)
			}
		}
		found, err := r.opener.KeyExists(uri)
		if err != nil {
			return err
		}
		if found {
			existing = append(existing, spec.Key.location())
		}
	}
	if len(existing) > 0 {
		return fmt.Errorf("keys already exist at %s; a ceremony never overwrites a key, so choose new labels or files",
			strings.Join(existing, ", "))
	}

	if r.cfg.rootCert != nil {
		return r.openExistingRoot()
	}
	return nil
}

func (r *ceremonyRun) openExistingRoot() error {
	uri, err := r.cfg.uri(r.cfg.Root.Key)
	if err != nil {
		return err
	}
	signer, err := r.opener.Open(uri)
	if err != nil {
		return fmt.Errorf("open the existing root's key: %w", err)
	}
	if err := ca.CheckIssuingCA(r.cfg.rootCert, signer, time.Now()); err != nil {
		return fmt.Errorf("existing root %q: %w", r.cfg.rootCert.Subject.CommonName, err)
	}
	r.rootCert, r.rootSigner = r.cfg.rootCert, signer
	r.rootCA = store.CA{CACertID: caCertID(r.rootCert.Raw), Role: store.CARoot, CommonName: r.rootCert.Subject.CommonName,
		CertDER: r.rootCert.Raw, KeyURI: uri, Development: r.development}
	r.record.addCA("root", "root", r.rootCA, r.rootCert, nil, false, "")
	return nil
}

// createRoot generates the root key and self-signs the root certificate,
// unless the file names an existing root.
func (r *ceremonyRun) createRoot() error {
	if r.rootCert != nil {
		return nil
	}
	spec := r.cfg.Root
	signer, uri, err := r.generateKey("root", spec.Key)
	if err != nil {
		return err
	}

	notBefore, notAfter := spec.Validity.period(r.record.StartedAt)
	der, cert, findings, err := ca.CreateCACertificate(ca.CACertificateRequest{
		Subject: spec.Subject.name(), PublicKey: signer.Public(), NotBefore: notBefore, NotAfter: notAfter,
		MaxPathLen: pathLength(spec.PathLength),
	}, nil, signer)
	if err != nil {
		return err
	}

	r.rootCert, r.rootSigner = cert, signer
	r.rootCA = store.CA{CACertID: caCertID(der), Role: store.CARoot, CommonName: cert.Subject.CommonName, CertDER: der, KeyURI: uri,
		Development: r.development}
	r.record.addCA("root", "root", r.rootCA, cert, findings, true, "root.pem")
	return nil
}

// createIntermediate generates an intermediate's key and signs its
// certificate with the root key.
func (r *ceremonyRun) createIntermediate(spec ceremonyCA) error {
	signer, uri, err := r.generateKey(spec.Name, spec.Key)
	if err != nil {
		return err
	}

	notBefore, notAfter := spec.Validity.period(r.record.StartedAt)
	der, cert, findings, err := ca.CreateCACertificate(ca.CACertificateRequest{
		Subject: spec.Subject.name(), PublicKey: signer.Public(), NotBefore: notBefore, NotAfter: notAfter,
		MaxPathLen: pathLength(spec.PathLength),
		CRLURLs:    spec.CRLURLs, OCSPURLs: spec.OCSPURLs, IssuerURLs: spec.IssuerURLs,
	}, r.rootCert, r.rootSigner)
	if err != nil {
		return err
	}
	if err := verifyUnderRoot(cert, r.rootCert); err != nil {
		return err
	}

	record := store.CA{CACertID: caCertID(der), Role: store.CAIntermediate, CommonName: cert.Subject.CommonName, CertDER: der, KeyURI: uri,
		Development: r.development}
	r.issuing = append(r.issuing, record)
	r.record.addCA("intermediate", spec.Name, record, cert, findings, true, spec.Name+".pem")
	return nil
}

func (r *ceremonyRun) generateKey(owner string, spec ceremonyKey) (crypto.Signer, string, error) {
	alg, err := spec.algorithm()
	if err != nil {
		return nil, "", err
	}
	uri, err := r.cfg.uri(spec)
	if err != nil {
		return nil, "", err
	}

	signer, created, err := r.opener.GenerateKey(uri, alg)
	if err != nil {
		return nil, "", fmt.Errorf("generate the %s key: %w", owner, err)
	}
	r.record.addKey(owner, created, alg, signer.Public())
	fmt.Fprintf(os.Stderr, "generated %s key of %s at %s\n", alg, owner, created)
	return signer, created, nil
}

// pathLength maps the optional path_length to MaxPathLen (-1: none).
func pathLength(p *int) int {
	if p == nil {
		return -1
	}
	return *p
}

func verifyUnderRoot(cert, root *x509.Certificate) error {
	roots := x509.NewCertPool()
	roots.AddCert(root)
	_, err := cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}, CurrentTime: cert.NotBefore})
	if err != nil {
		return fmt.Errorf("intermediate %q does not chain to the root: %w", cert.Subject.CommonName, err)
	}
	return nil
}

func (r *ceremonyRun) writeCertificates() error {
	if r.record.rootIsNew() {
		if err := writeCertificateFile(filepath.Join(r.outDir, "root.pem"), r.rootCA.CertDER); err != nil {
			return err
		}
	}
	for i, issuing := range r.issuing {
		if err := writeCertificateFile(filepath.Join(r.outDir, r.cfg.Intermediates[i].Name+".pem"), issuing.CertDER); err != nil {
			return err
		}
	}
	return nil
}

func writeCertificateFile(path string, der []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("write certificate: %w", err)
	}
	if err := pem.Encode(f, &pem.Block{Type: "CERTIFICATE", Bytes: der}); err != nil {
		f.Close()
		return fmt.Errorf("write certificate %s: %w", path, err)
	}
	return f.Close()
}

// recordInDatabase inserts the root (unless recorded) and the new
// intermediates as active CAs. A running server loads them at its next
// start.
func (r *ceremonyRun) recordInDatabase() error {
	if r.store == nil {
		return nil
	}
	_, _, err := r.store.InsertHierarchy(context.Background(), r.rootCA, r.issuing)
	r.record.Database = &ceremonyDatabase{DataDir: r.dataDir, Inserted: err == nil}
	if err != nil {
		return fmt.Errorf("record the new CAs in %s: %w", r.dataDir, err)
	}
	return nil
}

func (r *ceremonyRun) printSummary() {
	fmt.Printf("ceremony completed; certificates and %s are in %s\n", recordFileName, r.outDir)
	for _, c := range r.record.CAs {
		fmt.Printf("  %-12s ca_cert_id %s  %s  SHA-256 %s\n", c.Role, c.CACertID, c.Subject, c.SHA256Fingerprint)
	}
	if r.store != nil {
		fmt.Printf("the intermediates are active in %s; restart the server to load them\n", r.dataDir)
	} else {
		fmt.Println("the CAs are not in any server's database; run the ceremony with --data-dir to record them")
	}
}
