package e2e

import (
	"bytes"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	zx509 "github.com/zmap/zcrypto/x509"
	"github.com/zmap/zlint/v3"
	"github.com/zmap/zlint/v3/lint"
)

// newOrganization is the organization the tests create.
func newOrganization(name string) map[string]any {
	return map[string]any{
		"name":      name,
		"address":   "360 Taylor Street",
		"address2":  "Floor 74",
		"city":      "Richmond",
		"state":     "Virginia",
		"zip":       "23219",
		"country":   "us",
		"telephone": "+1 804 555 0100",
	}
}

// createValidatedOrganization creates an organization, submits its ds
// validation and completes it with the operator command.
func createValidatedOrganization(t *testing.T, s *server, key, name string) int64 {
	t.Helper()
	resp := s.do("POST", "/services/v2/organization", key, newOrganization(name))
	if resp.Status != http.StatusCreated {
		t.Fatalf("create organization: %d %s", resp.Status, resp.Body)
	}
	id := int64(resp.JSON(t)["id"].(float64))

	resp = s.do("POST", fmt.Sprintf("/services/v2/organization/%d/validation", id), key,
		map[string]any{"validations": []any{map[string]any{"type": "ds"}}})
	if resp.Status != http.StatusNoContent {
		t.Fatalf("submit validation: %d %s", resp.Status, resp.Body)
	}
	s.cli("validation", "approve", "--organization", fmt.Sprint(id), "--type", "ds")
	return id
}

// emailOrder is a valid ds_org body with email provisioning.
func emailOrder(orgID int64, csr string) map[string]any {
	return map[string]any{
		"certificate": map[string]any{
			"csr":            csr,
			"signature_hash": "sha256",
			"usage_designation": map[string]any{
				"primary_usage":     "signing",
				"additional_usages": []any{"adobe_authentic_documents_trust", "ms_document_signing", "document_signing"},
			},
		},
		"cs_provisioning_method": "email",
		"organization":           map[string]any{"id": fmt.Sprint(orgID)},
		"order_validity":         map[string]any{"years": 1},
		"payment_method":         "balance",
	}
}

func idOf(t *testing.T, v any) int64 {
	t.Helper()
	f, ok := v.(float64)
	if !ok {
		t.Fatalf("expected a JSON number id, got %T %v", v, v)
	}
	return int64(f)
}

// waitForStatus polls order info until the order reaches status.
func waitForStatus(t *testing.T, s *server, key string, orderID int64, status string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp := s.do("GET", fmt.Sprintf("/services/v2/order/certificate/%d", orderID), key, nil)
		if resp.Status != http.StatusOK {
			t.Fatalf("order info: %d %s", resp.Status, resp.Body)
		}
		info := resp.JSON(t)
		if info["status"] == status {
			return info
		}
		if time.Now().After(deadline) {
			t.Fatalf("order %d has status %v, expected %s; info: %s", orderID, info["status"], status, resp.Body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func approve(t *testing.T, s *server, key string, requestID int64) {
	t.Helper()
	resp := s.do("PUT", fmt.Sprintf("/services/v2/request/%d/status", requestID), key,
		map[string]any{"status": "approved", "processor_comment": "checked"})
	if resp.Status != http.StatusNoContent {
		t.Fatalf("approve request %d: %d %s", requestID, resp.Status, resp.Body)
	}
}

func TestOrderApproveIssueDownload(t *testing.T) {
	s := startServer(t)
	orgID := createValidatedOrganization(t, s, s.Key, "Example Legal Department Inc")

	resp := s.do("POST", "/services/v2/order/certificate/ds_org", s.Key, emailOrder(orgID, csrPEM(t, testRSAKey(t))))
	if resp.Status != http.StatusCreated {
		t.Fatalf("place order: %d %s", resp.Status, resp.Body)
	}
	placed := resp.JSON(t)
	orderID := idOf(t, placed["id"])
	requests := placed["requests"].([]any)
	request := requests[0].(map[string]any)
	if request["status"] != "pending" {
		t.Errorf("request status = %v, expected pending", request["status"])
	}
	if _, ok := placed["organization"]; ok {
		t.Errorf("organization returned although none was created: %s", resp.Body)
	}
	info := waitForStatus(t, s, s.Key, orderID, "needs_approval")
	if info["product"].(map[string]any)["name_id"] != "ds_org" {
		t.Errorf("product.name_id = %v", info["product"])
	}

	approve(t, s, s.Key, idOf(t, request["id"]))
	info = waitForStatus(t, s, s.Key, orderID, "issued")
	cert := info["certificate"].(map[string]any)
	if cert["serial_number"] == "" || cert["thumbprint"] == "" {
		t.Errorf("issued certificate lacks serial or thumbprint: %v", cert)
	}
	if reqs := info["requests"].([]any); reqs[0].(map[string]any)["status"] != "approved" {
		t.Errorf("request status after issuance = %v, expected approved", reqs[0])
	}

	certID := idOf(t, cert["id"])
	resp = s.do("GET", fmt.Sprintf("/services/v2/certificate/%d/download/format/pem_all", certID), s.Key, nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("download pem_all: %d %s", resp.Status, resp.Body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/x-pem-file" {
		t.Errorf("pem_all content type = %q", ct)
	}
	chain := parsePEMChain(t, resp.Body)
	if len(chain) != 3 {
		t.Fatalf("pem_all has %d certificates, expected leaf, intermediate, root", len(chain))
	}
	checkProfile(t, chain[0], chain[1])
	opensslVerify(t, chain)
	zlintClean(t, chain[0])

	if got := cert["valid_till"]; got != chain[0].NotAfter.Format("2006-01-02") {
		t.Errorf("valid_till = %v, certificate notAfter %s", got, chain[0].NotAfter)
	}
	expectedEnd := time.Now().UTC().AddDate(1, 0, 0)
	if chain[0].NotAfter.Format("2006-01-02") != expectedEnd.Format("2006-01-02") ||
		chain[0].NotAfter.Format("15:04:05") != "23:59:59" {
		t.Errorf("notAfter = %s, expected %s 23:59:59 UTC", chain[0].NotAfter, expectedEnd.Format("2006-01-02"))
	}

	listed := s.cli("certificates", "list", "--json", "--order", fmt.Sprint(orderID))
	if !strings.Contains(listed, cert["serial_number"].(string)) {
		t.Errorf("certificates list does not show serial %v:\n%s", cert["serial_number"], listed)
	}
}

func parsePEMChain(t *testing.T, data []byte) []*x509.Certificate {
	t.Helper()
	var out []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

var (
	oidAdobeAuthenticDocuments = asn1.ObjectIdentifier{1, 2, 840, 113583, 1, 1, 5}
	oidMSDocumentSigning       = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 10, 3, 12}
	oidDocumentSigning         = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 36}
)

// checkProfile checks the ds_org profile of an issued certificate.
func checkProfile(t *testing.T, leaf, issuer *x509.Certificate) {
	t.Helper()
	if leaf.Subject.CommonName != "Example Legal Department Inc" || len(leaf.Subject.Organization) != 1 ||
		leaf.Subject.Organization[0] != "Example Legal Department Inc" {
		t.Errorf("subject = %s, expected CN and O from the organization", leaf.Subject)
	}
	if got := strings.Join(leaf.Subject.Locality, ""); got != "Richmond" {
		t.Errorf("L = %q", got)
	}
	if got := strings.Join(leaf.Subject.Province, ""); got != "Virginia" {
		t.Errorf("ST = %q", got)
	}
	if got := strings.Join(leaf.Subject.Country, ""); got != "US" {
		t.Errorf("C = %q", got)
	}
	if leaf.KeyUsage != x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment {
		t.Errorf("key usage = %b, expected digitalSignature and nonRepudiation", leaf.KeyUsage)
	}
	if !criticalExtension(leaf, asn1.ObjectIdentifier{2, 5, 29, 15}) {
		t.Error("keyUsage is not critical")
	}
	if len(leaf.ExtKeyUsage) != 1 || leaf.ExtKeyUsage[0] != x509.ExtKeyUsageEmailProtection {
		t.Errorf("known EKUs = %v, expected emailProtection only", leaf.ExtKeyUsage)
	}
	for _, oid := range []asn1.ObjectIdentifier{oidAdobeAuthenticDocuments, oidMSDocumentSigning, oidDocumentSigning} {
		if !hasOID(leaf.UnknownExtKeyUsage, oid) {
			t.Errorf("EKU %s missing; got %v", oid, leaf.UnknownExtKeyUsage)
		}
	}
	if len(leaf.EmailAddresses)+len(leaf.DNSNames)+len(leaf.URIs)+len(leaf.IPAddresses) != 0 {
		t.Error("certificate has a subject alternative name")
	}
	if !leaf.BasicConstraintsValid || leaf.IsCA {
		t.Error("basicConstraints must be present with CA:false")
	}
	if len(leaf.SubjectKeyId) == 0 || !bytes.Equal(leaf.AuthorityKeyId, issuer.SubjectKeyId) {
		t.Error("SKI missing or AKI does not match the issuer's SKI")
	}
	if leaf.SerialNumber.Sign() <= 0 || leaf.SerialNumber.BitLen() < 64 {
		t.Errorf("serial %x is not a positive number of at least 64 bits", leaf.SerialNumber)
	}
	if leaf.SignatureAlgorithm != x509.SHA256WithRSA {
		t.Errorf("signature algorithm = %s, expected SHA256-RSA from signature_hash sha256", leaf.SignatureAlgorithm)
	}
	if err := leaf.CheckSignatureFrom(issuer); err != nil {
		t.Errorf("leaf does not verify under the issuer: %v", err)
	}
}

func criticalExtension(c *x509.Certificate, oid asn1.ObjectIdentifier) bool {
	for _, e := range c.Extensions {
		if e.Id.Equal(oid) {
			return e.Critical
		}
	}
	return false
}

func hasOID(list []asn1.ObjectIdentifier, oid asn1.ObjectIdentifier) bool {
	for _, o := range list {
		if o.Equal(oid) {
			return true
		}
	}
	return false
}

// zlintClean runs zlint's whole registry, less the Apple CT notice that
// fires on every certificate without SCTs, over an issued certificate and
// fails on any finding at warning level or above.
func zlintClean(t *testing.T, cert *x509.Certificate) {
	t.Helper()
	parsed, err := zx509.ParseCertificate(cert.Raw)
	if err != nil {
		t.Fatal(err)
	}
	registry, err := lint.GlobalRegistry().Filter(lint.FilterOptions{ExcludeSources: []lint.LintSource{lint.AppleRootStorePolicy}})
	if err != nil {
		t.Fatal(err)
	}
	results := zlint.LintCertificateEx(parsed, registry)
	for name, r := range results.Results {
		if r.Status >= lint.Warn {
			t.Errorf("zlint %s: %s %s", name, r.Status, r.Details)
		}
	}
}

// opensslVerify checks [leaf, intermediate, root] with openssl verify -purpose any.
func opensslVerify(t *testing.T, chain []*x509.Certificate) {
	t.Helper()
	dir := t.TempDir()
	write := func(name string, c *x509.Certificate) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	leaf, intermediate, root := write("leaf.pem", chain[0]), write("int.pem", chain[1]), write("root.pem", chain[2])
	out, err := exec.Command("openssl", "verify", "-purpose", "any", "-CAfile", root, "-untrusted", intermediate, leaf).CombinedOutput()
	if err != nil || !strings.Contains(string(out), ": OK") {
		t.Errorf("openssl verify failed: %v\n%s", err, out)
	}
}

func TestSkipApprovalIssuesWithinCall(t *testing.T) {
	s := startServer(t)
	orgID := createValidatedOrganization(t, s, s.Key, "Skip Approval Corp")

	body := emailOrder(orgID, csrPEM(t, newECKey(t, elliptic.P256())))
	body["skip_approval"] = true
	body["certificate"].(map[string]any)["signature_hash"] = "sha384"
	resp := s.do("POST", "/services/v2/order/certificate/ds_org", s.Key, body)
	if resp.Status != http.StatusCreated {
		t.Fatalf("place order: %d %s", resp.Status, resp.Body)
	}
	placed := resp.JSON(t)
	if _, ok := placed["requests"]; ok {
		t.Errorf("skip_approval order returned requests: %s", resp.Body)
	}
	if placed["certificate_id"] == nil {
		t.Fatalf("no certificate_id: %s", resp.Body)
	}
	chain := placed["certificate_chain"].([]any)
	if len(chain) != 3 {
		t.Fatalf("certificate_chain has %d entries, expected 3", len(chain))
	}
	leaf := parsePEMChain(t, []byte(chain[0].(map[string]any)["pem"].(string)))[0]
	if leaf.PublicKeyAlgorithm != x509.ECDSA {
		t.Errorf("leaf key algorithm = %s", leaf.PublicKeyAlgorithm)
	}
	if leaf.SignatureAlgorithm != x509.SHA384WithRSA {
		t.Errorf("signature algorithm = %s, expected SHA384-RSA", leaf.SignatureAlgorithm)
	}
}

func TestConcurrentApprovalsIssueOnce(t *testing.T) {
	s := startServer(t)
	orgID := createValidatedOrganization(t, s, s.Key, "Concurrent Approvals Ltd")
	resp := s.do("POST", "/services/v2/order/certificate/ds_org", s.Key, emailOrder(orgID, csrPEM(t, testRSAKey(t))))
	if resp.Status != http.StatusCreated {
		t.Fatalf("place order: %d %s", resp.Status, resp.Body)
	}
	placed := resp.JSON(t)
	orderID := idOf(t, placed["id"])
	requestID := idOf(t, placed["requests"].([]any)[0].(map[string]any)["id"])

	const approvers = 20
	statuses := make([]int, approvers)
	var wg sync.WaitGroup
	for i := range approvers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := s.do("PUT", fmt.Sprintf("/services/v2/request/%d/status", requestID), s.Key, map[string]any{"status": "approved"})
			statuses[i] = r.Status
		}()
	}
	wg.Wait()

	ok, conflicts := 0, 0
	for _, st := range statuses {
		switch st {
		case http.StatusNoContent:
			ok++
		case http.StatusConflict:
			conflicts++
		default:
			t.Errorf("unexpected status %d", st)
		}
	}
	if ok != 1 || conflicts != approvers-1 {
		t.Errorf("%d approvals succeeded and %d conflicted, expected 1 and %d", ok, conflicts, approvers-1)
	}

	waitForStatus(t, s, s.Key, orderID, "issued")
	var lines []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(s.cli("certificates", "list", "--json", "--order", fmt.Sprint(orderID))), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("certificates list line %q: %v", line, err)
		}
		lines = append(lines, m)
	}
	if len(lines) != 1 {
		t.Errorf("order %d has %d certificates, expected exactly 1", orderID, len(lines))
	}
	if n := s.countRows("issuance_intents"); n != 1 {
		t.Errorf("%d issuance intents, expected 1", n)
	}
}

func TestOtherAccountGets404(t *testing.T) {
	s := startServer(t)
	orgID := createValidatedOrganization(t, s, s.Key, "Tenant One GmbH")
	body := emailOrder(orgID, csrPEM(t, testRSAKey(t)))
	body["skip_approval"] = true
	resp := s.do("POST", "/services/v2/order/certificate/ds_org", s.Key, body)
	if resp.Status != http.StatusCreated {
		t.Fatalf("place order: %d %s", resp.Status, resp.Body)
	}
	placed := resp.JSON(t)
	orderID, certID := idOf(t, placed["id"]), idOf(t, placed["certificate_id"])

	out := s.cli("accounts", "create", "--name", "Tenant Two")
	otherKey := strings.TrimSpace(out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:])

	cases := []struct {
		name, method, path, code string
		body                     any
	}{
		{"order info", "GET", fmt.Sprintf("/services/v2/order/certificate/%d", orderID), "not_found|order", nil},
		{"organization", "GET", fmt.Sprintf("/services/v2/organization/%d", orgID), "not_found|organization", nil},
		{"validation", "GET", fmt.Sprintf("/services/v2/organization/%d/validation", orgID), "not_found|organization", nil},
		{"download", "GET", fmt.Sprintf("/services/v2/certificate/%d/download/format/pem_all", certID), "not_found|certificate", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := s.do(tc.method, tc.path, otherKey, tc.body)
			if r.Status != http.StatusNotFound {
				t.Fatalf("status %d, expected 404: %s", r.Status, r.Body)
			}
			if codes := r.ErrorCodes(t); len(codes) != 1 || codes[0] != tc.code {
				t.Errorf("codes %v, expected %s", codes, tc.code)
			}
		})
	}

	// An id in the body that names another account's organization is a 400.
	r := s.do("POST", "/services/v2/order/certificate/ds_org", otherKey, emailOrder(orgID, csrPEM(t, testRSAKey(t))))
	if r.Status != http.StatusBadRequest {
		t.Fatalf("order on another account's organization: %d %s", r.Status, r.Body)
	}
	if codes := r.ErrorCodes(t); len(codes) != 1 || codes[0] != "invalid_value:organization.id" {
		t.Errorf("codes %v, expected invalid_value:organization.id", codes)
	}
}

func TestRestartKeepsStateAndSIGTERMExitsZero(t *testing.T) {
	dir := t.TempDir()
	s := startServerIn(t, dir)
	orgID := createValidatedOrganization(t, s, s.Key, "Restart Holdings")
	key := s.Key

	info, err := os.Stat(filepath.Join(dir, "bootstrap-api-key"))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("bootstrap-api-key mode = %o, expected 600", info.Mode().Perm())
	}
	if strings.Contains(s.logs.String(), key) {
		t.Error("the server log contains the bootstrap API key")
	}
	keyFiles, _ := filepath.Glob(filepath.Join(dir, "ca", "*", "*.key"))
	if len(keyFiles) != 2 {
		t.Errorf("found %d CA key files, expected 2", len(keyFiles))
	}
	for _, f := range keyFiles {
		if fi, err := os.Stat(f); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("CA key %s mode is not 0600", f)
		}
	}

	s.stop()
	if code := s.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit code after SIGTERM = %d, expected 0", code)
	}

	s2 := startServerIn(t, dir)
	if s2.Key != key {
		t.Error("the bootstrap API key changed across a restart")
	}
	resp := s2.do("GET", fmt.Sprintf("/services/v2/organization/%d", orgID), key, nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("organization after restart: %d %s", resp.Status, resp.Body)
	}
	body := emailOrder(orgID, csrPEM(t, testRSAKey(t)))
	body["skip_approval"] = true
	resp = s2.do("POST", "/services/v2/order/certificate/ds_org", key, body)
	if resp.Status != http.StatusCreated || resp.JSON(t)["certificate_id"] == nil {
		t.Fatalf("order after restart: %d %s", resp.Status, resp.Body)
	}
	keyFilesAfter, _ := filepath.Glob(filepath.Join(dir, "ca", "*", "*.key"))
	if len(keyFilesAfter) != 2 {
		t.Errorf("restart created new CA keys: %v", keyFilesAfter)
	}
}
