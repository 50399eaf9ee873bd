package e2e

import (
	"bytes"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// This file checks the responses around the ds_org rules: malformed bodies,
// authentication, routing, ids in URLs, downloads, duplicate organizations,
// the approval policy and --auto-validate.

// placeOrder places body as a ds_org order with key and returns the decoded response.
func placeOrder(t *testing.T, s *server, key string, body map[string]any) map[string]any {
	t.Helper()
	resp := s.do("POST", dsOrgPath, key, body)
	if resp.Status != http.StatusCreated {
		t.Fatalf("place order: %d %s", resp.Status, resp.Body)
	}
	return resp.JSON(t)
}

// issuedCertificateID places an order that skips approval on a validated
// organization and returns the id of the certificate issued within the call.
func issuedCertificateID(t *testing.T, s *server, orgID int64) int64 {
	t.Helper()
	body := emailOrder(orgID, csrPEM(t, testRSAKey(t)))
	body["skip_approval"] = true
	placed := placeOrder(t, s, s.Key, body)
	if placed["certificate_chain"] == nil {
		t.Fatalf("the certificate was not issued within the call: %v", placed)
	}
	return idOf(t, placed["certificate_id"])
}

func TestBodyFormatErrors(t *testing.T) {
	s := startServer(t)
	orgID := createValidatedOrganization(t, s, s.Key, "Body Format Inc")
	valid, err := json.Marshal(emailOrder(orgID, csrPEM(t, testRSAKey(t))))
	if err != nil {
		t.Fatal(err)
	}
	inner := string(valid[1 : len(valid)-1])

	expectPosition := func(t *testing.T, s *server, resp *response) {
		message := errorMessages(t, resp)
		if !strings.Contains(message, "line") || !strings.Contains(message, "column") {
			t.Errorf("message %q does not give a line and column", message)
		}
	}
	// The comma after "certificate": is the 18th character of line 2.
	expectExactPosition := func(t *testing.T, s *server, resp *response) {
		if message := errorMessages(t, resp); !strings.Contains(message, "line 2, column 18") {
			t.Errorf("message %q does not point at line 2, column 18", message)
		}
	}
	tooLarge := `{"comments":"` + strings.Repeat("a", 1<<20) + `"}`

	cases := []exchange{
		{name: "valid body", body: valid},
		{name: "invalid JSON", body: "{\n  \"certificate\": ,\n}", codes: []string{"bad_request_format"}, check: expectExactPosition},
		{name: "duplicate key", body: `{"payment_method":"balance",` + inner + `}`,
			codes: []string{"bad_request_format"}, check: expectPosition},
		{name: "trailing data", body: string(valid) + ` {}`, codes: []string{"bad_request_format"}, check: expectPosition},
		{name: "invalid UTF-8", body: `{"comments":"caf` + "\xe9" + `",` + inner + `}`,
			codes: []string{"bad_request_format"}},
		{name: "empty body", body: "", codes: []string{"bad_request_format"}},
		{name: "JSON array", body: "[" + string(valid) + "]", codes: []string{"bad_request_format"}},
		{name: "body over 1 MiB", body: tooLarge, status: http.StatusRequestEntityTooLarge,
			codes: []string{"request_entity_too_large"}},
	}
	runExchanges(t, s, cases)
}

func TestHTTPErrors(t *testing.T) {
	s := startServer(t)
	orgID := createValidatedOrganization(t, s, s.Key, "HTTP Errors Inc")
	body := emailOrder(orgID, csrPEM(t, testRSAKey(t)))

	pending := placeOrder(t, s, s.Key, body)
	pendingRequestID := idOf(t, pending["requests"].([]any)[0].(map[string]any)["id"])
	info := s.do("GET", fmt.Sprintf("/services/v2/order/certificate/%d", idOf(t, pending["id"])), s.Key, nil).JSON(t)
	pendingCertID := idOf(t, info["certificate"].(map[string]any)["id"])
	issuedCertID := issuedCertificateID(t, s, orgID)

	expectRequestPending := func(t *testing.T, s *server, resp *response) {
		order := waitForStatus(t, s, s.Key, idOf(t, pending["id"]), "needs_approval")
		if status := order["requests"].([]any)[0].(map[string]any)["status"]; status != "pending" {
			t.Errorf("request status = %v after a rejected update, expected pending", status)
		}
	}

	cases := []exchange{
		{name: "missing API key", noKey: true, body: body, status: http.StatusForbidden,
			codes: []string{"access_denied|access_denied_invalid_key"}},
		{name: "wrong API key", key: "not-a-key-of-this-server", body: body, status: http.StatusForbidden,
			codes: []string{"access_denied|access_denied_invalid_key"}},
		{name: "unknown route", method: "GET", path: "/services/v2/order/certificate/ds_org/extra",
			status: http.StatusNotFound, codes: []string{"not_found|route"}},
		{name: "DELETE on ds_org", method: "DELETE", status: http.StatusMethodNotAllowed,
			codes: []string{"method_not_allowed"},
			check: func(t *testing.T, s *server, resp *response) {
				if allow := resp.Header.Get("Allow"); !strings.Contains(allow, "POST") {
					t.Errorf("Allow = %q, expected it to list POST", allow)
				}
			}},
		{name: "order for unknown product", path: "/services/v2/order/certificate/ds-org", body: body,
			status: http.StatusNotFound, codes: []string{"not_found|product"},
			check: func(t *testing.T, s *server, resp *response) {
				message := errorMessages(t, resp)
				if !strings.Contains(message, `"ds-org"`) || !strings.Contains(message, "ds_org is the product this server issues") {
					t.Errorf("message %q does not name the product ds-org and point at ds_org", message)
				}
			}},
		{name: "empty organization", body: edited(t, body, set("organization", map[string]any{})),
			codes: []string{"required_param:organization.name", "required_param:organization.address", "required_param:organization.city",
				"required_param:organization.state", "required_param:organization.zip", "required_param:organization.country"},
			check: func(t *testing.T, s *server, resp *response) {
				expected := "Send organization.id of an existing organization, or name, address, city, state, zip and country for a new one"
				if message := errorMessages(t, resp); !strings.Contains(message, expected) {
					t.Errorf("message %q lacks %q", message, expected)
				}
			}},
		{name: "unknown order id", method: "GET", path: "/services/v2/order/certificate/987654",
			status: http.StatusNotFound, codes: []string{"not_found|order"}},
		{name: "non-numeric order id", method: "GET", path: "/services/v2/order/certificate/abc",
			status: http.StatusNotFound, codes: []string{"not_found|order"}},
		{name: "request status maybe", method: "PUT", path: fmt.Sprintf("/services/v2/request/%d/status", pendingRequestID),
			body: map[string]any{"status": "maybe"}, codes: []string{"invalid_value:status"}, check: expectRequestPending},
		{name: "unknown request", method: "PUT", path: "/services/v2/request/987654/status",
			body: map[string]any{"status": "approved"}, status: http.StatusNotFound, codes: []string{"not_found|request"}},
		{name: "download unknown format", method: "GET",
			path:  fmt.Sprintf("/services/v2/certificate/%d/download/format/pfx", issuedCertID),
			codes: []string{"invalid_value:format"}},
		{name: "download before issuance", method: "GET",
			path:  fmt.Sprintf("/services/v2/certificate/%d/download/format/pem_all", pendingCertID),
			codes: []string{"cert_unavailable_processing"}},
	}
	runExchanges(t, s, cases)
}

func TestOrganizationDuplicateCheck(t *testing.T) {
	s := startServer(t)
	const path = "/services/v2/organization"
	organization := newOrganization("Duplicate Check Inc")
	resp := s.do("POST", path, s.Key, organization)
	if resp.Status != http.StatusCreated {
		t.Fatalf("create organization: %d %s", resp.Status, resp.Body)
	}
	firstID := idOf(t, resp.JSON(t)["id"])

	forced := edited(t, organization, set("skip_duplicate_org_check", true))
	cases := []exchange{
		{name: "same details", path: path, body: organization, codes: []string{"duplicate_organization"}},
		{name: "same details in other spelling", path: path,
			body:  edited(t, organization, set("name", "duplicate check, incorporated")),
			codes: []string{"duplicate_organization"}},
		{name: "skip_duplicate_org_check", path: path, body: forced,
			check: func(t *testing.T, s *server, resp *response) {
				if id := idOf(t, resp.JSON(t)["id"]); id == firstID {
					t.Errorf("skip_duplicate_org_check returned the existing organization %d", id)
				}
				if n := s.countRows("organizations"); n != 2 {
					t.Errorf("%d organizations stored, expected the first and the forced one", n)
				}
			}},
	}
	runExchanges(t, s, cases)
}

func TestDownloadFormats(t *testing.T) {
	s := startServer(t)
	orgID := createValidatedOrganization(t, s, s.Key, "Download Formats Inc")
	certID := issuedCertificateID(t, s, orgID)

	cases := []struct {
		format, contentType string
		certificates        int
	}{
		{"pem_all", "application/x-pem-file", 3},
		{"pem_noroot", "application/x-pem-file", 2},
		{"pem_nointermediate", "application/x-pem-file", 2},
		{"p7b", "application/x-pkcs7-certificates", 3},
		{"cer", "application/pkix-cert", 1},
	}
	for _, tc := range cases {
		t.Run(tc.format, func(t *testing.T) {
			s := s.forTest(t)
			resp := s.do("GET", fmt.Sprintf("/services/v2/certificate/%d/download/format/%s", certID, tc.format), s.Key, nil)
			if resp.Status != http.StatusOK {
				t.Fatalf("status %d: %s", resp.Status, resp.Body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != tc.contentType {
				t.Errorf("Content-Type = %q, expected %q", ct, tc.contentType)
			}

			certificates := downloadedCertificates(t, tc.format, resp.Body)
			if len(certificates) != tc.certificates {
				t.Fatalf("%s has %d certificates, expected %d", tc.format, len(certificates), tc.certificates)
			}
			if leaf := certificates[0]; leaf.Subject.CommonName != "Download Formats Inc" {
				t.Errorf("first certificate is %s, expected the leaf", leaf.Subject)
			}
			expectChainOrder(t, tc.format, certificates)
		})
	}
}

// downloadedCertificates parses a download: PEM formats with encoding/pem,
// cer as one DER certificate, and p7b with openssl pkcs7.
func downloadedCertificates(t *testing.T, format string, body []byte) []*x509.Certificate {
	t.Helper()
	switch format {
	case "cer":
		leaf, err := x509.ParseCertificate(body)
		if err != nil {
			t.Fatalf("cer is not one DER certificate: %v", err)
		}
		return []*x509.Certificate{leaf}
	case "p7b":
		path := filepath.Join(t.TempDir(), "chain.p7b")
		if err := os.WriteFile(path, body, 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("openssl", "pkcs7", "-inform", "DER", "-in", path, "-print_certs").CombinedOutput()
		if err != nil {
			t.Fatalf("openssl pkcs7: %v\n%s", err, out)
		}
		if n := bytes.Count(out, []byte("-----BEGIN CERTIFICATE-----")); n != 3 {
			t.Errorf("openssl pkcs7 printed %d certificates, expected 3", n)
		}
		return parsePEMChain(t, out)
	default:
		return parsePEMChain(t, body)
	}
}

// expectChainOrder checks that after the leaf come the intermediate (unless
// left out) and then the root (unless left out), each issuing the one before.
func expectChainOrder(t *testing.T, format string, certificates []*x509.Certificate) {
	t.Helper()
	if format == "p7b" {
		// The certificates of PKCS #7 SignedData are an ASN.1 SET, so their order carries no meaning.
		return
	}
	for i := 1; i < len(certificates); i++ {
		issuer := certificates[i]
		if !issuer.IsCA {
			t.Errorf("certificate %d (%s) is not a CA", i, issuer.Subject)
		}
		if format == "pem_nointermediate" {
			continue
		}
		if err := certificates[i-1].CheckSignatureFrom(issuer); err != nil {
			t.Errorf("certificate %d is not issued by certificate %d: %v", i-1, i, err)
		}
	}
	if last := certificates[len(certificates)-1]; format != "pem_noroot" && len(certificates) > 1 &&
		!bytes.Equal(last.RawSubject, last.RawIssuer) {
		t.Errorf("%s ends with %s, expected the self-issued root", format, last.Subject)
	}
}

// createAccountKey creates an account with the operator command and returns
// its administrator's API key, the last line of the output.
func createAccountKey(t *testing.T, s *server, args ...string) string {
	t.Helper()
	out := strings.TrimSpace(s.cli(append([]string{"accounts", "create"}, args...)...))
	return strings.TrimSpace(out[strings.LastIndex(out, "\n")+1:])
}

func TestApprovalPolicySkipForAdministrators(t *testing.T) {
	s := startServer(t)
	key := createAccountKey(t, s, "--name", "Policy Account", "--approval-policy", "skip_for_administrators")
	orgID := createValidatedOrganization(t, s, key, "Policy Account Organization")

	t.Run("validated organization with CSR", func(t *testing.T) {
		s := s.forTest(t)
		placed := placeOrder(t, s, key, emailOrder(orgID, csrPEM(t, newECKey(t, elliptic.P384()))))
		if status := placed["requests"].([]any)[0].(map[string]any)["status"]; status != "approved" {
			t.Errorf("requests[0].status = %v, expected approved", status)
		}
		if placed["certificate_id"] == nil {
			t.Errorf("no certificate_id: %v", placed)
		}
		if chain, _ := placed["certificate_chain"].([]any); len(chain) != 3 {
			t.Errorf("certificate_chain has %d entries, expected 3", len(chain))
		}
	})

	t.Run("client_app without key material", func(t *testing.T) {
		s := s.forTest(t)
		body := edited(t, emailOrder(orgID, ""), del("certificate.csr"), set("cs_provisioning_method", "client_app"))
		placed := placeOrder(t, s, key, body)
		if status := placed["requests"].([]any)[0].(map[string]any)["status"]; status != "submitted" {
			t.Errorf("requests[0].status = %v, expected submitted", status)
		}
		if _, ok := placed["certificate_id"]; ok {
			t.Errorf("certificate_id returned before issuance: %v", placed)
		}
		info := waitForStatus(t, s, key, idOf(t, placed["id"]), "waiting_pickup")
		if status := info["requests"].([]any)[0].(map[string]any)["status"]; status != "submitted" {
			t.Errorf("order info request status = %v, expected submitted", status)
		}
	})
}

func TestAutoValidateIssuesWithinCall(t *testing.T) {
	s := startServer(t, "--auto-validate")
	body := emailOrder(0, csrPEM(t, testRSAKey(t)))
	body["organization"] = newOrganization("Auto Validated Organization Inc")
	body["skip_approval"] = true

	placed := placeOrder(t, s, s.Key, body)
	if _, ok := placed["organization"].(map[string]any); !ok {
		t.Errorf("the new organization is not in the response: %v", placed)
	}
	if placed["certificate_id"] == nil {
		t.Fatalf("no certificate_id: %v", placed)
	}
	chain, _ := placed["certificate_chain"].([]any)
	if len(chain) != 3 {
		t.Fatalf("certificate_chain has %d entries, expected 3", len(chain))
	}
	leaf := parsePEMChain(t, []byte(chain[0].(map[string]any)["pem"].(string)))[0]
	if leaf.Subject.CommonName != "Auto Validated Organization Inc" {
		t.Errorf("leaf subject = %s, expected the new organization", leaf.Subject)
	}
}
