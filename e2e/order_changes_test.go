package e2e

import (
	"archive/zip"
	"bytes"
	"crypto/elliptic"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
)

// placeIssuedOrder places a skip_approval email order and returns its order and certificate ids.
func placeIssuedOrder(t *testing.T, s *server, orgID int64) (int64, int64) {
	t.Helper()
	body := emailOrder(orgID, csrPEM(t, testRSAKey(t)))
	body["skip_approval"] = true
	resp := s.do("POST", "/services/v2/order/certificate/ds_org", s.Key, body)
	if resp.Status != http.StatusCreated {
		t.Fatalf("place order: %d %s", resp.Status, resp.Body)
	}
	placed := resp.JSON(t)
	if placed["certificate_chain"] == nil {
		t.Fatalf("order not issued within the call: %s", resp.Body)
	}
	return idOf(t, placed["id"]), idOf(t, placed["certificate_id"])
}

// placePendingOrder places an email order that waits for approval.
func placePendingOrder(t *testing.T, s *server, orgID int64) (orderID, requestID int64) {
	t.Helper()
	resp := s.do("POST", "/services/v2/order/certificate/ds_org", s.Key, emailOrder(orgID, csrPEM(t, testRSAKey(t))))
	if resp.Status != http.StatusCreated {
		t.Fatalf("place order: %d %s", resp.Status, resp.Body)
	}
	placed := resp.JSON(t)
	return idOf(t, placed["id"]), idOf(t, placed["requests"].([]any)[0].(map[string]any)["id"])
}

func expectError(t *testing.T, r *response, status int, code string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, expected %d: %s", r.Status, status, r.Body)
	}
	codes := r.ErrorCodes(t)
	if len(codes) == 0 || codes[0] != code {
		t.Errorf("codes %v, expected %s", codes, code)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("error content type %q, expected application/json", ct)
	}
}

func TestCancelOrder(t *testing.T) {
	s := startServer(t)
	orgID := createValidatedOrganization(t, s, s.Key, "Cancel Corp")
	orderID, requestID := placePendingOrder(t, s, orgID)
	path := fmt.Sprintf("/services/v2/order/certificate/%d/status", orderID)

	t.Run("note required", func(t *testing.T) {
		expectError(t, s.do("PUT", path, s.Key, map[string]any{"status": "canceled"}), 400, "required_param:note")
	})
	t.Run("unknown status", func(t *testing.T) {
		expectError(t, s.do("PUT", path, s.Key, map[string]any{"status": "paused"}), 400, "invalid_value:status")
	})
	t.Run("upper-case CANCELED", func(t *testing.T) {
		r := s.do("PUT", path, s.Key, map[string]any{"status": "CANCELED", "note": "ordered by mistake"})
		if r.Status != http.StatusNoContent {
			t.Fatalf("cancel: %d %s", r.Status, r.Body)
		}
		waitForStatus(t, s, s.Key, orderID, "canceled")
	})
	t.Run("approving the canceled order's request", func(t *testing.T) {
		r := s.do("PUT", fmt.Sprintf("/services/v2/request/%d/status", requestID), s.Key, map[string]any{"status": "approved"})
		expectError(t, r, 409, "request_already_processed")
	})
	t.Run("cancel twice", func(t *testing.T) {
		expectError(t, s.do("PUT", path, s.Key, map[string]any{"status": "canceled", "note": "again"}), 400, "invalid_order_status")
	})
	t.Run("issued order cannot be canceled", func(t *testing.T) {
		issued, _ := placeIssuedOrder(t, s, orgID)
		r := s.do("PUT", fmt.Sprintf("/services/v2/order/certificate/%d/status", issued), s.Key,
			map[string]any{"status": "canceled", "note": "too late"})
		expectError(t, r, 400, "invalid_order_status")
	})
	t.Run("renewed marks an issued order", func(t *testing.T) {
		issued, _ := placeIssuedOrder(t, s, orgID)
		r := s.do("PUT", fmt.Sprintf("/services/v2/order/certificate/%d/status", issued), s.Key, map[string]any{"status": "not_renewed"})
		if r.Status != http.StatusNoContent {
			t.Fatalf("not_renewed: %d %s", r.Status, r.Body)
		}
	})
}

func TestReplaceCSRIssuesWaitingOrder(t *testing.T) {
	s := startServer(t)
	orgID := createValidatedOrganization(t, s, s.Key, "CSR Later GmbH")

	body := emailOrder(orgID, "")
	delete(body["certificate"].(map[string]any), "csr")
	body["cs_provisioning_method"] = "client_app"
	body["skip_approval"] = true
	resp := s.do("POST", "/services/v2/order/certificate/ds_org", s.Key, body)
	if resp.Status != http.StatusCreated {
		t.Fatalf("place order: %d %s", resp.Status, resp.Body)
	}
	orderID := idOf(t, resp.JSON(t)["id"])
	waitForStatus(t, s, s.Key, orderID, "waiting_pickup")

	path := fmt.Sprintf("/services/v2/order/certificate/%d/csr", orderID)
	expectError(t, s.do("POST", path, s.Key, map[string]any{"csr": "not a csr"}), 400, "csr_invalid_cannot_parse")
	expectError(t, s.do("POST", path, s.Key, map[string]any{}), 400, "required_param:csr")

	r := s.do("POST", path, s.Key, map[string]any{"csr": csrPEM(t, newECKey(t, elliptic.P384()))})
	if r.Status != http.StatusNoContent {
		t.Fatalf("replace CSR: %d %s", r.Status, r.Body)
	}
	info := waitForStatus(t, s, s.Key, orderID, "issued")
	if got := info["certificate"].(map[string]any)["key_size"]; got != float64(384) {
		t.Errorf("key_size after the new CSR = %v, expected 384", got)
	}
	expectError(t, s.do("POST", path, s.Key, map[string]any{"csr": csrPEM(t, testRSAKey(t))}), 400, "invalid_order_status")
}

func TestReissueGoesThroughApproval(t *testing.T) {
	s := startServer(t)
	orgID := createValidatedOrganization(t, s, s.Key, "Reissue Partners LLP")
	orderID, firstCert := placeIssuedOrder(t, s, orgID)

	resp := s.do("POST", fmt.Sprintf("/services/v2/order/certificate/%d/reissue", orderID), s.Key,
		map[string]any{"certificate": map[string]any{"csr": csrPEM(t, newECKey(t, elliptic.P256()))}, "comments": "key rotated"})
	if resp.Status != http.StatusCreated {
		t.Fatalf("reissue: %d %s", resp.Status, resp.Body)
	}
	requestID := idOf(t, resp.JSON(t)["requests"].([]any)[0].(map[string]any)["id"])
	waitForStatus(t, s, s.Key, orderID, "reissue_pending")

	approve(t, s, s.Key, requestID)
	info := waitForStatus(t, s, s.Key, orderID, "issued")
	newCert := idOf(t, info["certificate"].(map[string]any)["id"])
	if newCert == firstCert {
		t.Fatalf("order info still shows certificate %d after the reissue", firstCert)
	}
	for _, id := range []int64{firstCert, newCert} {
		r := s.do("GET", fmt.Sprintf("/services/v2/certificate/%d/download/format/cer", id), s.Key, nil)
		if r.Status != http.StatusOK {
			t.Errorf("download certificate %d: %d %s", id, r.Status, r.Body)
		}
	}

	t.Run("reissue of a pending order", func(t *testing.T) {
		pending, _ := placePendingOrder(t, s, orgID)
		r := s.do("POST", fmt.Sprintf("/services/v2/order/certificate/%d/reissue", pending), s.Key,
			map[string]any{"certificate": map[string]any{"csr": csrPEM(t, testRSAKey(t))}})
		expectError(t, r, 400, "invalid_order_status")
	})
}

func TestDuplicateIssuesWithinCall(t *testing.T) {
	s := startServer(t)
	orgID := createValidatedOrganization(t, s, s.Key, "Duplicate Works SA")
	orderID, firstCert := placeIssuedOrder(t, s, orgID)

	resp := s.do("POST", fmt.Sprintf("/services/v2/order/certificate/%d/duplicate", orderID), s.Key,
		map[string]any{"certificate": map[string]any{"csr": csrPEM(t, newECKey(t, elliptic.P256()))}})
	if resp.Status != http.StatusCreated {
		t.Fatalf("duplicate: %d %s", resp.Status, resp.Body)
	}
	dup := resp.JSON(t)
	dupCert := idOf(t, dup["certificate_id"])
	if dupCert == firstCert || dup["certificate_chain"] == nil {
		t.Fatalf("duplicate answer: %s", resp.Body)
	}
	info := waitForStatus(t, s, s.Key, orderID, "issued")
	if got := idOf(t, info["certificate"].(map[string]any)["id"]); got != firstCert {
		t.Errorf("order info shows certificate %d, expected the primary %d", got, firstCert)
	}
}

func TestChainAndDownloadsByOrder(t *testing.T) {
	s := startServer(t)
	orgID := createValidatedOrganization(t, s, s.Key, "Download Formats Inc")
	orderID, certID := placeIssuedOrder(t, s, orgID)

	r := s.do("GET", fmt.Sprintf("/services/v2/certificate/%d/chain", certID), s.Key, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("chain: %d %s", r.Status, r.Body)
	}
	intermediates := r.JSON(t)["intermediates"].([]any)
	if len(intermediates) != 2 {
		t.Fatalf("chain has %d entries, expected intermediate and root", len(intermediates))
	}

	r = s.do("GET", fmt.Sprintf("/services/v2/certificate/download/order/%d/format/pem_all", orderID), s.Key, nil)
	if r.Status != http.StatusOK || len(parsePEMChain(t, r.Body)) != 3 {
		t.Fatalf("download by order: %d %s", r.Status, r.Body)
	}

	zips := map[string]int{"default": 3, "apache": 2, "default_pem": 3, "default_cer": 3}
	for format, files := range zips {
		t.Run(format, func(t *testing.T) {
			r := s.do("GET", fmt.Sprintf("/services/v2/certificate/%d/download/format/%s", certID, format), s.Key, nil)
			if r.Status != http.StatusOK || r.Header.Get("Content-Type") != "application/zip" {
				t.Fatalf("download %s: %d %s", format, r.Status, r.Header.Get("Content-Type"))
			}
			zr, err := zip.NewReader(bytes.NewReader(r.Body), int64(len(r.Body)))
			if err != nil {
				t.Fatal(err)
			}
			if len(zr.File) != files {
				t.Errorf("%s has %d files, expected %d", format, len(zr.File), files)
			}
		})
	}

	t.Run("pem_all zipped on Accept", func(t *testing.T) {
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
		zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil {
			t.Fatalf("not a zip: %v", err)
		}
		rc, _ := zr.File[0].Open()
		var inner bytes.Buffer
		inner.ReadFrom(rc)
		if n := len(parsePEMChain(t, inner.Bytes())); n != 3 {
			t.Errorf("zipped pem_all holds %d certificates, expected 3", n)
		}
	})
}

func TestIdempotencyKey(t *testing.T) {
	s := startServer(t)
	orgID := createValidatedOrganization(t, s, s.Key, "Idempotent Orders Ltd")
	body := emailOrder(orgID, csrPEM(t, testRSAKey(t)))
	body["skip_approval"] = true

	before := s.countRows("orders")
	var wg sync.WaitGroup
	answers := make([]*response, 5)
	for i := range answers {
		wg.Add(1)
		go func() { defer wg.Done(); answers[i] = postOrderWithKey(t, s, "order-1", body) }()
	}
	wg.Wait()

	var first []byte
	for _, a := range answers {
		switch a.Status {
		case http.StatusCreated:
			if first != nil && !bytes.Equal(first, a.Body) {
				t.Errorf("replayed answer differs:\n%s\n%s", first, a.Body)
			}
			first = a.Body
		case http.StatusConflict:
			// The first request was still running.
		default:
			t.Errorf("unexpected status %d: %s", a.Status, a.Body)
		}
	}
	replay := postOrderWithKey(t, s, "order-1", body)
	if replay.Status != http.StatusCreated || !bytes.Equal(replay.Body, first) {
		t.Errorf("replay: %d %s", replay.Status, replay.Body)
	}
	if n := s.countRows("orders") - before; n != 1 {
		t.Errorf("%d orders placed under one idempotency key, expected 1", n)
	}
	if n := s.countRows("issuance_intents"); n != 1 {
		t.Errorf("%d certificates signed, expected 1", n)
	}

	body["comments"] = "a different request"
	expectError(t, postOrderWithKey(t, s, "order-1", body), 409, "idempotency_key_reused")
}

func TestRateLimit(t *testing.T) {
	s := startServer(t, "--rate-limit", "5/1m")
	for i := range 5 {
		if r := s.do("GET", "/services/v2/order/certificate/1", s.Key, nil); r.Status == http.StatusTooManyRequests {
			t.Fatalf("request %d was limited", i+1)
		}
	}
	r := s.do("GET", "/services/v2/order/certificate/1", s.Key, nil)
	expectError(t, r, 429, "request_limit_exceeded")
	retry, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || retry < 1 || retry > 60 {
		t.Errorf("Retry-After = %q, expected 1 to 60 seconds", r.Header.Get("Retry-After"))
	}
}

func TestFieldAndIDProblemsInOneResponse(t *testing.T) {
	s := startServer(t)
	body := emailOrder(999999, csrPEM(t, testRSAKey(t)))
	body["certificate"].(map[string]any)["signature_hash"] = "md5"
	body["renewal_of_order_id"] = 424242

	before := s.rowCounts()
	r := s.do("POST", "/services/v2/order/certificate/ds_org", s.Key, body)
	if r.Status != http.StatusBadRequest {
		t.Fatalf("status %d: %s", r.Status, r.Body)
	}
	codes := map[string]bool{}
	for _, c := range r.ErrorCodes(t) {
		codes[c] = true
	}
	for _, expected := range []string{"invalid_value:certificate.signature_hash", "invalid_value:organization.id", "invalid_value:renewal_of_order_id"} {
		if !codes[expected] {
			t.Errorf("missing %s in %v", expected, codes)
		}
	}
	after := s.rowCounts()
	for table, n := range before {
		if after[table] != n {
			t.Errorf("%s: %d rows before, %d after a rejected order", table, n, after[table])
		}
	}
}
