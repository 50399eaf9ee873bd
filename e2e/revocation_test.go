package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"
)

// issuedFiles is a certificate issued through the API for a key that the
// test generated, written as PEM files for the command-line tools.
type issuedFiles struct {
	OrderID       int64
	CertificateID int64
	Leaf          *x509.Certificate
	Intermediate  *x509.Certificate
	Root          *x509.Certificate

	KeyPath, LeafPath, IntermediatePath, RootPath string
}

// issueWithOwnKey generates an RSA key, orders a certificate for it with
// skip_approval, and writes key.pem, leaf.pem, int.pem and root.pem to a
// new directory.
func issueWithOwnKey(t *testing.T, s *server, orgID int64) *issuedFiles {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	body := emailOrder(orgID, csrPEM(t, key))
	body["skip_approval"] = true
	resp := s.do("POST", "/services/v2/order/certificate/ds_org", s.Key, body)
	if resp.Status != http.StatusCreated {
		t.Fatalf("place order: %d %s", resp.Status, resp.Body)
	}
	placed := resp.JSON(t)
	if placed["certificate_chain"] == nil {
		t.Fatalf("order not issued within the call: %s", resp.Body)
	}
	out := &issuedFiles{OrderID: idOf(t, placed["id"]), CertificateID: idOf(t, placed["certificate_id"])}

	resp = s.do("GET", fmt.Sprintf("/services/v2/certificate/%d/download/format/pem_all", out.CertificateID), s.Key, nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("download: %d %s", resp.Status, resp.Body)
	}
	chain := parsePEMChain(t, resp.Body)
	if len(chain) != 3 {
		t.Fatalf("pem_all has %d certificates, expected 3", len(chain))
	}
	out.Leaf, out.Intermediate, out.Root = chain[0], chain[1], chain[2]

	dir := t.TempDir()
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	out.KeyPath = writePEM(t, filepath.Join(dir, "key.pem"), "PRIVATE KEY", pkcs8)
	out.LeafPath = writePEM(t, filepath.Join(dir, "leaf.pem"), "CERTIFICATE", out.Leaf.Raw)
	out.IntermediatePath = writePEM(t, filepath.Join(dir, "int.pem"), "CERTIFICATE", out.Intermediate.Raw)
	out.RootPath = writePEM(t, filepath.Join(dir, "root.pem"), "CERTIFICATE", out.Root.Raw)
	return out
}

func writePEM(t *testing.T, path, blockType string, der []byte) string {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// serialHex formats a serial number as the API and CRLs show it.
func serialHex(c *x509.Certificate) string {
	return strings.ToUpper(hex.EncodeToString(c.SerialNumber.Bytes()))
}

// runTool runs a command-line tool and returns its combined output.
func runTool(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Fatalf("%s is not installed: %v; .ci/run installs it (openssl, poppler-utils, libnss3-tools)", name, err)
	}
	out, err := exec.Command(name, args...).CombinedOutput()
	return string(out), err
}

// revoke sends a revoke call and returns the response.
func revoke(s *server, key, path string, body any) *response {
	return s.do("PUT", path, key, body)
}

func certificateRevokePath(ref any) string {
	return fmt.Sprintf("/services/v2/certificate/%v/revoke", ref)
}
func orderRevokePath(id int64) string {
	return fmt.Sprintf("/services/v2/order/certificate/%d/revoke", id)
}

// orderStatus returns the status that order info shows.
func orderStatus(t *testing.T, s *server, key string, orderID int64) string {
	t.Helper()
	resp := s.do("GET", fmt.Sprintf("/services/v2/order/certificate/%d", orderID), key, nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("order info: %d %s", resp.Status, resp.Body)
	}
	status, _ := resp.JSON(t)["status"].(string)
	return status
}

// orderRequestStatus returns the status that order info shows for one of
// the order's requests.
func orderRequestStatus(t *testing.T, s *server, orderID, requestID int64) string {
	t.Helper()
	resp := s.do("GET", fmt.Sprintf("/services/v2/order/certificate/%d", orderID), s.Key, nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("order info: %d %s", resp.Status, resp.Body)
	}
	requests, _ := resp.JSON(t)["requests"].([]any)
	for _, raw := range requests {
		request, _ := raw.(map[string]any)
		if request != nil && idOf(t, request["id"]) == requestID {
			if request["type"] != "revoke" {
				t.Errorf("request %d has type %v, expected revoke", requestID, request["type"])
			}
			status, _ := request["status"].(string)
			return status
		}
	}
	t.Fatalf("order info of order %d does not list request %d: %s", orderID, requestID, resp.Body)
	return ""
}

// ocspStatus sends an OCSP request for a certificate over POST and returns
// the parsed response.
func ocspStatus(t *testing.T, s *server, c *issuedFiles) *ocsp.Response {
	t.Helper()
	request, err := ocsp.CreateRequest(c.Leaf, c.Intermediate, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(s.URL+"/ocsp", "application/ocsp-request", bytes.NewReader(request))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := ocsp.ParseResponseForCert(body, c.Leaf, c.Intermediate)
	if err != nil {
		t.Fatalf("parse OCSP response: %v", err)
	}
	return parsed
}

var isoDateWithOffset = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$`)

func TestRevokeRequestApproved(t *testing.T) {
	s := startServer(t)
	orgID := createValidatedOrganization(t, s, s.Key, "Revoke Approval Inc")
	cert := issueWithOwnKey(t, s, orgID)

	resp := revoke(s, s.Key, certificateRevokePath(cert.CertificateID),
		map[string]any{"comments": "token lost", "revocation_reason": "key_compromise"})
	if resp.Status != http.StatusCreated {
		t.Fatalf("revoke: %d %s", resp.Status, resp.Body)
	}
	request := resp.JSON(t)
	checks := []struct {
		field    string
		expected any
	}{
		{"type", "revoke"},
		{"status", "submitted"},
		{"comments", "token lost"},
	}
	for _, c := range checks {
		if request[c.field] != c.expected {
			t.Errorf("revoke request %s is %v, expected %v", c.field, request[c.field], c.expected)
		}
	}
	if date, _ := request["date"].(string); !isoDateWithOffset.MatchString(date) {
		t.Errorf("revoke request date %q is not ISO 8601 with an offset", date)
	}
	requester, _ := request["requester"].(map[string]any)
	if requester == nil || idOf(t, requester["id"]) != 1 || requester["email"] == "" {
		t.Errorf("revoke request requester is %v, expected the bootstrap administrator (user 1)", requester)
	}

	if status := orderStatus(t, s, s.Key, cert.OrderID); status != "issued" {
		t.Errorf("order status while the revoke request waits is %q, expected issued", status)
	}
	requestID := idOf(t, request["id"])
	if status := orderRequestStatus(t, s, cert.OrderID, requestID); status != "submitted" {
		t.Errorf("order info shows the waiting revoke request as %q, expected submitted", status)
	}
	if got := ocspStatus(t, s, cert); got.Status != ocsp.Good {
		t.Errorf("OCSP status while the revoke request waits is %d, expected good", got.Status)
	}

	approve(t, s, s.Key, requestID)
	if status := orderStatus(t, s, s.Key, cert.OrderID); status != "revoked" {
		t.Errorf("order status after approval is %q, expected revoked", status)
	}
	if status := orderRequestStatus(t, s, cert.OrderID, requestID); status != "approved" {
		t.Errorf("order info shows the approved revoke request as %q, expected approved", status)
	}
	got := ocspStatus(t, s, cert)
	if got.Status != ocsp.Revoked || got.RevocationReason != ocsp.KeyCompromise {
		t.Errorf("OCSP after approval: status %d reason %d, expected revoked for key compromise", got.Status, got.RevocationReason)
	}

	again := s.do("PUT", fmt.Sprintf("/services/v2/request/%d/status", requestID), s.Key, map[string]any{"status": "approved"})
	expectError(t, again, http.StatusConflict, "request_already_processed")
}

func TestRevokeRequestRejected(t *testing.T) {
	s := startServer(t)
	orgID := createValidatedOrganization(t, s, s.Key, "Revoke Rejection Inc")
	cert := issueWithOwnKey(t, s, orgID)

	resp := revoke(s, s.Key, certificateRevokePath(cert.CertificateID), map[string]any{"revocation_reason": "superseded"})
	if resp.Status != http.StatusCreated {
		t.Fatalf("revoke: %d %s", resp.Status, resp.Body)
	}
	requestID := idOf(t, resp.JSON(t)["id"])

	reject := s.do("PUT", fmt.Sprintf("/services/v2/request/%d/status", requestID), s.Key, map[string]any{"status": "rejected"})
	if reject.Status != http.StatusNoContent {
		t.Fatalf("reject: %d %s", reject.Status, reject.Body)
	}
	if status := orderStatus(t, s, s.Key, cert.OrderID); status != "issued" {
		t.Errorf("order status after a rejected revoke request is %q, expected issued", status)
	}
	if got := ocspStatus(t, s, cert); got.Status != ocsp.Good {
		t.Errorf("OCSP status after a rejected revoke request is %d, expected good", got.Status)
	}

	resp = revoke(s, s.Key, certificateRevokePath(cert.CertificateID), map[string]any{"revocation_reason": "superseded"})
	if resp.Status != http.StatusCreated {
		t.Errorf("a new revoke request after a rejection: %d %s, expected 201", resp.Status, resp.Body)
	}
}

func TestRevokeAtOnce(t *testing.T) {
	s := startServer(t)
	orgID := createValidatedOrganization(t, s, s.Key, "Revoke At Once Inc")

	t.Run("by serial number with colons in lower case", func(t *testing.T) {
		cert := issueWithOwnKey(t, s, orgID)
		var pairs []string
		for _, b := range cert.Leaf.SerialNumber.Bytes() {
			pairs = append(pairs, fmt.Sprintf("%02x", b))
		}
		resp := revoke(s, s.Key, certificateRevokePath(strings.Join(pairs, ":")),
			map[string]any{"revocation_reason": "cessationOfOperation", "skip_approval": true})
		if resp.Status != http.StatusNoContent || len(resp.Body) != 0 {
			t.Fatalf("revoke: %d %q, expected 204 with no body", resp.Status, resp.Body)
		}
		if status := orderStatus(t, s, s.Key, cert.OrderID); status != "revoked" {
			t.Errorf("order status is %q, expected revoked", status)
		}
		got := ocspStatus(t, s, cert)
		if got.Status != ocsp.Revoked || got.RevocationReason != ocsp.CessationOfOperation {
			t.Errorf("OCSP: status %d reason %d, expected revoked for cessation of operation", got.Status, got.RevocationReason)
		}
	})

	t.Run("every certificate of an order", func(t *testing.T) {
		cert := issueWithOwnKey(t, s, orgID)
		dup := s.do("POST", fmt.Sprintf("/services/v2/order/certificate/%d/duplicate", cert.OrderID), s.Key,
			map[string]any{"certificate": map[string]any{"csr": csrPEM(t, testRSAKey(t))}})
		if dup.Status != http.StatusCreated {
			t.Fatalf("duplicate: %d %s", dup.Status, dup.Body)
		}
		duplicateID := idOf(t, dup.JSON(t)["certificate_id"])

		resp := revoke(s, s.Key, orderRevokePath(cert.OrderID), map[string]any{"skip_approval": true})
		if resp.Status != http.StatusNoContent {
			t.Fatalf("revoke order: %d %s", resp.Status, resp.Body)
		}
		if status := orderStatus(t, s, s.Key, cert.OrderID); status != "revoked" {
			t.Errorf("order status is %q, expected revoked", status)
		}
		for _, id := range []int64{cert.CertificateID, duplicateID} {
			again := revoke(s, s.Key, certificateRevokePath(id), map[string]any{})
			expectError(t, again, http.StatusBadRequest, "certificate_already_revoked")
		}
	})

	t.Run("Venafi body", func(t *testing.T) {
		cert := issueWithOwnKey(t, s, orgID)
		resp := revoke(s, s.Key, certificateRevokePath(cert.CertificateID), `{"reason":"keyCompromise","comment":""}`)
		if resp.Status != http.StatusCreated {
			t.Fatalf("revoke: %d %s", resp.Status, resp.Body)
		}
		if status := resp.JSON(t)["status"]; status != "submitted" {
			t.Errorf("status is %v, expected submitted, which Venafi's connector checks", status)
		}
	})

	t.Run("empty body", func(t *testing.T) {
		cert := issueWithOwnKey(t, s, orgID)
		resp := revoke(s, s.Key, certificateRevokePath(cert.CertificateID), nil)
		if resp.Status != http.StatusCreated {
			t.Fatalf("revoke with an empty body: %d %s", resp.Status, resp.Body)
		}
	})
}

func TestRevokeRejectedCalls(t *testing.T) {
	s := startServer(t)
	orgID := createValidatedOrganization(t, s, s.Key, "Revoke Rules Inc")

	revoked := issueWithOwnKey(t, s, orgID)
	if resp := revoke(s, s.Key, certificateRevokePath(revoked.CertificateID), map[string]any{"skip_approval": true}); resp.Status != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", resp.Status, resp.Body)
	}
	waiting := issueWithOwnKey(t, s, orgID)
	if resp := revoke(s, s.Key, certificateRevokePath(waiting.CertificateID), map[string]any{}); resp.Status != http.StatusCreated {
		t.Fatalf("revoke request: %d %s", resp.Status, resp.Body)
	}
	good := issueWithOwnKey(t, s, orgID)
	pendingOrder, _ := placePendingOrder(t, s, orgID)
	pendingInfo := s.do("GET", fmt.Sprintf("/services/v2/order/certificate/%d", pendingOrder), s.Key, nil).JSON(t)
	pendingCertificate := idOf(t, pendingInfo["certificate"].(map[string]any)["id"])

	otherKey := createAccountKey(t, s, "--name", "Other Tenant")
	standardKey := addStandardUser(t, s, 1, 1)

	cases := []struct {
		name   string
		key    string
		path   string
		body   any
		status int
		code   string
	}{
		{"certificate already revoked", s.Key, certificateRevokePath(revoked.CertificateID), map[string]any{}, 400, "certificate_already_revoked"},
		{"order already revoked", s.Key, orderRevokePath(revoked.OrderID), map[string]any{}, 400, "certificate_already_revoked"},
		{"revoke request waiting", s.Key, certificateRevokePath(waiting.CertificateID), map[string]any{}, 400, "revoke_request_pending"},
		{"revoke request waiting, skip_approval", s.Key, certificateRevokePath(waiting.CertificateID), map[string]any{"skip_approval": true}, 400, "revoke_request_pending"},
		{"revoke request waiting, whole order", s.Key, orderRevokePath(waiting.OrderID), map[string]any{}, 400, "revoke_request_pending"},
		{"certificate not issued", s.Key, certificateRevokePath(pendingCertificate), map[string]any{}, 400, "certificate_not_issued"},
		{"order not issued", s.Key, orderRevokePath(pendingOrder), map[string]any{}, 400, "certificate_not_issued"},
		{"another account's certificate", otherKey, certificateRevokePath(good.CertificateID), map[string]any{}, 404, "not_found|certificate"},
		{"another account's certificate by serial", otherKey, certificateRevokePath(serialHex(good.Leaf)), map[string]any{}, 404, "not_found|certificate"},
		{"another account's order", otherKey, orderRevokePath(good.OrderID), map[string]any{}, 404, "not_found|order"},
		{"unknown certificate id", s.Key, certificateRevokePath(999999), map[string]any{}, 404, "not_found|certificate"},
		{"unknown serial number", s.Key, certificateRevokePath("7F0102030405060708090A0B0C0D0E0F"), map[string]any{}, 404, "not_found|certificate"},
		{"neither id nor serial number", s.Key, certificateRevokePath("not-a-serial"), map[string]any{}, 404, "not_found|certificate"},
		{"certificate_hold", s.Key, certificateRevokePath(good.CertificateID), map[string]any{"revocation_reason": "certificate_hold"}, 400, "invalid_value:revocation_reason"},
		{"certificateHold as Venafi's reason", s.Key, certificateRevokePath(good.CertificateID), map[string]any{"reason": "certificateHold"}, 400, "invalid_value:reason"},
		{"unknown reason", s.Key, certificateRevokePath(good.CertificateID), map[string]any{"revocation_reason": "stolen"}, 400, "invalid_value:revocation_reason"},
		{"reason as a number", s.Key, certificateRevokePath(good.CertificateID), map[string]any{"revocation_reason": 1}, 400, "invalid_value:revocation_reason"},
		{"skip_approval not a boolean", s.Key, certificateRevokePath(good.CertificateID), map[string]any{"skip_approval": "yes"}, 400, "invalid_value:skip_approval"},
		{"comments too long", s.Key, certificateRevokePath(good.CertificateID), map[string]any{"comments": strings.Repeat("x", 2001)}, 400, "invalid_value:comments"},
		{"body not JSON", s.Key, certificateRevokePath(good.CertificateID), "{reason:", 400, "bad_request_format"},
		{"skip_approval by a standard user", standardKey, certificateRevokePath(good.CertificateID), map[string]any{"skip_approval": true}, 403, "access_denied|missing_permission"},
		{"no API key", "", certificateRevokePath(good.CertificateID), map[string]any{}, 403, "access_denied|access_denied_invalid_key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := s.rowCounts()
			resp := revoke(s, c.key, c.path, c.body)
			expectError(t, resp, c.status, c.code)
			expectNothingStored(t, before, s.rowCounts())
		})
	}

	if got := ocspStatus(t, s, good); got.Status != ocsp.Good {
		t.Errorf("OCSP status of the certificate that every rejected call named is %d, expected good", got.Status)
	}
}

func TestRevocationWithOpenSSL(t *testing.T) {
	s := startServer(t, "--crl-delay", "1s")
	orgID := createValidatedOrganization(t, s, s.Key, "OpenSSL Checks Inc")
	cert := issueWithOwnKey(t, s, orgID)
	caCertID := strings.TrimSuffix(filepath.Base(cert.Leaf.CRLDistributionPoints[0]), ".crl")

	urls := []struct {
		name, got, expected string
	}{
		{"CRL distribution point", strings.Join(cert.Leaf.CRLDistributionPoints, " "), s.URL + "/crl/" + caCertID + ".crl"},
		{"AIA OCSP", strings.Join(cert.Leaf.OCSPServer, " "), s.URL + "/ocsp"},
		{"AIA caIssuers", strings.Join(cert.Leaf.IssuingCertificateURL, " "), s.URL + "/ca/" + caCertID + ".cer"},
	}
	for _, u := range urls {
		if u.got != u.expected {
			t.Errorf("%s is %q, expected %q", u.name, u.got, u.expected)
		}
	}

	ocspArgs := []string{"ocsp", "-issuer", cert.IntermediatePath, "-cert", cert.LeafPath, "-url", s.URL + "/ocsp", "-resp_text"}
	out, _ := runTool(t, "openssl", ocspArgs...)
	if !strings.Contains(out, cert.LeafPath+": good") {
		t.Errorf("openssl ocsp without -CAfile does not report good:\n%s", out)
	}
	out, err := runTool(t, "openssl", append(ocspArgs, "-CAfile", cert.RootPath)...)
	if err != nil || !strings.Contains(out, "Response verify OK") || !strings.Contains(out, cert.LeafPath+": good") {
		t.Errorf("openssl ocsp -CAfile does not verify a good response: %v\n%s", err, out)
	}
	if strings.Contains(out, "WARNING: no nonce in response") {
		t.Errorf("openssl ocsp sent a nonce that the response does not echo:\n%s", out)
	}

	crlPath := filepath.Join(t.TempDir(), "before.crl")
	fetchCRL(t, s, caCertID, crlPath)
	out, err = runTool(t, "openssl", "verify", "-crl_check", "-CAfile", cert.RootPath, "-untrusted", cert.IntermediatePath, "-CRLfile", crlPath, cert.LeafPath)
	if err != nil || !strings.Contains(out, ": OK") {
		t.Errorf("openssl verify -crl_check before the revocation: %v\n%s", err, out)
	}

	resp := revoke(s, s.Key, certificateRevokePath(cert.CertificateID), map[string]any{"revocation_reason": "key_compromise", "skip_approval": true})
	if resp.Status != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", resp.Status, resp.Body)
	}

	out, err = runTool(t, "openssl", append(ocspArgs, "-CAfile", cert.RootPath)...)
	if err != nil || !strings.Contains(out, cert.LeafPath+": revoked") || !strings.Contains(out, "Reason: keyCompromise") {
		t.Errorf("openssl ocsp right after the revocation does not report revoked for keyCompromise: %v\n%s", err, out)
	}

	// The CRL lists the revocation once the 1 s CRL delay has passed. The
	// loop waits for that and asserts nothing about the time taken.
	serial := serialHex(cert.Leaf)
	crlPath = filepath.Join(t.TempDir(), "after.crl")
	var crlText string
	for deadline := time.Now().Add(30 * time.Second); ; {
		fetchCRL(t, s, caCertID, crlPath)
		crlText, err = runTool(t, "openssl", "crl", "-inform", "DER", "-in", crlPath, "-noout", "-text")
		if err != nil {
			t.Fatalf("openssl crl: %v\n%s", err, crlText)
		}
		if strings.Contains(crlText, "Serial Number: "+serial) || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !strings.Contains(crlText, "Serial Number: "+serial) || !strings.Contains(crlText, "Key Compromise") {
		t.Fatalf("the CRL does not list serial %s with reason Key Compromise:\n%s", serial, crlText)
	}

	out, err = runTool(t, "openssl", "verify", "-crl_check", "-CAfile", cert.RootPath, "-untrusted", cert.IntermediatePath, "-CRLfile", crlPath, cert.LeafPath)
	if err == nil || !strings.Contains(out, "certificate revoked") {
		t.Errorf("openssl verify -crl_check accepts the revoked certificate: %v\n%s", err, out)
	}
}

// fetchCRL downloads an issuing CA's CRL to path and checks the content type.
func fetchCRL(t *testing.T, s *server, caCertID, path string) {
	t.Helper()
	resp := s.do("GET", "/crl/"+caCertID+".crl", "", nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("GET CRL: %d %s", resp.Status, resp.Body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/pkix-crl" {
		t.Errorf("CRL content type is %q, expected application/pkix-crl", ct)
	}
	if err := os.WriteFile(path, resp.Body, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestStatusEndpointsOverHTTP(t *testing.T) {
	s := startServer(t)
	orgID := createValidatedOrganization(t, s, s.Key, "Status Endpoints Inc")
	cert := issueWithOwnKey(t, s, orgID)
	caCertID := strings.TrimSuffix(filepath.Base(cert.Leaf.IssuingCertificateURL[0]), ".cer")

	request, err := ocsp.CreateRequest(cert.Leaf, cert.Intermediate, nil)
	if err != nil {
		t.Fatal(err)
	}
	std := base64.StdEncoding.EncodeToString(request)

	gets := []struct {
		name string
		path string
	}{
		{"standard base64, URL-encoded", "/ocsp/" + url.PathEscape(std)},
		{"standard base64 with every special character encoded", "/ocsp/" + strings.NewReplacer("+", "%2B", "/", "%2F", "=", "%3D").Replace(std)},
		{"URL-safe base64 without padding", "/ocsp/" + base64.RawURLEncoding.EncodeToString(request)},
	}
	for _, g := range gets {
		t.Run("GET "+g.name, func(t *testing.T) {
			resp := s.do("GET", g.path, "", nil)
			if resp.Status != http.StatusOK || resp.Header.Get("Content-Type") != "application/ocsp-response" {
				t.Fatalf("GET %s: %d %s", g.path, resp.Status, resp.Header.Get("Content-Type"))
			}
			parsed, err := ocsp.ParseResponseForCert(resp.Body, cert.Leaf, cert.Intermediate)
			if err != nil {
				t.Fatalf("parse response: %v", err)
			}
			if parsed.Status != ocsp.Good {
				t.Errorf("status %d, expected good", parsed.Status)
			}
		})
	}

	malformed := []struct {
		name, method, path string
		body               any
	}{
		{"GET with text that is not base64", "GET", "/ocsp/not-base64!", nil},
		{"GET with base64 that is not a request", "GET", "/ocsp/" + base64.StdEncoding.EncodeToString([]byte("hello")), nil},
		{"GET with nothing", "GET", "/ocsp/", nil},
		{"POST with garbage", "POST", "/ocsp", "garbage"},
		{"POST with nothing", "POST", "/ocsp", ""},
	}
	for _, m := range malformed {
		t.Run(m.name, func(t *testing.T) {
			resp := s.do(m.method, m.path, "", m.body)
			if resp.Status != http.StatusOK {
				t.Fatalf("status %d, expected 200 with an OCSP error response (RFC 6960 §2.3): %s", resp.Status, resp.Body)
			}
			if !bytes.Equal(resp.Body, ocsp.MalformedRequestErrorResponse) {
				t.Errorf("body is %X, expected the malformedRequest response", resp.Body)
			}
		})
	}

	t.Run("CA certificates", func(t *testing.T) {
		st, err := openDataDirStore(s.DataDir)
		if err != nil {
			t.Fatal(err)
		}
		cas, err := st.CAs(context.Background())
		st.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(cas) < 2 {
			t.Fatalf("the database holds %d CAs, expected a root and an intermediate", len(cas))
		}
		for _, ca := range cas {
			resp := s.do("GET", "/ca/"+ca.CACertID+".cer", "", nil)
			if resp.Status != http.StatusOK || resp.Header.Get("Content-Type") != "application/pkix-cert" {
				t.Fatalf("GET %s certificate %s: %d %s", ca.Role, ca.CACertID, resp.Status, resp.Header.Get("Content-Type"))
			}
			if !bytes.Equal(resp.Body, ca.CertDER) {
				t.Errorf("GET /ca/%s.cer is not the %s's DER certificate", ca.CACertID, ca.Role)
			}
		}
	})

	notFound := []string{"/crl/0000000000000000.crl", "/crl/" + caCertID + ".pem", "/ca/0000000000000000.cer", "/ca/" + caCertID + ".crt"}
	for _, path := range notFound {
		t.Run("GET "+path, func(t *testing.T) {
			resp := s.do("GET", path, "", nil)
			if resp.Status != http.StatusNotFound {
				t.Errorf("status %d, expected 404: %s", resp.Status, resp.Body)
			}
		})
	}
}

func TestCMSSignatureVerifies(t *testing.T) {
	s := startServer(t)
	orgID := createValidatedOrganization(t, s, s.Key, "CMS Signer Inc")
	cert := issueWithOwnKey(t, s, orgID)

	dir := t.TempDir()
	document := filepath.Join(dir, "contract.txt")
	if err := os.WriteFile(document, []byte("The parties agree.\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	signature := filepath.Join(dir, "contract.p7s")
	out, err := runTool(t, "openssl", "cms", "-sign", "-binary", "-in", document, "-signer", cert.LeafPath, "-inkey", cert.KeyPath,
		"-certfile", cert.IntermediatePath, "-outform", "DER", "-out", signature)
	if err != nil {
		t.Fatalf("openssl cms -sign: %v\n%s", err, out)
	}

	// No -purpose any: openssl cms -verify checks the S/MIME signing
	// purpose, which the profile's emailProtection key purpose satisfies.
	out, err = runTool(t, "openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", signature, "-content", document,
		"-CAfile", cert.RootPath, "-certfile", cert.IntermediatePath, "-out", os.DevNull)
	if err != nil || !strings.Contains(out, "Verification successful") {
		t.Errorf("openssl cms -verify: %v\n%s", err, out)
	}
}

func TestSignedPDFRevocation(t *testing.T) {
	s := startServer(t)
	orgID := createValidatedOrganization(t, s, s.Key, "PDF Signer Inc")
	cert := issueWithOwnKey(t, s, orgID)
	dir := t.TempDir()

	p12 := filepath.Join(dir, "signer.p12")
	if out, err := runTool(t, "openssl", "pkcs12", "-export", "-inkey", cert.KeyPath, "-in", cert.LeafPath, "-certfile", cert.IntermediatePath,
		"-name", "signer", "-passout", "pass:", "-out", p12); err != nil {
		t.Fatalf("openssl pkcs12: %v\n%s", err, out)
	}
	nssDB := "sql:" + filepath.Join(dir, "nss")
	if err := os.Mkdir(filepath.Join(dir, "nss"), 0o700); err != nil {
		t.Fatal(err)
	}
	steps := [][]string{
		{"certutil", "-N", "--empty-password", "-d", nssDB},
		{"pk12util", "-i", p12, "-d", nssDB, "-W", ""},
		{"certutil", "-A", "-n", "docsign-ca root", "-t", "CT,C,C", "-i", cert.RootPath, "-d", nssDB},
	}
	for _, step := range steps {
		if out, err := runTool(t, step[0], step[1:]...); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(step, " "), err, out)
		}
	}

	unsigned := filepath.Join(dir, "in.pdf")
	if err := os.WriteFile(unsigned, minimalPDF(), 0o600); err != nil {
		t.Fatal(err)
	}
	signed := filepath.Join(dir, "out.pdf")
	if out, err := runTool(t, "pdfsig", "-add-signature", "-nssdir", nssDB, "-nick", "signer", unsigned, signed); err != nil {
		t.Fatalf("pdfsig -add-signature: %v\n%s", err, out)
	}

	// pdfsig 22.12 checks OCSP by default (-no-ocsp turns it off); the
	// responder URL comes from the certificate's AIA, this server.
	out, _ := runTool(t, "pdfsig", "-nssdir", nssDB, signed)
	if !strings.Contains(out, "Signature is Valid.") || !strings.Contains(out, "Certificate is Trusted.") {
		t.Fatalf("pdfsig before the revocation does not report a valid signature and a trusted certificate:\n%s", out)
	}

	resp := revoke(s, s.Key, certificateRevokePath(cert.CertificateID), map[string]any{"revocation_reason": "key_compromise", "skip_approval": true})
	if resp.Status != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", resp.Status, resp.Body)
	}

	out, _ = runTool(t, "pdfsig", "-nssdir", nssDB, signed)
	if !strings.Contains(out, "Signature is Valid.") || !strings.Contains(out, "Certificate has been Revoked.") {
		t.Errorf("pdfsig after the revocation does not report a revoked certificate:\n%s", out)
	}
}

// minimalPDF returns a one-page PDF 1.4 document with a correct
// cross-reference table, which pdfsig needs to append a signature.
func minimalPDF() []byte {
	objects := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
	}
	var buf bytes.Buffer
	buf.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objects))
	for i, object := range objects {
		offsets[i] = buf.Len()
		fmt.Fprintf(&buf, "%d 0 obj\n%s\nendobj\n", i+1, object)
	}

	xref := buf.Len()
	fmt.Fprintf(&buf, "xref\n0 %d\n0000000000 65535 f \n", len(objects)+1)
	for _, offset := range offsets {
		fmt.Fprintf(&buf, "%010d 00000 n \n", offset)
	}
	fmt.Fprintf(&buf, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objects)+1, xref)
	return buf.Bytes()
}
