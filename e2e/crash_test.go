package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/store"
)

// This file kills the server with SIGKILL at random moments while a load
// places, approves and issues orders, and restarts it after each kill. Then
// it checks what a crash must never break. Every signed certificate is
// recorded, and no order gets two certificates. Every approved order on a
// validated organization is issued in the end, and the audit chain holds.

// defaultCrashKills keeps the test short enough for every CI run;
// DOCSIGN_CRASH_KILLS=20 runs the full version.
const defaultCrashKills = 3

func crashKills(t *testing.T) int {
	t.Helper()
	raw := os.Getenv("DOCSIGN_CRASH_KILLS")
	if raw == "" {
		return defaultCrashKills
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 {
		t.Fatalf("invalid DOCSIGN_CRASH_KILLS %q; give a positive number of kills such as 20", raw)
	}
	return n
}

// kill ends the server with SIGKILL, so that nothing is flushed or closed
// cleanly, and waits for the process to be gone.
func (s *server) kill() {
	_ = s.cmd.Process.Kill()
	<-s.done
}

// crashLoad is a set of clients that place and approve orders while the
// server may die under them. Every error is expected and skipped.
type crashLoad struct {
	url, key   string
	validated  int64 // an organization validated before the first kill
	validating int64 // an organization validated by the operator halfway
	client     *http.Client

	mu sync.Mutex
	// waiting are requests placed and not yet approved.
	waiting []int64
	// received maps each serial number (upper-case hex) to the DER of the
	// certificate the API handed a client.
	received map[string][]byte
	csr      string
}

func (l *crashLoad) send(method, path string, body any) (*response, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	var reader io.Reader
	if body != nil {
		reader = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, l.url+path, reader)
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-DC-DEVKEY", l.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := l.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return &response{Status: resp.StatusCode, Header: resp.Header, Body: data}, err
}

// run sends one action after another until ctx ends.
func (l *crashLoad) run(ctx context.Context, rng *rand.Rand) {
	for ctx.Err() == nil {
		var err error
		switch rng.IntN(4) {
		case 0:
			err = l.placeSkippingApproval()
		case 1:
			err = l.place(l.validated)
		case 2:
			err = l.place(l.validating)
		default:
			err = l.approveOne(rng)
		}
		if err != nil {
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func (l *crashLoad) placeSkippingApproval() error {
	body := emailOrder(l.validated, l.csr)
	body["skip_approval"] = true
	resp, err := l.send(http.MethodPost, dsOrgPath, body)
	if err != nil || resp.Status != http.StatusCreated {
		return fmt.Errorf("place order: %v %v", resp, err)
	}
	var placed struct {
		Chain []struct {
			PEM string `json:"pem"`
		} `json:"certificate_chain"`
	}
	if err := json.Unmarshal(resp.Body, &placed); err != nil || len(placed.Chain) == 0 {
		return nil
	}
	block, _ := pem.Decode([]byte(placed.Chain[0].PEM))
	if block == nil {
		return nil
	}
	if cert, err := x509.ParseCertificate(block.Bytes); err == nil {
		l.mu.Lock()
		l.received[fmt.Sprintf("%X", cert.SerialNumber.Bytes())] = block.Bytes
		l.mu.Unlock()
	}
	return nil
}

func (l *crashLoad) place(orgID int64) error {
	resp, err := l.send(http.MethodPost, dsOrgPath, emailOrder(orgID, l.csr))
	if err != nil || resp.Status != http.StatusCreated {
		return fmt.Errorf("place order: %v %v", resp, err)
	}
	var placed struct {
		Requests []struct {
			ID int64 `json:"id"`
		} `json:"requests"`
	}
	if err := json.Unmarshal(resp.Body, &placed); err != nil || len(placed.Requests) == 0 {
		return nil
	}
	l.mu.Lock()
	l.waiting = append(l.waiting, placed.Requests[0].ID)
	l.mu.Unlock()
	return nil
}

// approveOne approves a waiting request, also one placed before a kill.
func (l *crashLoad) approveOne(rng *rand.Rand) error {
	l.mu.Lock()
	if len(l.waiting) == 0 {
		l.mu.Unlock()
		return nil
	}
	i := rng.IntN(len(l.waiting))
	id := l.waiting[i]
	l.mu.Unlock()

	resp, err := l.send(http.MethodPut, fmt.Sprintf("/services/v2/request/%d/status", id), map[string]any{"status": "approved"})
	if err != nil {
		return err
	}
	if resp.Status == http.StatusNoContent || resp.Status == http.StatusConflict {
		l.mu.Lock()
		l.waiting = removeID(l.waiting, id)
		l.mu.Unlock()
	}
	return nil
}

func removeID(ids []int64, id int64) []int64 {
	out := ids[:0]
	for _, x := range ids {
		if x != id {
			out = append(out, x)
		}
	}
	return out
}

func TestCrashRecovery(t *testing.T) {
	kills := crashKills(t)
	seed := uint64(time.Now().UnixNano())
	t.Logf("%d kills, random seed %d", kills, seed)
	rng := rand.New(rand.NewPCG(seed, seed>>1))

	dataDir := t.TempDir()
	s := startServerIn(t, dataDir)
	load := &crashLoad{
		url: s.URL, key: s.Key, client: &http.Client{Timeout: 20 * time.Second},
		validated: createValidatedOrganization(t, s, s.Key, "Crash Validated Inc"),
		received:  map[string][]byte{}, csr: csrPEM(t, testRSAKey(t)),
	}
	resp := s.do("POST", "/services/v2/organization", s.Key, newOrganization("Crash Later Validated Inc"))
	if resp.Status != http.StatusCreated {
		t.Fatalf("create organization: %d %s", resp.Status, resp.Body)
	}
	load.validating = idOf(t, resp.JSON(t)["id"])

	interrupted := 0
	for k := range kills {
		if k > 0 {
			s = startServerIn(t, dataDir)
			load.url = s.URL
		}
		if k == kills/2 {
			// The operator validates the second organization while the
			// server runs; the issuance sweep picks its orders up.
			s.cli("validation", "approve", "--organization", fmt.Sprint(load.validating), "--type", "ds")
		}

		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for w := range 4 {
			workerRNG := rand.New(rand.NewPCG(seed+uint64(k*10+w), uint64(w)))
			wg.Add(1)
			go func() {
				defer wg.Done()
				load.run(ctx, workerRNG)
			}()
		}
		time.Sleep(time.Duration(200+rng.IntN(1300)) * time.Millisecond)
		s.kill()
		cancel()
		wg.Wait()

		if n := openIntents(t, dataDir); n > 0 {
			interrupted++
			t.Logf("kill %d left %d issuance intents open (signing was under way)", k+1, n)
		}
	}
	t.Logf("%d of %d kills interrupted an issuance; %d certificates reached clients", interrupted, kills, len(load.received))

	s = startServerIn(t, dataDir)
	waitUntilNothingReady(t, dataDir)
	s.stop()

	st, err := openDataDirStore(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	certs := checkSignedCertificatesRecorded(t, st, load.received)
	checkOneCertificatePerOrder(t, st)
	checkApprovedOrdersIssued(t, st)
	checkAuditMatchesCertificates(t, st, certs)
	if out := s.cli("audit", "verify"); !strings.Contains(out, "audit log intact") {
		t.Errorf("audit verify: %s", out)
	}
}

func openStore(t *testing.T, dataDir string) *store.Store {
	t.Helper()
	st, err := openDataDirStore(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func openIntents(t *testing.T, dataDir string) int {
	t.Helper()
	st := openStore(t, dataDir)
	defer st.Close()
	intents, err := st.OpenIntents(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return len(intents)
}

// approvedNotIssued selects the orders that were approved (or skipped
// approval) for a validated organization and are not issued.
const approvedNotIssued = `
	SELECT o.id, o.status, o.issue_error
	  FROM orders o
	  JOIN validations v ON v.organization_id = o.organization_id AND v.type = 'ds' AND v.status = 'active'
	 WHERE o.status <> 'issued'
	   AND (o.skip_approval = 1
	        OR EXISTS (SELECT 1 FROM requests r WHERE r.order_id = o.id AND r.type = 'new_request' AND r.status = 'approved'))`

// waitUntilNothingReady waits until the restarted server has recovered
// every open intent and issued every approved order, or gives up after 60s
// and leaves the reporting to the checks. The issuance sweep leaves an order
// alone for a few seconds after it changed, so this can take that long.
func waitUntilNothingReady(t *testing.T, dataDir string) {
	t.Helper()
	st := openStore(t, dataDir)
	defer st.Close()
	ctx := context.Background()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		intents, err := st.OpenIntents(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var waiting int
		if err := st.DB().QueryRow(`SELECT COUNT(*) FROM (` + approvedNotIssued + `) AS waiting`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if len(intents) == 0 && waiting == 0 {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// checkSignedCertificatesRecorded checks every issuance intent against the
// certificates: each intent completed, its serial carried by a stored
// certificate that the issuing CA signed, and every certificate a client
// received stored byte for byte. It returns the stored certificates by
// serial.
func checkSignedCertificatesRecorded(t *testing.T, st *store.Store, received map[string][]byte) map[string]store.Certificate {
	t.Helper()
	ctx := context.Background()
	issuers := map[int64]*x509.Certificate{}
	cas, err := st.CAs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, ca := range cas {
		if issuers[ca.ID], err = x509.ParseCertificate(ca.CertDER); err != nil {
			t.Fatal(err)
		}
	}

	list, err := st.ListCertificates(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	certs := map[string]store.Certificate{}
	for _, c := range list {
		leaf, err := x509.ParseCertificate(c.DER)
		if err != nil {
			t.Errorf("certificate %d: %v", c.ID, err)
			continue
		}
		if err := leaf.CheckSignatureFrom(issuers[c.CAID]); err != nil {
			t.Errorf("certificate %d (serial %s) is not signed by CA %d: %v", c.ID, c.SerialNumber, c.CAID, err)
		}
		if got := fmt.Sprintf("%X", leaf.SerialNumber.Bytes()); got != c.SerialNumber {
			t.Errorf("certificate %d is stored with serial %s but carries %s", c.ID, c.SerialNumber, got)
		}
		certs[c.SerialNumber] = c
	}

	rows, err := st.DB().QueryContext(ctx, `SELECT id, certificate_id, serial_number, status FROM issuance_intents ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	intents := 0
	for rows.Next() {
		var id, certificateID int64
		var serial, status string
		if err := rows.Scan(&id, &certificateID, &serial, &status); err != nil {
			t.Fatal(err)
		}
		intents++
		if status != store.IntentCompleted {
			t.Errorf("intent %d (serial %s) is %s, want completed", id, serial, status)
			continue
		}
		if c, ok := certs[serial]; !ok || c.ID != certificateID {
			t.Errorf("intent %d signed serial %s for certificate %d, which the database does not hold", id, serial, certificateID)
		}
	}
	if intents != len(certs) {
		t.Errorf("%d intents but %d certificates stored", intents, len(certs))
	}

	for serial, der := range received {
		if c, ok := certs[serial]; !ok || !bytes.Equal(c.DER, der) {
			t.Errorf("a client received certificate %s, which the database does not hold as sent", serial)
		}
	}
	return certs
}

// checkOneCertificatePerOrder checks that no order (and so no approved
// request) ended up with more than one signed certificate.
func checkOneCertificatePerOrder(t *testing.T, st *store.Store) {
	t.Helper()
	rows, err := st.DB().Query(`SELECT order_id, COUNT(*) FROM certificates WHERE serial_number IS NOT NULL GROUP BY order_id HAVING COUNT(*) > 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var orderID, n int64
		if err := rows.Scan(&orderID, &n); err != nil {
			t.Fatal(err)
		}
		t.Errorf("order %d has %d signed certificates, want at most 1", orderID, n)
	}
}

// checkApprovedOrdersIssued checks that every order that was approved (or
// skipped approval) for a validated organization is issued.
func checkApprovedOrdersIssued(t *testing.T, st *store.Store) {
	t.Helper()
	rows, err := st.DB().Query(approvedNotIssued)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var status, issueError string
		if err := rows.Scan(&id, &status, &issueError); err != nil {
			t.Fatal(err)
		}
		t.Errorf("approved order %d on a validated organization is %s (issue error %q), want issued", id, status, issueError)
	}

	var issued int
	if err := st.DB().QueryRow(`SELECT COUNT(*) FROM orders WHERE status = 'issued'`).Scan(&issued); err != nil {
		t.Fatal(err)
	}
	if issued == 0 {
		t.Error("no order was issued; the load did nothing to check")
	}
	t.Logf("%d orders issued", issued)
}

// checkAuditMatchesCertificates checks that the audit log has exactly one
// certificate.issued row per stored certificate, with its serial and
// SHA-256 fingerprint, and an intent row before it.
func checkAuditMatchesCertificates(t *testing.T, st *store.Store, certs map[string]store.Certificate) {
	t.Helper()
	issued := map[string]int{}
	intents := map[string]bool{}
	err := st.EachAuditRecord(context.Background(), 0, func(r *store.AuditRecord) error {
		var data struct {
			Serial string `json:"serial"`
			SHA256 string `json:"sha256"`
		}
		if err := json.Unmarshal(r.Data, &data); err != nil {
			return err
		}
		switch r.Type {
		case store.AuditIssuanceIntent:
			intents[data.Serial] = true
		case store.AuditCertificateIssued:
			issued[data.Serial]++
			if !intents[data.Serial] {
				t.Errorf("audit row %d records certificate %s issued without an intent row before it", r.ID, data.Serial)
			}
			c, ok := certs[data.Serial]
			sum := sha256.Sum256(c.DER)
			if !ok || data.SHA256 != hex.EncodeToString(sum[:]) {
				t.Errorf("audit row %d records certificate %s with SHA-256 %s, which the database does not hold", r.ID, data.Serial, data.SHA256)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for serial := range certs {
		if issued[serial] != 1 {
			t.Errorf("certificate %s has %d certificate.issued audit rows, want 1", serial, issued[serial])
		}
	}
}
