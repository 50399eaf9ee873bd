package e2e

import (
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/keys/softhsmtest"
)

// Test tokens and PINs; the root token has its own PIN, as an offline
// root token would.
const (
	rootToken    = "docsign-root"
	rootPIN      = "271828"
	issuingToken = "docsign-issuing"
	issuingPIN   = "314159"
)

const ceremonyYAML = `
pkcs11:
  pin_files:
    docsign-root: root.pin
root:
  key: {type: ecdsa, size: 384, token: docsign-root, label: root-2026}
  subject: {common_name: E2E Document Signing Root CA, organization: E2E Test Inc, country: US}
  validity: {years: 20}
  path_length: 1
intermediates:
  - name: issuing-rsa
    key: {type: rsa, size: 3072, token: docsign-issuing, label: issuing-rsa-2026}
    subject: {common_name: E2E Document Signing RSA Issuing CA, organization: E2E Test Inc, country: US}
    validity: {years: 10}
    path_length: 0
    crl_urls: [http://crl.example.test/root.crl]
    issuer_urls: [http://crl.example.test/root.crt]
  - name: issuing-ecc
    key: {type: ecdsa, size: 384, token: docsign-issuing, label: issuing-ecc-2026}
    subject: {common_name: E2E Document Signing ECC Issuing CA, organization: E2E Test Inc, country: US}
    validity: {years: 10}
    path_length: 0
`

// hsmSetup is a SoftHSM2 with a root and an issuing token, and a ceremony file.
type hsmSetup struct {
	hsm        *softhsmtest.HSM
	dir        string
	configPath string
	env        []string
}

func newHSMSetup(t *testing.T) *hsmSetup {
	t.Helper()
	dir := t.TempDir()
	hsm, err := softhsmtest.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, token := range []struct{ label, pin string }{{rootToken, rootPIN}, {issuingToken, issuingPIN}} {
		if err := hsm.InitToken(token.label, "so-"+token.pin, token.pin); err != nil {
			t.Fatal(err)
		}
	}

	writeFile(t, filepath.Join(dir, "root.pin"), rootPIN+"\n")
	configPath := filepath.Join(dir, "ceremony.yaml")
	writeFile(t, configPath, ceremonyYAML)
	return &hsmSetup{hsm: hsm, dir: dir, configPath: configPath, env: []string{hsm.Env(), "DOCSIGN_PKCS11_PIN=" + issuingPIN}}
}

// ceremony runs `docsign-ca ceremony` and returns its output and error.
func (h *hsmSetup) ceremony(t *testing.T, outDir, dataDir string) (string, error) {
	t.Helper()
	cmd := docsignCommand(t, dataDir, "ceremony", "--config", h.configPath, "--out", outDir, "--operator", "E2E Operator",
		"--data-dir", dataDir, "--pkcs11-module", softhsmtest.ModulePath)
	cmd.Env = append(cmd.Env, h.env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// privateKeys returns pkcs11-tool's listing of the private keys on a token.
func (h *hsmSetup) privateKeys(t *testing.T, token, pin string) []string {
	t.Helper()
	cmd := exec.Command("pkcs11-tool", "--module", softhsmtest.ModulePath, "--token-label", token, "--login", "--pin", pin,
		"--list-objects", "--type", "privkey")
	cmd.Env = append(os.Environ(), h.hsm.Env())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("pkcs11-tool --list-objects on %s: %v\n%s", token, err, out)
	}
	blocks := strings.Split(string(out), "Private Key Object")
	return blocks[1:]
}

type ceremonyRecordFile struct {
	Status      string `json:"status"`
	Operator    string `json:"operator"`
	KeysCreated []struct {
		KeyURI string `json:"key_uri"`
	} `json:"keys_created"`
	CAs []struct {
		Role              string `json:"role"`
		Name              string `json:"name"`
		CACertID          string `json:"ca_cert_id"`
		SHA256Fingerprint string `json:"sha256_fingerprint"`
	} `json:"cas"`
}

func readCeremonyRecord(t *testing.T, dir string) ceremonyRecordFile {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "ceremony-record.json"))
	if err != nil {
		t.Fatal(err)
	}
	var record ceremonyRecordFile
	if err := json.Unmarshal(data, &record); err != nil {
		t.Fatalf("ceremony record is not JSON: %v\n%s", err, data)
	}
	return record
}

// TestCeremonyAndPKCS11Issuance runs a ceremony on two SoftHSM2 tokens,
// starts the server on the new keys, issues from both intermediates by
// ca_cert_id, checks each chain with openssl, and retires one intermediate.
func TestCeremonyAndPKCS11Issuance(t *testing.T) {
	h := newHSMSetup(t)
	dataDir := filepath.Join(h.dir, "data")
	outDir := filepath.Join(h.dir, "ceremony-1")

	out, err := h.ceremony(t, outDir, dataDir)
	if err != nil {
		t.Fatalf("ceremony: %v\n%s", err, out)
	}
	record := readCeremonyRecord(t, outDir)
	if record.Status != "completed" || record.Operator != "E2E Operator" || len(record.KeysCreated) != 3 || len(record.CAs) != 3 {
		t.Fatalf("ceremony record: status %s, operator %q, %d keys, %d CAs; want completed, E2E Operator, 3, 3",
			record.Status, record.Operator, len(record.KeysCreated), len(record.CAs))
	}
	rsaID, eccID := record.CAs[1].CACertID, record.CAs[2].CACertID

	t.Run("second run never overwrites", func(t *testing.T) {
		out, err := h.ceremony(t, filepath.Join(h.dir, "ceremony-2"), dataDir)
		if err == nil || !strings.Contains(out, "never overwrites a key") {
			t.Fatalf("second ceremony: err %v, output %s; want a never-overwrites error", err, out)
		}
		if n := len(h.privateKeys(t, issuingToken, issuingPIN)); n != 2 {
			t.Errorf("issuing token has %d private keys after the second run, want 2", n)
		}
		if n := len(h.privateKeys(t, rootToken, rootPIN)); n != 1 {
			t.Errorf("root token has %d private keys after the second run, want 1", n)
		}
	})

	t.Run("keys are sensitive and non-extractable", func(t *testing.T) {
		for _, token := range []struct{ label, pin string }{{rootToken, rootPIN}, {issuingToken, issuingPIN}} {
			for _, listing := range h.privateKeys(t, token.label, token.pin) {
				if !strings.Contains(listing, "Access:     sensitive, always sensitive, never extractable") {
					t.Errorf("private key on %s is not sensitive and non-extractable:\n%s", token.label, listing)
				}
			}
		}
	})

	s := startServerEnv(t, dataDir, h.env, "--pkcs11-module", softhsmtest.ModulePath, "--auto-validate")

	ids := intermediateIDs(t, s)
	if strings.Join(ids, ",") != rsaID+","+eccID {
		t.Fatalf("intermediates = %v, want [%s %s] (RSA first, the default)", ids, rsaID, eccID)
	}

	issued := map[string]int64{}
	// A P-384 issuer signs with SHA-384: zlint's Mozilla lint
	// e_mp_ecdsa_signature_encoding_correct rejects ECDSA-SHA256 under it.
	for _, tc := range []struct{ caCertID, issuerCN, hash string }{
		{rsaID, "E2E Document Signing RSA Issuing CA", "sha256"},
		{eccID, "E2E Document Signing ECC Issuing CA", "sha384"},
	} {
		t.Run("issue from "+tc.issuerCN, func(t *testing.T) {
			placed := placeOrderFromCA(t, s, tc.caCertID, tc.hash, "PKCS11 Org "+tc.caCertID)
			issued[tc.caCertID] = idOf(t, placed["certificate_id"])
			verifyChainWithOpenSSL(t, placed, filepath.Join(outDir, "root.pem"), tc.issuerCN)
		})
	}

	// Retire the ECC intermediate; the restarted server issues from the
	// RSA one only, and still serves the ECC certificate with its chain.
	s.cli("ca", "retire", "--ca-cert-id", eccID)
	s.stop()
	s = startServerEnv(t, dataDir, h.env, "--pkcs11-module", softhsmtest.ModulePath, "--auto-validate")

	if ids := intermediateIDs(t, s); len(ids) != 1 || ids[0] != rsaID {
		t.Errorf("intermediates after retiring %s = %v, want [%s]", eccID, ids, rsaID)
	}
	body := emailOrder(0, csrPEM(t, testRSAKey(t)))
	body["organization"] = newOrganization("Retired CA Org Inc")
	body["certificate"].(map[string]any)["ca_cert_id"] = eccID
	body["skip_approval"] = true
	resp := s.do("POST", "/services/v2/order/certificate/ds_org", s.Key, body)
	if resp.Status != http.StatusBadRequest || !strings.Contains(string(resp.Body), "ca_cert_id") {
		t.Errorf("order from the retired CA: %d %s; want 400 naming ca_cert_id", resp.Status, resp.Body)
	}
	resp = s.do("GET", fmt.Sprintf("/services/v2/certificate/%d/download/format/pem_all", issued[eccID]), s.Key, nil)
	if resp.Status != http.StatusOK {
		t.Errorf("download of a certificate from the retired CA: %d %s", resp.Status, resp.Body)
	}
}

// TestServeStopsOnWrongPIN checks that a key that cannot be opened stops
// the server at start with an error that names the cause.
func TestServeStopsOnWrongPIN(t *testing.T) {
	h := newHSMSetup(t)
	dataDir := filepath.Join(h.dir, "data")
	if out, err := h.ceremony(t, filepath.Join(h.dir, "ceremony"), dataDir); err != nil {
		t.Fatalf("ceremony: %v\n%s", err, out)
	}

	cmd := docsignCommand(t, dataDir, "serve", "--listen", freeAddr(t), "--data-dir", dataDir, "--pkcs11-module", softhsmtest.ModulePath)
	cmd.Env = append(cmd.Env, h.hsm.Env(), "DOCSIGN_PKCS11_PIN=000000")
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("server with a wrong PIN is still running:\n%s", out)
	}

	if err == nil {
		t.Fatalf("server with a wrong PIN exited with status 0:\n%s", out)
	}
	if !strings.Contains(string(out), "CKR_PIN_INCORRECT") || !strings.Contains(string(out), issuingToken) {
		t.Errorf("output does not name the token and CKR_PIN_INCORRECT:\n%s", out)
	}
	if strings.Contains(string(out), "000000") {
		t.Errorf("output contains the PIN:\n%s", out)
	}
}

func intermediateIDs(t *testing.T, s *server) []string {
	t.Helper()
	resp := s.do("GET", "/services/v2/certificate/intermediates", s.Key, nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("GET intermediates: %d %s", resp.Status, resp.Body)
	}
	var list struct {
		Intermediates []struct {
			ID                string `json:"id"`
			CACertID          string `json:"ca_cert_id"`
			SubjectCommonName string `json:"subject_common_name"`
			PEM               string `json:"pem"`
		} `json:"intermediates"`
	}
	if err := json.Unmarshal(resp.Body, &list); err != nil {
		t.Fatal(err)
	}
	ids := make([]string, 0, len(list.Intermediates))
	for _, i := range list.Intermediates {
		if i.ID != i.CACertID || i.SubjectCommonName == "" || !strings.HasPrefix(i.PEM, "-----BEGIN CERTIFICATE-----") {
			t.Errorf("intermediate entry %+v lacks id, subject_common_name or pem", i)
		}
		ids = append(ids, i.CACertID)
	}
	return ids
}

// placeOrderFromCA places an order from the CA that is issued within the call.
func placeOrderFromCA(t *testing.T, s *server, caCertID, signatureHash, orgName string) map[string]any {
	t.Helper()
	body := emailOrder(0, csrPEM(t, testRSAKey(t)))
	body["organization"] = newOrganization(orgName)
	body["certificate"].(map[string]any)["ca_cert_id"] = caCertID
	body["certificate"].(map[string]any)["signature_hash"] = signatureHash
	body["skip_approval"] = true
	placed := placeOrder(t, s, s.Key, body)
	if placed["certificate_chain"] == nil {
		t.Fatalf("order from %s not issued within the call: %v", caCertID, placed)
	}
	return placed
}

// verifyChainWithOpenSSL checks the leaf of certificate_chain with
// `openssl verify` against the ceremony's root, with the intermediate
// from the chain as untrusted.
func verifyChainWithOpenSSL(t *testing.T, placed map[string]any, rootPath, issuerCN string) {
	t.Helper()
	chain := placed["certificate_chain"].([]any)
	if len(chain) != 3 {
		t.Fatalf("certificate_chain has %d entries, want leaf, intermediate, root", len(chain))
	}
	dir := t.TempDir()
	leafPath, intermediatePath := filepath.Join(dir, "leaf.pem"), filepath.Join(dir, "intermediate.pem")
	writeFile(t, leafPath, chain[0].(map[string]any)["pem"].(string))
	writeFile(t, intermediatePath, chain[1].(map[string]any)["pem"].(string))

	out, err := exec.Command("openssl", "verify", "-CAfile", rootPath, "-untrusted", intermediatePath, leafPath).CombinedOutput()
	if err != nil || !strings.Contains(string(out), ": OK") {
		t.Fatalf("openssl verify: %v\n%s", err, out)
	}

	block, _ := pem.Decode([]byte(chain[0].(map[string]any)["pem"].(string)))
	leaf := parsePEMChain(t, pem.EncodeToMemory(block))[0]
	if leaf.Issuer.CommonName != issuerCN {
		t.Errorf("leaf issuer = %q, want %q", leaf.Issuer.CommonName, issuerCN)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
