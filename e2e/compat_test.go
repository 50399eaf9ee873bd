package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"testing"
)

// TestClientShapes replays the odd but harmless request shapes that real
// CertCentral clients send, and checks that docsign-ca responds to them as
// CertCentral does.
func TestClientShapes(t *testing.T) {
	s := startServer(t)
	orgID := createValidatedOrganization(t, s, s.Key, "Client Shapes Inc")

	t.Run("zero-valued fields of a marshaled SDK struct", func(t *testing.T) {
		body := map[string]any{
			"id":                  0,
			"date_created":        "0001-01-01T00:00:00Z",
			"renewal_of_order_id": 0,
			"renewed_thumbprint":  "",
			"certificate": map[string]any{
				"id":             0,
				"common_name":    "",
				"dns_names":      nil,
				"csr":            csrPEM(t, testRSAKey(t)),
				"key_size":       0,
				"csr_key_type":   "",
				"ca_cert_id":     "",
				"signature_hash": "sha256",
				"usage_designation": map[string]any{
					"primary_usage":     "signing",
					"additional_usages": nil,
				},
			},
			"organization": map[string]any{
				"id": orgID, "name": "", "address": "", "city": "", "state": "", "zip": "", "country": "",
				"contacts": nil,
			},
			"order_validity":                map[string]any{"years": 1, "days": 0, "custom_expiration_date": ""},
			"cs_provisioning_method":        "email",
			"payment_method":                "balance",
			"additional_emails":             nil,
			"user_id_assignments":           nil,
			"container":                     nil,
			"ship_info":                     nil,
			"skip_approval":                 false,
			"comments":                      "",
			"promo_code":                    "",
			"custom_renewal_message":        "",
			"disable_renewal_notifications": false,
		}
		r := s.do("POST", "/services/v2/order/certificate/ds_org", s.Key, body)
		if r.Status != http.StatusCreated {
			t.Fatalf("zero-valued body: %d %s", r.Status, r.Body)
		}
	})

	orderID, _ := placePendingOrder(t, s, orgID)

	t.Run("Content-Type on a GET", func(t *testing.T) {
		req, _ := http.NewRequest("GET", s.URL+fmt.Sprintf("/services/v2/order/certificate/%d", orderID), nil)
		req.Header.Set("X-DC-DEVKEY", s.Key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET with Content-Type: %d", resp.StatusCode)
		}
	})

	t.Run("CANCELED in upper case", func(t *testing.T) {
		r := s.do("PUT", fmt.Sprintf("/services/v2/order/certificate/%d/status", orderID), s.Key,
			map[string]any{"status": "CANCELED", "note": "sent by an older client"})
		if r.Status != http.StatusNoContent {
			t.Fatalf("CANCELED: %d %s", r.Status, r.Body)
		}
	})

	_, certID := placeIssuedOrder(t, s, orgID)

	t.Run("revoke body with Comment, as some clients send it", func(t *testing.T) {
		_, other := placeIssuedOrder(t, s, orgID)
		r := s.do("PUT", fmt.Sprintf("/services/v2/certificate/%d/revoke", other), s.Key,
			map[string]any{"Comment": "key lost", "revocation_reason": "key_compromise"})
		if r.Status != http.StatusCreated {
			t.Fatalf("revoke with Comment: %d %s", r.Status, r.Body)
		}
		v := r.JSON(t)
		if v["status"] != "submitted" || v["type"] != "revoke" || v["comments"] != "key lost" {
			t.Errorf("revoke request = %v, expected a submitted revoke request with the comment", v)
		}
	})

	t.Run("revoke body of Venafi's connector", func(t *testing.T) {
		_, other := placeIssuedOrder(t, s, orgID)
		r := s.do("PUT", fmt.Sprintf("/services/v2/certificate/%d/revoke", other), s.Key,
			map[string]any{"reason": "keyCompromise", "comment": ""})
		if r.Status != http.StatusCreated {
			t.Fatalf("revoke with reason and comment: %d %s", r.Status, r.Body)
		}
		if status := r.JSON(t)["status"]; status != "submitted" {
			t.Errorf("status = %v, expected submitted, which the connector checks", status)
		}
	})

	t.Run("Accept application/zip on pem_all", func(t *testing.T) {
		req, _ := http.NewRequest("GET", s.URL+fmt.Sprintf("/services/v2/certificate/%d/download/format/pem_all", certID), nil)
		req.Header.Set("X-DC-DEVKEY", s.Key)
		req.Header.Set("Accept", "application/zip")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var buf bytes.Buffer
		buf.ReadFrom(resp.Body)
		if resp.Header.Get("Content-Type") != "application/zip" || !bytes.HasPrefix(buf.Bytes(), []byte("PK")) {
			t.Errorf("response is not a zip: %s", resp.Header.Get("Content-Type"))
		}
	})
}
