package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docsign-ca/docsign-ca/internal/store"
)

// fileCeremonyYAML describes a hierarchy with encrypted file keys.
const fileCeremonyYAML = `
root:
  key: {type: ecdsa, size: 384, file: keys/root.key}
  subject: {common_name: File Root CA, organization: Example Inc, country: US}
  validity: {years: 20}
  path_length: 1
intermediates:
  - name: issuing-1
    key: {type: ecdsa, size: 256, file: keys/issuing-1.key}
    subject: {common_name: File Issuing CA 1, organization: Example Inc, country: US}
    validity: {years: 5}
    path_length: 0
    crl_urls: [http://crl.example.test/root.crl]
`

// rotationYAML adds an intermediate under the root that fileCeremonyYAML made.
const rotationYAML = `
root:
  certificate: first/root.pem
  key: {file: keys/root.key}
intermediates:
  - name: issuing-2
    key: {type: rsa, size: 2048, file: keys/issuing-2.key}
    subject: {common_name: File Issuing CA 2, organization: Example Inc, country: US}
    validity: {years: 5}
    path_length: 0
`

func writeCeremonyFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCeremonyConfigRejects(t *testing.T) {
	tests := []struct {
		name     string
		yaml     string
		wantText string
	}{
		{name: "unknown field", yaml: strings.Replace(fileCeremonyYAML, "path_length: 1", "path_lenght: 1", 1), wantText: "path_lenght"},
		{name: "no intermediates", yaml: strings.Split(fileCeremonyYAML, "intermediates:")[0], wantText: "at least one issuing intermediate"},
		{name: "unsupported size", yaml: strings.Replace(fileCeremonyYAML, "size: 256", "size: 521", 1), wantText: "size 521 is not supported"},
		{name: "unsupported type", yaml: strings.Replace(fileCeremonyYAML, "type: ecdsa, size: 256", "type: ed25519, size: 256", 1), wantText: `type "ed25519"`},
		{name: "token without label", yaml: strings.Replace(fileCeremonyYAML, "file: keys/issuing-1.key", "token: t", 1), wantText: "needs both token and label"},
		{name: "token and file", yaml: strings.Replace(fileCeremonyYAML, "file: keys/issuing-1.key", "file: k, token: t, label: l", 1), wantText: "not both"},
		{name: "shared key", yaml: strings.Replace(fileCeremonyYAML, "keys/issuing-1.key", "keys/root.key", 1), wantText: "is also the key of root"},
		{name: "years and not_after", yaml: strings.Replace(fileCeremonyYAML, "validity: {years: 5}", "validity: {years: 5, not_after: 2030-01-01T00:00:00Z}", 1), wantText: "not both"},
		{name: "no validity", yaml: strings.Replace(fileCeremonyYAML, "validity: {years: 5}", "validity: {}", 1), wantText: "set years or not_after"},
		{name: "lower-case country", yaml: strings.Replace(fileCeremonyYAML, "country: US}\n  validity: {years: 20}", "country: us}\n  validity: {years: 20}", 1), wantText: "country \"us\""},
		{name: "bad name", yaml: strings.Replace(fileCeremonyYAML, "name: issuing-1", "name: ../escape", 1), wantText: `name "../escape"`},
		{name: "root with URLs", yaml: strings.Replace(fileCeremonyYAML, "path_length: 1", "path_length: 1\n  ocsp_urls: [http://ocsp.example.test]", 1), wantText: "self-signed root takes no"},
		{name: "no common name", yaml: strings.Replace(fileCeremonyYAML, "common_name: File Issuing CA 1, ", "", 1), wantText: "common_name is required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeCeremonyFile(t, t.TempDir(), "ceremony.yaml", tc.yaml)
			_, err := loadCeremonyConfig(path)
			if err == nil || !strings.Contains(err.Error(), tc.wantText) {
				t.Fatalf("loadCeremonyConfig: got %v, want an error containing %q", err, tc.wantText)
			}
		})
	}
}

func TestCeremonyWithFileKeys(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(envKeyPassphrase, "ceremony test passphrase")
	config := writeCeremonyFile(t, dir, "ceremony.yaml", fileCeremonyYAML)
	dataDir := filepath.Join(dir, "data")
	first := filepath.Join(dir, "first")

	err := ceremony([]string{"--config", config, "--out", first, "--operator", "Test Operator", "--data-dir", dataDir})
	if err != nil {
		t.Fatalf("ceremony: %v", err)
	}

	for _, name := range []string{"root.pem", "issuing-1.pem", recordFileName} {
		if _, err := os.Stat(filepath.Join(first, name)); err != nil {
			t.Errorf("output %s: %v", name, err)
		}
	}
	key, err := os.ReadFile(filepath.Join(dir, "keys", "root.key"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(key), "-----BEGIN ENCRYPTED PRIVATE KEY-----") {
		t.Errorf("root key file is not an encrypted PKCS#8 file: %.40q", key)
	}

	t.Run("second run never overwrites", func(t *testing.T) {
		err := ceremony([]string{"--config", config, "--out", filepath.Join(dir, "again"), "--operator", "Test Operator"})
		if err == nil || !strings.Contains(err.Error(), "never overwrites a key") {
			t.Fatalf("second ceremony: got %v, want a never-overwrites error", err)
		}
		after, _ := os.ReadFile(filepath.Join(dir, "keys", "root.key"))
		if string(after) != string(key) {
			t.Error("the second run changed the root key file")
		}
	})

	t.Run("rotation under the existing root", func(t *testing.T) {
		rotation := writeCeremonyFile(t, dir, "rotation.yaml", rotationYAML)
		err := ceremony([]string{"--config", rotation, "--out", filepath.Join(dir, "second"), "--operator", "Test Operator", "--data-dir", dataDir})
		if err != nil {
			t.Fatalf("rotation ceremony: %v", err)
		}

		cas := storedCAs(t, dataDir)
		if len(cas) != 3 {
			t.Fatalf("database has %d CAs, want the root and two intermediates", len(cas))
		}
		for _, c := range cas[1:] {
			if c.Role != store.CAIntermediate || c.ParentID != cas[0].ID || c.Status != store.CAActive || c.Development {
				t.Errorf("CA %s: role %s, parent %d, status %s, development %v; want an active intermediate under the root",
					c.CACertID, c.Role, c.ParentID, c.Status, c.Development)
			}
		}
		if _, err := os.Stat(filepath.Join(dir, "second", "root.pem")); err == nil {
			t.Error("the rotation ceremony wrote root.pem for a root it did not create")
		}
	})
}

func TestCeremonyRecordsFailure(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(envKeyPassphrase, "ceremony test passphrase")
	// The intermediate outlives the root, which CreateCACertificate rejects
	// after the keys exist.
	yaml := strings.Replace(fileCeremonyYAML, "validity: {years: 5}", "validity: {years: 25}", 1)
	config := writeCeremonyFile(t, dir, "ceremony.yaml", yaml)
	out := filepath.Join(dir, "out")

	err := ceremony([]string{"--config", config, "--out", out, "--operator", "Test Operator"})
	if err == nil || !strings.Contains(err.Error(), "not within the parent's") {
		t.Fatalf("ceremony: got %v, want a validity error", err)
	}

	data, err := os.ReadFile(filepath.Join(out, recordFileName))
	if err != nil {
		t.Fatalf("no ceremony record after the failure: %v", err)
	}
	var record ceremonyRecord
	if err := json.Unmarshal(data, &record); err != nil {
		t.Fatal(err)
	}
	if record.Status != "failed" || len(record.KeysCreated) != 2 || record.Error == "" {
		t.Errorf("record: status %s, %d keys, error %q; want failed, 2 keys and the error", record.Status, len(record.KeysCreated), record.Error)
	}
	if strings.Contains(string(data), "ceremony test passphrase") {
		t.Error("the record contains the passphrase")
	}
}

func storedCAs(t *testing.T, dataDir string) []store.CA {
	t.Helper()
	st, err := openDataDir(context.Background(), dataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cas, err := st.CAs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return cas
}
