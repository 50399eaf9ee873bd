package e2e

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// placed is an order a client placed, with the certificate it received.
type placed struct {
	orderID       int64
	certificateID int64
	der           []byte
}

// placeIssuedWithCertificate places an order that skips approval and returns
// it with the leaf certificate from the response.
func placeIssuedWithCertificate(s *server, orgID int64, csr string) (placed, error) {
	body := emailOrder(orgID, csr)
	body["skip_approval"] = true
	raw, err := jsonBytes(body)
	if err != nil {
		return placed{}, err
	}

	req, err := http.NewRequest(http.MethodPost, s.URL+dsOrgPath, bytes.NewReader(raw))
	if err != nil {
		return placed{}, err
	}
	req.Header.Set("X-DC-DEVKEY", s.Key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return placed{}, err
	}
	defer resp.Body.Close()

	var out struct {
		ID            int64 `json:"id"`
		CertificateID int64 `json:"certificate_id"`
		Chain         []struct {
			PEM string `json:"pem"`
		} `json:"certificate_chain"`
	}
	if err := decodeJSON(resp, &out); err != nil {
		return placed{}, err
	}
	if resp.StatusCode != http.StatusCreated || len(out.Chain) == 0 {
		return placed{}, fmt.Errorf("order not issued within the call: status %d", resp.StatusCode)
	}

	certs, err := parsePEMCertificates([]byte(out.Chain[0].PEM))
	if err != nil || len(certs) != 1 {
		return placed{}, fmt.Errorf("leaf in the response: %v", err)
	}
	return placed{orderID: out.ID, certificateID: out.CertificateID, der: certs[0].Raw}, nil
}

func TestBackupWhileServingThenRestore(t *testing.T) {
	requireSQLite(t, "docsign-ca backup archives the SQLite file; TestPostgresDumpAndRestore covers PostgreSQL")
	s := startServer(t)
	orgID := createValidatedOrganization(t, s, s.Key, "Backup Test Inc")
	csr := csrPEM(t, testRSAKey(t))

	var before []placed
	for range 3 {
		p, err := placeIssuedWithCertificate(s, orgID, csr)
		if err != nil {
			t.Fatal(err)
		}
		before = append(before, p)
	}

	// A load places orders while the backup runs. Orders that finished
	// before the backup started must be in it.
	var mu sync.Mutex
	var finished []placed
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if p, err := placeIssuedWithCertificate(s, orgID, csr); err == nil {
				mu.Lock()
				finished = append(finished, p)
				mu.Unlock()
			}
		}
	}()
	waitForLoad(t, &mu, &finished)

	mu.Lock()
	beforeBackup := append([]placed(nil), finished...)
	mu.Unlock()
	archive := filepath.Join(t.TempDir(), "docsign-backup.tar.gz")
	s.cli("backup", "--out", archive)
	close(stop)
	wg.Wait()

	if info, err := os.Stat(archive); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("archive %s: %v, mode %v; want mode 0600", archive, err, info.Mode().Perm())
	}

	restored := filepath.Join(t.TempDir(), "restored")
	if out, err := exec.Command(binary, "restore", "--in", archive, "--data-dir", restored).CombinedOutput(); err != nil {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	// The archive leaves the bootstrap key file out: the key was shown
	// once, and it keeps working because its hash is in the database. The
	// harness reads the key from that file, so it is written back here.
	if err := os.WriteFile(filepath.Join(restored, "bootstrap-api-key"), []byte(s.Key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	r := startServerIn(t, restored)
	for _, p := range append(before, beforeBackup...) {
		resp := r.do("GET", fmt.Sprintf("/services/v2/certificate/%d/download/format/pem_noroot", p.certificateID), r.Key, nil)
		if resp.Status != http.StatusOK {
			t.Errorf("certificate %d of order %d after restore: %d %s", p.certificateID, p.orderID, resp.Status, resp.Body)
			continue
		}
		certs, err := parsePEMCertificates(resp.Body)
		if err != nil || len(certs) == 0 || !bytes.Equal(certs[0].Raw, p.der) {
			t.Errorf("certificate %d after restore differs from the one issued before the backup", p.certificateID)
		}
		info := r.do("GET", fmt.Sprintf("/services/v2/order/certificate/%d", p.orderID), r.Key, nil)
		if info.Status != http.StatusOK || info.JSON(t)["status"] != "issued" {
			t.Errorf("order %d after restore: %d %s", p.orderID, info.Status, info.Body)
		}
	}
	t.Logf("%d orders placed before the backup, %d while it ran", len(before)+len(beforeBackup), len(finished)-len(beforeBackup))

	// The restored CA keys sign new certificates under the same root.
	fresh, err := placeIssuedWithCertificate(r, orgID, csr)
	if err != nil {
		t.Fatalf("new order on the restored server: %v", err)
	}
	expectSameIssuer(t, fresh.der, before[0].der)
	expectKeyURIsUnder(t, restored)

	if out := r.cli("audit", "verify"); !strings.Contains(out, "audit log intact") {
		t.Errorf("audit verify on the restored data directory: %s", out)
	}
}

func TestRestoreRefusesNonEmptyDataDirectory(t *testing.T) {
	requireSQLite(t, "docsign-ca backup archives the SQLite file; TestPostgresDumpAndRestore covers PostgreSQL")
	s := startServer(t)
	archive := filepath.Join(t.TempDir(), "backup.tar.gz")
	s.cli("backup", "--out", archive)

	// A second backup never overwrites the first.
	if out, err := exec.Command(binary, "backup", "--data-dir", s.DataDir, "--out", archive).CombinedOutput(); err == nil {
		t.Errorf("backup over an existing archive succeeded:\n%s", out)
	}

	out, err := exec.Command(binary, "restore", "--in", archive, "--data-dir", s.DataDir).CombinedOutput()
	if err == nil {
		t.Fatalf("restore into the live data directory succeeded:\n%s", out)
	}
	if !strings.Contains(string(out), "not empty") {
		t.Errorf("restore error does not say the directory is not empty:\n%s", out)
	}
}

// waitForLoad waits until the load has finished at least one order, so
// that the backup runs while orders are being placed.
func waitForLoad(t *testing.T, mu *sync.Mutex, finished *[]placed) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		n := len(*finished)
		mu.Unlock()
		if n > 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("the load placed no order in 30s")
}

func expectSameIssuer(t *testing.T, der, earlier []byte) {
	t.Helper()
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	first, err := x509.ParseCertificate(earlier)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(leaf.RawIssuer, first.RawIssuer) || !bytes.Equal(leaf.AuthorityKeyId, first.AuthorityKeyId) {
		t.Errorf("the restored server issues under %s, not under the original issuer %s", leaf.Issuer, first.Issuer)
	}
}

// parsePEMCertificates parses every CERTIFICATE block of data. Unlike
// parsePEMChain it returns an error, so load goroutines can use it.
func parsePEMCertificates(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return out, nil
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
}

func decodeJSON(resp *http.Response, v any) error {
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	return json.Unmarshal(body, v)
}
