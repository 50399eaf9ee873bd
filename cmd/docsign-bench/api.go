package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxResponseBytes bounds the body read from the server.
const maxResponseBytes = 4 << 20

// apiClient sends CertCentral Services API v2 requests with one API key.
type apiClient struct {
	http    *http.Client
	baseURL string
	key     string
	// signatureHash is the signature_hash of placed orders.
	signatureHash string
}

// apiError is a response with an unexpected status code.
type apiError struct {
	Method, Path string
	Status       int
	Body         string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%s %s: status %d, expected success: %s", e.Method, e.Path, e.Status, e.Body)
}

// do sends one request and decodes the JSON response into out, when out is
// not nil. It returns the raw body too.
func (c *apiClient) do(ctx context.Context, method, path string, body any, wantStatus int, out any) ([]byte, error) {
	var reader io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		reader = bytes.NewReader(raw)
	}

	req, err := http.NewRequestWithContext(ctx, method, c.baseURL+path, reader)
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-DC-DEVKEY", c.key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}

	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return nil, fmt.Errorf("%s %s: read response: %w", method, path, err)
	}

	if resp.StatusCode != wantStatus {
		return nil, &apiError{Method: method, Path: path, Status: resp.StatusCode, Body: truncate(string(raw), 300)}
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return nil, fmt.Errorf("%s %s: response is not the expected JSON: %w", method, path, err)
		}
	}
	return raw, nil
}

func truncate(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// createOrganization creates the benchmark's organization and submits its
// "ds" validation, which a server started with --auto-validate completes at
// once.
func (c *apiClient) createOrganization(ctx context.Context, name string) (int64, error) {
	var created struct {
		ID int64 `json:"id"`
	}
	_, err := c.do(ctx, "POST", "/services/v2/organization", map[string]any{
		"name":      name,
		"address":   "360 Taylor Street",
		"city":      "Richmond",
		"state":     "Virginia",
		"zip":       "23219",
		"country":   "us",
		"telephone": "+1 804 555 0100",
		// Each run creates its own organization, with the same name as
		// the runs before it on the same server.
		"skip_duplicate_org_check": true,
	}, http.StatusCreated, &created)
	if err != nil {
		return 0, fmt.Errorf("create organization: %w", err)
	}

	path := "/services/v2/organization/" + strconv.FormatInt(created.ID, 10) + "/validation"
	_, err = c.do(ctx, "POST", path, map[string]any{"validations": []any{map[string]any{"type": "ds"}}}, http.StatusNoContent, nil)
	if err != nil {
		return 0, fmt.Errorf("submit the ds validation of organization %d: %w", created.ID, err)
	}
	return created.ID, nil
}

// validationActive reports whether the organization's "ds" validation is active.
func (c *apiClient) validationActive(ctx context.Context, orgID int64) (bool, error) {
	var answer struct {
		Validations []struct {
			Type   string `json:"type"`
			Status string `json:"status"`
		} `json:"validations"`
	}
	path := "/services/v2/organization/" + strconv.FormatInt(orgID, 10) + "/validation"
	if _, err := c.do(ctx, "GET", path, nil, http.StatusOK, &answer); err != nil {
		return false, err
	}
	for _, v := range answer.Validations {
		if v.Type == "ds" && v.Status == "active" {
			return true, nil
		}
	}
	return false, nil
}

// placedOrder is the part of the ds_org response the benchmark uses.
type placedOrder struct {
	ID       int64 `json:"id"`
	Requests []struct {
		ID     int64  `json:"id"`
		Status string `json:"status"`
	} `json:"requests"`
}

// placeOrder posts a ds_org order with email provisioning and the CSR.
func (c *apiClient) placeOrder(ctx context.Context, orgID int64, csrPEM string) (*placedOrder, error) {
	body := map[string]any{
		"certificate": map[string]any{
			"csr":            csrPEM,
			"signature_hash": c.signatureHash,
			"usage_designation": map[string]any{
				"primary_usage":     "signing",
				"additional_usages": []any{"adobe_authentic_documents_trust", "ms_document_signing", "document_signing"},
			},
		},
		"cs_provisioning_method": "email",
		"organization":           map[string]any{"id": strconv.FormatInt(orgID, 10)},
		"order_validity":         map[string]any{"years": 1},
		"payment_method":         "balance",
	}
	var placed placedOrder
	if _, err := c.do(ctx, "POST", "/services/v2/order/certificate/ds_org", body, http.StatusCreated, &placed); err != nil {
		return nil, err
	}
	return &placed, nil
}

// approve approves a pending request.
func (c *apiClient) approve(ctx context.Context, requestID int64) error {
	path := "/services/v2/request/" + strconv.FormatInt(requestID, 10) + "/status"
	_, err := c.do(ctx, "PUT", path, map[string]any{"status": "approved", "processor_comment": "docsign-bench"}, http.StatusNoContent, nil)
	return err
}

// orderInfo is the part of order info the benchmark uses.
type orderInfo struct {
	Status      string `json:"status"`
	Certificate struct {
		ID int64 `json:"id"`
	} `json:"certificate"`
}

func (c *apiClient) orderInfo(ctx context.Context, orderID int64) (*orderInfo, error) {
	var info orderInfo
	path := "/services/v2/order/certificate/" + strconv.FormatInt(orderID, 10)
	if _, err := c.do(ctx, "GET", path, nil, http.StatusOK, &info); err != nil {
		return nil, err
	}
	return &info, nil
}

// downloadPEMAll downloads the certificate with its chain and returns the
// certificates in the order of the file.
func (c *apiClient) downloadPEMAll(ctx context.Context, certificateID int64) ([]*x509.Certificate, error) {
	path := "/services/v2/certificate/" + strconv.FormatInt(certificateID, 10) + "/download/format/pem_all"
	raw, err := c.do(ctx, "GET", path, nil, http.StatusOK, nil)
	if err != nil {
		return nil, err
	}
	certs, err := parsePEMCertificates(raw)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	return certs, nil
}

// issuerCertificate returns the issuing intermediate of a certificate, the
// first entry of GET /services/v2/certificate/{id}/chain.
func (c *apiClient) issuerCertificate(ctx context.Context, certificateID int64) (*x509.Certificate, error) {
	var chain struct {
		Intermediates []struct {
			PEM string `json:"pem"`
		} `json:"intermediates"`
	}
	path := "/services/v2/certificate/" + strconv.FormatInt(certificateID, 10) + "/chain"
	if _, err := c.do(ctx, "GET", path, nil, http.StatusOK, &chain); err != nil {
		return nil, err
	}
	if len(chain.Intermediates) == 0 {
		return nil, fmt.Errorf("GET %s: the chain is empty", path)
	}
	certs, err := parsePEMCertificates([]byte(chain.Intermediates[0].PEM))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	return certs[0], nil
}

func parsePEMCertificates(raw []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for {
		var block *pem.Block
		block, raw = pem.Decode(raw)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("invalid certificate in PEM: %w", err)
		}
		certs = append(certs, cert)
	}
	if len(certs) == 0 {
		return nil, errors.New("the response contains no PEM certificate")
	}
	return certs, nil
}

// sleepContext waits for d or until ctx ends.
func sleepContext(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}
