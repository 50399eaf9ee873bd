package main

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/docsign-ca/docsign-ca/internal/keys"
)

// ceremonyConfig is the YAML file that `docsign-ca ceremony` reads. Relative
// paths in it are relative to the file's directory. docs/operations.md
// shows a complete example.
type ceremonyConfig struct {
	PKCS11        ceremonyPKCS11    `yaml:"pkcs11"`
	Root          ceremonyCA        `yaml:"root"`
	Intermediates []ceremonyCA      `yaml:"intermediates"`
	dir           string            // directory of the YAML file
	raw           []byte            // the file as read, for its hash in the record
	rootCert      *x509.Certificate // set when root.certificate names an existing root
}

// ceremonyPKCS11 configures the PKCS#11 module for the ceremony.
type ceremonyPKCS11 struct {
	// Module overrides --pkcs11-module.
	Module string `yaml:"module"`
	// PINFiles maps a token label to a file whose first line is its user
	// PIN, for tokens whose PIN differs from --pkcs11-pin-file or
	// DOCSIGN_PKCS11_PIN (an offline root token, for example).
	PINFiles map[string]string `yaml:"pin_files"`
}

// ceremonyCA describes one CA: a new key and certificate, or for the root
// an existing certificate whose key signs the new intermediates.
type ceremonyCA struct {
	// Name is the file name of the certificate in the output directory
	// (NAME.pem); the root is always root.pem.
	Name        string           `yaml:"name"`
	Certificate string           `yaml:"certificate"`
	Key         ceremonyKey      `yaml:"key"`
	Subject     ceremonySubject  `yaml:"subject"`
	Validity    ceremonyValidity `yaml:"validity"`
	// PathLength is the pathLenConstraint; leave it out for none.
	PathLength *int     `yaml:"path_length"`
	CRLURLs    []string `yaml:"crl_urls"`
	OCSPURLs   []string `yaml:"ocsp_urls"`
	IssuerURLs []string `yaml:"issuer_urls"`
}

// ceremonyKey locates a key: a PKCS#11 token and label, or a file.
type ceremonyKey struct {
	Type  string `yaml:"type"` // rsa or ecdsa
	Size  int    `yaml:"size"` // RSA modulus bits, or the ECDSA curve size: 256 or 384
	Token string `yaml:"token"`
	Label string `yaml:"label"`
	File  string `yaml:"file"`
}

type ceremonySubject struct {
	CommonName         string `yaml:"common_name"`
	Organization       string `yaml:"organization"`
	OrganizationalUnit string `yaml:"organizational_unit"`
	Locality           string `yaml:"locality"`
	Province           string `yaml:"province"`
	Country            string `yaml:"country"`
}

// ceremonyValidity sets notBefore (default: the ceremony's start) and
// either years or not_after.
type ceremonyValidity struct {
	NotBefore time.Time `yaml:"not_before"`
	NotAfter  time.Time `yaml:"not_after"`
	Years     int       `yaml:"years"`
}

// loadCeremonyConfig reads and checks the YAML file. Unknown fields are
// errors, so that a misspelt field does not silently take a default.
func loadCeremonyConfig(path string) (*ceremonyConfig, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read ceremony file: %w", err)
	}

	var cfg ceremonyConfig
	decoder := yaml.NewDecoder(bytes.NewReader(raw))
	decoder.KnownFields(true)
	if err := decoder.Decode(&cfg); err != nil {
		return nil, fmt.Errorf("ceremony file %s: %w", path, err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	cfg.dir, cfg.raw = filepath.Dir(abs), raw

	if err := cfg.check(); err != nil {
		return nil, fmt.Errorf("ceremony file %s: %w", path, err)
	}
	if cfg.Root.Certificate != "" {
		if cfg.rootCert, err = readCertificateFile(cfg.path(cfg.Root.Certificate)); err != nil {
			return nil, err
		}
	}
	return &cfg, nil
}

// path resolves a path of the file relative to its directory.
func (c *ceremonyConfig) path(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.dir, p)
}

// namePattern keeps certificate file names plain.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// countryPattern is an ISO 3166-1 alpha-2 code, as RFC 5280 Appendix A
// requires for countryName.
var countryPattern = regexp.MustCompile(`^[A-Z]{2}$`)

// check returns every problem of the file in one error.
func (c *ceremonyConfig) check() error {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	if c.Root.Certificate != "" {
		if c.Root.Key.Type != "" || c.Root.Subject != (ceremonySubject{}) || c.Root.Validity != (ceremonyValidity{}) || c.Root.PathLength != nil {
			add("root: an existing root (certificate) takes only key.token and key.label, or key.file")
		}
		checkKeyLocation(add, "root", c.Root.Key)
	} else {
		checkNewCA(add, "root", c.Root)
		if len(c.Root.CRLURLs)+len(c.Root.OCSPURLs)+len(c.Root.IssuerURLs) > 0 {
			add("root: a self-signed root takes no crl_urls, ocsp_urls or issuer_urls")
		}
	}
	if c.Root.Name != "" {
		add("root: name is not used; the root certificate is always root.pem")
	}

	if len(c.Intermediates) == 0 {
		add("intermediates: at least one issuing intermediate is required")
	}
	names := map[string]bool{"root": true}
	keyOwners := map[string]string{c.Root.Key.location(): "root"}
	for i, ca := range c.Intermediates {
		field := fmt.Sprintf("intermediates[%d]", i)
		if !namePattern.MatchString(ca.Name) {
			add("%s: name %q must be 1 to 64 letters, digits, dots, dashes or underscores", field, ca.Name)
		}
		if names[ca.Name] {
			add("%s: name %q is used twice", field, ca.Name)
		}
		names[ca.Name] = true
		if ca.Certificate != "" {
			add("%s: certificate is only for an existing root", field)
		}
		checkNewCA(add, field, ca)
		if other, ok := keyOwners[ca.Key.location()]; ok && ca.Key.location() != "" {
			add("%s: key %s is also the key of %s", field, ca.Key.location(), other)
		}
		keyOwners[ca.Key.location()] = field
	}

	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

func checkNewCA(add func(string, ...any), field string, ca ceremonyCA) {
	if _, err := ca.Key.algorithm(); err != nil {
		add("%s.key: %v", field, err)
	}
	checkKeyLocation(add, field, ca.Key)
	if strings.TrimSpace(ca.Subject.CommonName) == "" {
		add("%s.subject.common_name is required", field)
	}
	if ca.Subject.Country != "" && !countryPattern.MatchString(ca.Subject.Country) {
		add("%s.subject.country %q must be an ISO 3166-1 alpha-2 code in upper case, such as US", field, ca.Subject.Country)
	}

	v := ca.Validity
	switch {
	case v.Years == 0 && v.NotAfter.IsZero():
		add("%s.validity: set years or not_after", field)
	case v.Years != 0 && !v.NotAfter.IsZero():
		add("%s.validity: set years or not_after, not both", field)
	case v.Years < 0 || v.Years > 30:
		add("%s.validity.years %d is outside 1..30", field, v.Years)
	}
	if ca.PathLength != nil && *ca.PathLength < 0 {
		add("%s.path_length %d is negative", field, *ca.PathLength)
	}
}

func checkKeyLocation(add func(string, ...any), field string, k ceremonyKey) {
	onToken := k.Token != "" || k.Label != ""
	switch {
	case onToken && k.File != "":
		add("%s.key: set token and label, or file, not both", field)
	case onToken && (k.Token == "" || k.Label == ""):
		add("%s.key: a PKCS#11 key needs both token and label", field)
	case !onToken && k.File == "":
		add("%s.key: set token and label for a PKCS#11 key, or file for a key file", field)
	}
}

// algorithm maps type and size to a keys.Algorithm.
func (k ceremonyKey) algorithm() (keys.Algorithm, error) {
	var alg keys.Algorithm
	switch k.Type {
	case "rsa":
		alg = keys.Algorithm(fmt.Sprintf("rsa-%d", k.Size))
	case "ecdsa", "ecc":
		alg = keys.Algorithm(fmt.Sprintf("ecdsa-p%d", k.Size))
	default:
		return "", fmt.Errorf("type %q is not supported; use rsa (size 2048, 3072 or 4096) or ecdsa (size 256 or 384)", k.Type)
	}
	for _, known := range keys.Algorithms() {
		if alg == known {
			return alg, nil
		}
	}
	return "", fmt.Errorf("size %d is not supported for type %s; use rsa with 2048, 3072 or 4096, or ecdsa with 256 or 384", k.Size, k.Type)
}

// location returns a text that identifies where the key lives, for
// duplicate checks and messages.
func (k ceremonyKey) location() string {
	if k.File != "" {
		return "file " + k.File
	}
	if k.Token == "" && k.Label == "" {
		return ""
	}
	return fmt.Sprintf("token %q label %q", k.Token, k.Label)
}

// uri returns the key URI for the database: an RFC 7512 URI, or a file:
// URI with the path resolved against the ceremony file's directory.
func (c *ceremonyConfig) uri(k ceremonyKey) (string, error) {
	if k.File != "" {
		return keys.FileURI(c.path(k.File))
	}
	return keys.PKCS11URI{Token: k.Token, Object: k.Label}.String(), nil
}

// name returns the subject as a pkix.Name.
func (s ceremonySubject) name() pkix.Name {
	name := pkix.Name{CommonName: s.CommonName}
	for _, field := range []struct {
		target *[]string
		value  string
	}{
		{&name.Organization, s.Organization},
		{&name.OrganizationalUnit, s.OrganizationalUnit},
		{&name.Locality, s.Locality},
		{&name.Province, s.Province},
		{&name.Country, s.Country},
	} {
		if field.value != "" {
			*field.target = []string{field.value}
		}
	}
	return name
}

// period returns notBefore and notAfter, with start as the default notBefore.
func (v ceremonyValidity) period(start time.Time) (time.Time, time.Time) {
	notBefore := v.NotBefore
	if notBefore.IsZero() {
		notBefore = start
	}
	if v.Years != 0 {
		return notBefore, notBefore.AddDate(v.Years, 0, 0)
	}
	return notBefore, v.NotAfter
}

func readCertificateFile(path string) (*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read root certificate: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("root certificate %s contains no PEM CERTIFICATE block", path)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("root certificate %s: %w", path, err)
	}
	return cert, nil
}
