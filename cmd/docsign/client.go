package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// client talks to the pickup endpoints of a docsign-ca server.
type client struct {
	base string
	http *http.Client
	code string
}

func newClient(server, caFile, code string) (*client, error) {
	if !strings.HasPrefix(server, "http://") && !strings.HasPrefix(server, "https://") {
		return nil, fmt.Errorf("invalid --server %q; give the base URL, such as https://ca.example.com", server)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if caFile != "" {
		pemBytes, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("--server-ca-file: %w", err)
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pemBytes) {
			return nil, fmt.Errorf("--server-ca-file %s contains no PEM certificate", caFile)
		}
		transport.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	}
	return &client{base: strings.TrimRight(server, "/"), http: &http.Client{Transport: transport, Timeout: 2 * time.Minute}, code: code}, nil
}

// apiError is an error envelope of the server.
type apiError struct {
	Status int
	Codes  []string
	Text   string
}

func (e *apiError) Error() string { return e.Text }

func (e *apiError) has(code string) bool {
	for _, c := range e.Codes {
		if c == code {
			return true
		}
	}
	return false
}

// post sends body as JSON and decodes a 2xx response into out. It returns
// the status, or an *apiError for an error envelope.
func (c *client) post(ctx context.Context, path string, body map[string]any, out any) (int, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(raw))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("POST %s: %w", path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return 0, fmt.Errorf("read the response to POST %s: %w", path, err)
	}

	if resp.StatusCode >= 300 {
		return resp.StatusCode, decodeError(resp.StatusCode, path, data)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return resp.StatusCode, fmt.Errorf("the response to POST %s is not the expected JSON: %w", path, err)
	}
	return resp.StatusCode, nil
}

func decodeError(status int, path string, data []byte) error {
	var env struct {
		Errors []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	e := &apiError{Status: status}
	if json.Unmarshal(data, &env) != nil || len(env.Errors) == 0 {
		e.Text = fmt.Sprintf("POST %s failed with status %d", path, status)
		return e
	}
	var parts []string
	for _, p := range env.Errors {
		e.Codes = append(e.Codes, p.Code)
		parts = append(parts, p.Message+" ("+p.Code+")")
	}
	e.Text = strings.Join(parts, "; ")
	return e
}

type pickupInfo struct {
	OrderID       int64  `json:"order_id"`
	Status        string `json:"status"`
	KeyType       string `json:"key_type"`
	KeySize       int    `json:"key_size"`
	SignatureHash string `json:"signature_hash"`
	Organization  struct {
		Name string `json:"name"`
	} `json:"organization"`
	CodeExpiresAt string `json:"code_expires_at"`
}

type pickupResult struct {
	OrderID          int64  `json:"order_id"`
	CertificateID    int64  `json:"certificate_id"`
	Status           string `json:"status"`
	Message          string `json:"message"`
	CertificateChain []struct {
		PEM string `json:"pem"`
	} `json:"certificate_chain"`
}

func (c *client) info(ctx context.Context) (*pickupInfo, error) {
	var out pickupInfo
	_, err := c.post(ctx, "/services/v2/pickup/info", map[string]any{"code": c.code}, &out)
	return &out, err
}

func (c *client) redeem(ctx context.Context, csrPEM string) (*pickupResult, error) {
	var out pickupResult
	_, err := c.post(ctx, "/services/v2/pickup", map[string]any{"code": c.code, "csr": csrPEM}, &out)
	return &out, err
}

func (c *client) certificate(ctx context.Context) (*pickupResult, error) {
	var out pickupResult
	_, err := c.post(ctx, "/services/v2/pickup/certificate", map[string]any{"code": c.code}, &out)
	return &out, err
}

// chain parses the certificate chain of an issued result: the leaf, then
// the CA certificates.
func (r *pickupResult) chain() (*x509.Certificate, []*x509.Certificate, error) {
	var certs []*x509.Certificate
	for _, entry := range r.CertificateChain {
		block, _ := pem.Decode([]byte(entry.PEM))
		if block == nil {
			return nil, nil, errors.New("the server sent a certificate that is not PEM")
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, nil, fmt.Errorf("the server sent a certificate that does not parse: %w", err)
		}
		certs = append(certs, cert)
	}
	if len(certs) == 0 {
		return nil, nil, errors.New("the server sent no certificate")
	}
	return certs[0], certs[1:], nil
}
