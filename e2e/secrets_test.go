package e2e

import (
	"bytes"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// This file runs representative flows, some of them carrying secrets, and
// then scans everything the server wrote (its log, the SQLite files and
// the e-mail outbox) for those secrets. The CA key files and the bootstrap
// key file hold secrets by design and are left out of the scan.

// secretCard is a Luhn-valid Visa test number used by no other test, so a
// hit can only come from this file's orders.
const (
	secretCardNumber = "4012888888881881"
	secretCVV        = "7391"
)

// secret is one value that must appear nowhere in the scanned bytes.
type secret struct {
	name     string
	patterns []string
}

func TestSecretsStayOutOfLogsAndDatabase(t *testing.T) {
	s := startServer(t)
	orgID := createValidatedOrganization(t, s, s.Key, "Secret Hygiene Inc")
	otherKey := createAccountKey(t, s, "--name", "Second Tenant")

	wrongKey := hex.EncodeToString(randomBytes(t, 24))
	if resp := s.do("GET", "/services/v2/order/certificate/1", wrongKey, nil); resp.Status != http.StatusForbidden {
		t.Fatalf("unknown API key: %d %s", resp.Status, resp.Body)
	}

	placeCardOrders(t, s, orgID)
	keyPEMs := sendPrivateKeysAsCSR(t, s, orgID)
	issueCSROrders(t, s, orgID)

	secrets := []secret{
		{"bootstrap API key", []string{s.Key}},
		{"second account's API key", []string{otherKey}},
		{"rejected API key", []string{wrongKey}},
		{"private key PEM block", []string{"PRIVATE KEY-----"}},
		{"card number", []string{secretCardNumber, "4012 8888 8888 1881", "4012-8888-8888-1881"}},
		{"CVV", []string{`"` + secretCVV + `"`, "cvv=" + secretCVV, `cvv":` + secretCVV, "cvv: " + secretCVV}},
	}
	for i, keyPEM := range keyPEMs {
		secrets = append(secrets, secret{"body of private key " + string(rune('A'+i)), []string{pemBodySample(t, keyPEM)}})
	}

	// A clean stop checkpoints the WAL into the database file; any WAL
	// left behind is scanned too.
	s.stop()
	sources := map[string][]byte{"server log": []byte(s.logs.String())}
	for name, content := range dataDirFiles(t, s.DataDir) {
		sources[name] = content
	}
	addDatabaseDump(t, s.DataDir, sources)

	// The scan would pass on empty files; the card order's last four
	// digits and the database's certificates show that the flows wrote.
	if db := sources["docsign.db"]; !bytes.Contains(db, []byte(`"card_last_four":"1881"`)) {
		t.Fatalf("the database lacks the card order's last four digits; the flows did not run as planned")
	}

	for source, content := range sources {
		lower := bytes.ToLower(content)
		for _, sec := range secrets {
			for _, pattern := range sec.patterns {
				if bytes.Contains(content, []byte(pattern)) || bytes.Contains(lower, bytes.ToLower([]byte(pattern))) {
					t.Errorf("%s contains the %s (pattern %q)", source, sec.name, pattern)
				}
			}
		}
	}
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// placeCardOrders places one valid card order, which the server accepts
// and stores with the brand and last four digits only, and one with an
// expired card, which it rejects.
func placeCardOrders(t *testing.T, s *server, orgID int64) {
	t.Helper()
	now := time.Now().UTC()
	card := creditCard(now)
	card["number"] = "4012 8888 8888 1881"
	card["cvv"] = secretCVV

	body := emailOrder(orgID, csrPEM(t, testRSAKey(t)))
	body["payment_method"] = "card"
	body["credit_card"] = card
	body["billing_address"] = billingAddress()
	if resp := s.do("POST", dsOrgPath, s.Key, body); resp.Status != http.StatusCreated {
		t.Fatalf("card order: %d %s", resp.Status, resp.Body)
	}

	expired := map[string]any{}
	for k, v := range card {
		expired[k] = v
	}
	expired["number"] = secretCardNumber
	expired["expiration_year"] = "2001"
	body["credit_card"] = expired
	resp := s.do("POST", dsOrgPath, s.Key, body)
	if resp.Status != http.StatusBadRequest {
		t.Fatalf("order with an expired card: %d %s", resp.Status, resp.Body)
	}
	if bytes.Contains(resp.Body, []byte(secretCardNumber)) || bytes.Contains(resp.Body, []byte(secretCVV)) {
		t.Errorf("the error response repeats the card number or CVV: %s", resp.Body)
	}
}

// sendPrivateKeysAsCSR sends private keys where a CSR belongs, alone and
// next to a real CSR, and returns the PEM of each key sent.
func sendPrivateKeysAsCSR(t *testing.T, s *server, orgID int64) []string {
	t.Helper()
	ecKey := newECKey(t, elliptic.P256())
	pkcs8, err := x509.MarshalPKCS8PrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	sec1, err := x509.MarshalECPrivateKey(newECKey(t, elliptic.P384()))
	if err != nil {
		t.Fatal(err)
	}
	pkcs8PEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}))
	sec1PEM := string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}))
	rsaPEM := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(testRSAKey(t))}))

	csr := csrPEM(t, ecKey)
	for name, text := range map[string]string{
		"PKCS#8 key alone":     pkcs8PEM,
		"SEC 1 key alone":      sec1PEM,
		"RSA key alone":        rsaPEM,
		"CSR, then its key":    csr + pkcs8PEM,
		"key, then its CSR":    pkcs8PEM + csr,
		"key with literal \\n": strings.ReplaceAll(pkcs8PEM, "\n", `\n`),
	} {
		resp := s.do("POST", dsOrgPath, s.Key, emailOrder(orgID, text))
		if resp.Status != http.StatusBadRequest {
			t.Errorf("%s as the CSR: %d %s", name, resp.Status, resp.Body)
			continue
		}
		expectCodes(t, resp, "csr_invalid_cannot_parse")
		if bytes.Contains(resp.Body, []byte("PRIVATE KEY-----")) {
			t.Errorf("%s: the error response echoes the key: %s", name, resp.Body)
		}
	}
	return []string{pkcs8PEM, sec1PEM, rsaPEM}
}

// issueCSROrders places and approves email orders with RSA and ECDSA CSRs
// and waits for their certificates.
func issueCSROrders(t *testing.T, s *server, orgID int64) {
	t.Helper()
	for _, key := range []any{testRSAKey(t), newECKey(t, elliptic.P384())} {
		placed := placeOrder(t, s, s.Key, emailOrder(orgID, csrPEM(t, key)))
		requests := placed["requests"].([]any)
		approve(t, s, s.Key, idOf(t, requests[0].(map[string]any)["id"]))
		waitForStatus(t, s, s.Key, idOf(t, placed["id"]), "issued")
	}
}

// pemBodySample returns 48 characters from the middle of a PEM block's
// base64 body: enough to recognize the key even without its PEM lines.
func pemBodySample(t *testing.T, pemText string) string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(pemText), "\n")
	body := strings.Join(lines[1:len(lines)-1], "")
	if len(body) < 96 {
		t.Fatalf("PEM body of %d characters is too short to sample", len(body))
	}
	middle := len(body) / 2
	return body[middle-24 : middle+24]
}

// dataDirFiles reads every file under dir except the ones that hold a
// secret by design: key files (*.key) and the bootstrap key file.
func dataDirFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if strings.HasSuffix(d.Name(), ".key") || d.Name() == "bootstrap-api-key" {
			return nil
		}
		content, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		files[rel] = content
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}
