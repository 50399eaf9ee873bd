package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/pgtest"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

// This file runs two servers on one data directory and one PostgreSQL
// database, as two replicas behind a load balancer. Clients place and
// approve orders on both, one replica is killed with SIGKILL halfway and
// restarted, and the database must then hold exactly one certificate per
// order, no half-signed intent and an audit log that matches.

const (
	// replicaOrders is how many orders the clients place.
	replicaOrders = 200
	// replicaClients is how many client goroutines place orders at once.
	replicaClients = 8
	// replicaKillAfter is how many finished orders the kill waits for.
	replicaKillAfter = 100
	// replicaRestartAfter is how many finished orders the restart waits
	// for, so that the orders between the kill and the restart run on the
	// surviving replica only.
	replicaRestartAfter = 140
	// replicaBothAgainFrom is the first order that waits for the restart,
	// so that the last orders run on both replicas again.
	replicaBothAgainFrom = 160
	// replicaLease is the --issuance-lease of both replicas. It is short so
	// that the survivor completes the killed replica's intents within the
	// test.
	replicaLease = "3s"
)

// replicaArgs are the serve flags of both replicas. The mail queue runs
// often, and the messages that the killed replica claimed come back after
// a short lease, so that the test finds every issued certificate's message
// sent.
var replicaArgs = []string{"--issuance-lease", replicaLease, "--mail-interval", "200ms", "--mail-lease", replicaLease}

// requirePostgres skips a test that needs a PostgreSQL database, such as
// one shared by two servers, when the run uses SQLite.
func requirePostgres(t *testing.T, reason string) {
	t.Helper()
	if !pgtest.Enabled() {
		t.Skipf("PostgreSQL only: %s. Run it with scripts/with-postgres go test ./e2e -run %s", reason, t.Name())
	}
}

// replica is one server process behind the replicaPool. A restart makes a
// new replica, so the counters belong to one process.
type replica struct {
	srv  *server
	down atomic.Bool
	// sent counts the requests sent to this process, the failed ones included.
	sent atomic.Int64
	// connectionErrors counts the requests that failed without an HTTP
	// response and were sent again to the other replica.
	connectionErrors atomic.Int64
}

// replicaPool sends client requests to two replicas as a load balancer
// would: a request that fails without an HTTP response goes again, with the
// same Idempotency-Key, to the other replica.
type replicaPool struct {
	key    string
	client *http.Client

	// replayedOrders counts the orders whose 201 was a replay of the stored
	// response for their Idempotency-Key.
	replayedOrders atomic.Int64
	// lostApprovals counts the orders whose one successful approval lost
	// its response with a dying replica, so both clients saw a 4xx.
	lostApprovals atomic.Int64

	mu    sync.Mutex
	slots [2]*replica
}

// maxSendAttempts bounds the attempts of one request, alternating between
// the replicas.
const maxSendAttempts = 4

// replicaAt returns the replica in slot, or the one in the other slot when
// slot's replica is down.
func (p *replicaPool) replicaAt(slot int) *replica {
	p.mu.Lock()
	defer p.mu.Unlock()
	if r := p.slots[slot]; !r.down.Load() {
		return r
	}
	return p.slots[1-slot]
}

func (p *replicaPool) replace(slot int, r *replica) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.slots[slot] = r
}

// sendResult is the outcome of one request through the pool.
type sendResult struct {
	resp *response
	// retried is true when an attempt failed without a response, so the
	// request may have taken effect on a replica that then died.
	retried bool
}

// send sends a request to the replica in slot first and, after a
// connection error, to the other replica. idempotencyKey may be empty.
func (p *replicaPool) send(first int, method, path, idempotencyKey string, body any) (sendResult, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return sendResult{}, err
	}

	var result sendResult
	var lastErr error
	slot := first
	for range maxSendAttempts {
		r := p.replicaAt(slot)
		resp, err := p.sendTo(r, method, path, idempotencyKey, raw)
		if err == nil {
			result.resp = resp
			return result, nil
		}

		r.connectionErrors.Add(1)
		result.retried = true
		lastErr = err
		slot = 1 - slot
	}
	return result, fmt.Errorf("%s %s failed on both replicas %d times: %w", method, path, maxSendAttempts, lastErr)
}

func (p *replicaPool) sendTo(r *replica, method, path, idempotencyKey string, raw []byte) (*response, error) {
	req, err := http.NewRequest(method, r.srv.URL+path, bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-DC-DEVKEY", p.key)
	req.Header.Set("Content-Type", "application/json")
	if idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", idempotencyKey)
	}

	r.sent.Add(1)
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return &response{Status: resp.StatusCode, Header: resp.Header, Body: data}, nil
}

// placedOrder is an order that a client placed and learned the ids of.
type placedOrder struct {
	orderID   int64
	requestID int64
}

// idempotencyWait bounds how long a client retries a POST whose
// Idempotency-Key another request still holds. It is far longer than one
// order placement takes on a live replica.
const idempotencyWait = 20 * time.Second

// placeOrder places order number n on a random replica. A 409
// idempotency_key_in_progress means that the first attempt still runs or
// died with its replica, so the client sends the request again until
// idempotencyWait has passed.
func (p *replicaPool) placeOrder(n int, body map[string]any, rng *rand.Rand) (placedOrder, error) {
	key := fmt.Sprintf("replicas-order-%d", n)
	deadline := time.Now().Add(idempotencyWait)
	for {
		result, err := p.send(rng.IntN(2), http.MethodPost, dsOrgPath, key, body)
		if err != nil {
			return placedOrder{}, fmt.Errorf("order %d: %w", n, err)
		}
		resp := result.resp

		if resp.Status == http.StatusConflict && bytes.Contains(resp.Body, []byte("idempotency_key_in_progress")) {
			if time.Now().After(deadline) {
				return placedOrder{}, fmt.Errorf("order %d: Idempotency-Key %q is still in progress after %s, so the replica that reserved it probably died before it stored the response: %s",
					n, key, idempotencyWait, resp.Body)
			}
			time.Sleep(100 * time.Millisecond)
			continue
		}
		if resp.Status != http.StatusCreated {
			return placedOrder{}, fmt.Errorf("order %d: place order: status %d, want 201: %s", n, resp.Status, resp.Body)
		}
		if resp.Header.Get("Idempotent-Replayed") == "true" {
			p.replayedOrders.Add(1)
		}
		return parsePlacedOrder(n, resp.Body)
	}
}

func parsePlacedOrder(n int, body []byte) (placedOrder, error) {
	var placed struct {
		ID       int64 `json:"id"`
		Requests []struct {
			ID int64 `json:"id"`
		} `json:"requests"`
	}
	if err := json.Unmarshal(body, &placed); err != nil {
		return placedOrder{}, fmt.Errorf("order %d: decode response: %w: %s", n, err, body)
	}
	if placed.ID == 0 || len(placed.Requests) != 1 {
		return placedOrder{}, fmt.Errorf("order %d: response lacks the order id or its one request: %s", n, body)
	}
	return placedOrder{orderID: placed.ID, requestID: placed.Requests[0].ID}, nil
}

// approveTwice sends two approvals of the order's request at the same
// time, one to each replica. Exactly one may succeed and the other must be
// rejected with a 4xx. When an approval failed without a response, it may
// have taken effect on the replica that died, so both may then get a 4xx.
func (p *replicaPool) approveTwice(o placedOrder) error {
	path := fmt.Sprintf("/services/v2/request/%d/status", o.requestID)
	body := map[string]any{"status": "approved"}

	var results [2]sendResult
	var sendErrs [2]error
	start := make(chan struct{})
	var wg sync.WaitGroup
	for slot := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[slot], sendErrs[slot] = p.send(slot, http.MethodPut, path, "", body)
		}()
	}
	close(start)
	wg.Wait()

	lost, err := checkApprovals(o, results, sendErrs)
	if lost {
		p.lostApprovals.Add(1)
	}
	return err
}

// checkApprovals checks the two approvals of one request and reports
// whether neither got a 204 because a response was lost.
func checkApprovals(o placedOrder, results [2]sendResult, sendErrs [2]error) (bool, error) {
	approved, retried := 0, false
	for i := range 2 {
		if sendErrs[i] != nil {
			return false, fmt.Errorf("approve request %d of order %d: %w", o.requestID, o.orderID, sendErrs[i])
		}
		resp := results[i].resp
		retried = retried || results[i].retried
		switch {
		case resp.Status == http.StatusNoContent:
			approved++
		case resp.Status < 400 || resp.Status >= 500:
			return false, fmt.Errorf("approve request %d of order %d: status %d, want 204 or a 4xx: %s", o.requestID, o.orderID, resp.Status, resp.Body)
		}
	}

	if approved > 1 {
		return false, fmt.Errorf("both approvals of request %d (order %d) succeeded, want exactly one", o.requestID, o.orderID)
	}
	if approved == 0 && !retried {
		return false, fmt.Errorf("no approval of request %d (order %d) succeeded and none failed without a response, want exactly one 204", o.requestID, o.orderID)
	}
	return approved == 0, nil
}

// replicaLoad hands out the order numbers to the client goroutines and
// records what they placed.
type replicaLoad struct {
	pool *replicaPool
	body map[string]any

	next     atomic.Int64
	finished atomic.Int64
	// killNow is closed when replicaKillAfter orders have finished, and
	// restartNow when replicaRestartAfter have.
	killNow, restartNow chan struct{}
	// restarted is closed when the killed replica is up again.
	restarted chan struct{}

	mu     sync.Mutex
	placed []placedOrder
	errors []error
}

// run places and approves orders until all replicaOrders are taken.
func (l *replicaLoad) run(rng *rand.Rand) {
	for {
		n := int(l.next.Add(1)) - 1
		if n >= replicaOrders {
			return
		}
		if n >= replicaBothAgainFrom {
			<-l.restarted
		}

		err := l.placeAndApprove(n, rng)
		if err != nil {
			l.mu.Lock()
			l.errors = append(l.errors, err)
			l.mu.Unlock()
		}

		switch l.finished.Add(1) {
		case replicaKillAfter:
			close(l.killNow)
		case replicaRestartAfter:
			close(l.restartNow)
		}
	}
}

func (l *replicaLoad) placeAndApprove(n int, rng *rand.Rand) error {
	o, err := l.pool.placeOrder(n, l.body, rng)
	if err != nil {
		return err
	}
	l.mu.Lock()
	l.placed = append(l.placed, o)
	l.mu.Unlock()
	return l.pool.approveTwice(o)
}

func TestReplicasShareOnePostgresDatabase(t *testing.T) {
	requirePostgres(t, "two servers share one database only on PostgreSQL")
	seed := uint64(time.Now().UnixNano())
	t.Logf("random seed %d", seed)

	dataDir := t.TempDir()
	first := startServerIn(t, dataDir, replicaArgs...)
	second := startServerIn(t, dataDir, replicaArgs...)
	orgID := createValidatedOrganization(t, first, first.Key, "Replicas Inc")

	pool := &replicaPool{key: first.Key, client: &http.Client{Timeout: 30 * time.Second}}
	killed := &replica{srv: first}
	survivor := &replica{srv: second}
	pool.replace(0, killed)
	pool.replace(1, survivor)

	load := &replicaLoad{
		pool: pool, body: emailOrder(orgID, csrPEM(t, testRSAKey(t))),
		killNow: make(chan struct{}), restartNow: make(chan struct{}), restarted: make(chan struct{}),
	}
	workersDone := make(chan struct{})
	var wg sync.WaitGroup
	for w := range replicaClients {
		rng := rand.New(rand.NewPCG(seed, uint64(w)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			load.run(rng)
		}()
	}
	go func() { wg.Wait(); close(workersDone) }()

	// A load balancer notices a dead replica only after requests to it
	// failed, so the replica is marked down after the kill.
	if !waitOrDone(load.killNow, workersDone) {
		t.Fatalf("the clients stopped before %d orders finished: %v", replicaKillAfter, load.errors)
	}
	killed.srv.kill()
	killed.down.Store(true)
	t.Logf("killed replica 0 after %d finished orders", load.finished.Load())

	waitOrDone(load.restartNow, workersDone)
	restarted := &replica{srv: startServerIn(t, dataDir, replicaArgs...)}
	pool.replace(0, restarted)
	close(load.restarted)
	t.Logf("restarted replica 0 after %d finished orders", load.finished.Load())
	<-workersDone

	t.Logf("the killed replica was sent %d requests, and %d of them failed without a response and went to replica 1",
		killed.sent.Load(), killed.connectionErrors.Load())
	t.Logf("replica 1 was sent %d requests and the restarted replica 0 %d. Of these, %d and %d failed without a response",
		survivor.sent.Load(), restarted.sent.Load(), survivor.connectionErrors.Load(), restarted.connectionErrors.Load())
	t.Logf("orders placed by a replayed response: %d", pool.replayedOrders.Load())
	t.Logf("approvals whose one 204 was lost with the killed replica: %d", pool.lostApprovals.Load())
	for _, err := range load.errors {
		t.Error(err)
	}
	if len(load.placed) != replicaOrders {
		t.Errorf("the clients placed %d orders, want %d", len(load.placed), replicaOrders)
	}

	waitUntilOrdersIssued(t, dataDir, load.placed)
	st := openStore(t, dataDir)
	defer st.Close()
	checkOrdersKnownToClients(t, st, load.placed)
	checkOneIssuedCertificateEach(t, st, load.placed)
	checkSerialsUnique(t, st)
	checkNoIntentSigning(t, st)
	checkApprovedOrdersIssued(t, st)
	certs := checkSignedCertificatesRecorded(t, st, nil)
	checkAuditMatchesCertificates(t, st, certs)
	checkIssuedNoticesSentOnce(t, st)
	checkNoJobRunning(t, st)
	if out := survivor.srv.cli("audit", "verify"); !strings.Contains(out, "audit log intact") {
		t.Errorf("audit verify: %s", out)
	}
}

// waitOrDone waits until ready is closed and reports true, or reports
// false when done is closed first.
func waitOrDone(ready, done <-chan struct{}) bool {
	select {
	case <-ready:
		return true
	case <-done:
		select {
		case <-ready:
			return true
		default:
			return false
		}
	}
}

// orderStatuses reads the status of every order in the database.
func orderStatuses(t *testing.T, st *store.Store) map[int64]string {
	t.Helper()
	rows, err := st.DB().Query(`SELECT id, status FROM orders`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()

	out := map[int64]string{}
	for rows.Next() {
		var id int64
		var status string
		if err := rows.Scan(&id, &status); err != nil {
			t.Fatal(err)
		}
		out[id] = status
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// waitUntilOrdersIssued waits until every placed order is issued and no
// intent is signing, or gives up after 90 s and leaves the reporting to
// the checks. An approval interrupted by the kill is finished by a
// replica's sweep: after the 3 s lease for an intent, or the 3 s grace for
// an approved order without one.
func waitUntilOrdersIssued(t *testing.T, dataDir string, placed []placedOrder) {
	t.Helper()
	st := openStore(t, dataDir)
	defer st.Close()

	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		statuses := orderStatuses(t, st)
		waiting := 0
		for _, o := range placed {
			if statuses[o.orderID] != "issued" {
				waiting++
			}
		}
		if waiting == 0 && countSigningIntents(t, st) == 0 {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("gave up waiting for issuance after 90 s")
}

// checkOrdersKnownToClients checks that every order in the database is one
// whose id a client received, and that every such order is issued.
func checkOrdersKnownToClients(t *testing.T, st *store.Store, placed []placedOrder) {
	t.Helper()
	known := map[int64]bool{}
	for _, o := range placed {
		known[o.orderID] = true
	}

	statuses := orderStatuses(t, st)
	for id, status := range statuses {
		if !known[id] {
			t.Errorf("order %d (status %s) is in the database, but no client received its id", id, status)
		}
	}
	for _, o := range placed {
		if status := statuses[o.orderID]; status != "issued" {
			t.Errorf("order %d is %q, want issued", o.orderID, status)
		}
	}
}

// checkOneIssuedCertificateEach checks that every placed order has exactly
// one issued certificate.
func checkOneIssuedCertificateEach(t *testing.T, st *store.Store, placed []placedOrder) {
	t.Helper()
	rows, err := st.DB().Query(`SELECT order_id, COUNT(*) FROM certificates WHERE status = 'issued' GROUP BY order_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()

	issued := map[int64]int{}
	for rows.Next() {
		var orderID int64
		var n int
		if err := rows.Scan(&orderID, &n); err != nil {
			t.Fatal(err)
		}
		issued[orderID] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}

	for _, o := range placed {
		if n := issued[o.orderID]; n != 1 {
			t.Errorf("order %d has %d issued certificates, want 1", o.orderID, n)
		}
	}
	checkOneCertificatePerOrder(t, st)
}

// checkSerialsUnique checks that no serial number was given to two
// certificates. RFC 5280 §4.1.2.2 requires this of the certificates of one
// CA, and the check covers all CAs.
func checkSerialsUnique(t *testing.T, st *store.Store) {
	t.Helper()
	rows, err := st.DB().Query(`SELECT serial_number, COUNT(*) FROM certificates
		WHERE serial_number IS NOT NULL GROUP BY serial_number HAVING COUNT(*) > 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var serial string
		var n int
		if err := rows.Scan(&serial, &n); err != nil {
			t.Fatal(err)
		}
		t.Errorf("serial %s is on %d certificates, want 1", serial, n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

func countSigningIntents(t *testing.T, st *store.Store) int {
	t.Helper()
	var n int
	err := st.DB().QueryRowContext(context.Background(),
		`SELECT COUNT(*) FROM issuance_intents WHERE status = '`+store.IntentSigning+`'`).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func checkNoIntentSigning(t *testing.T, st *store.Store) {
	t.Helper()
	if n := countSigningIntents(t, st); n != 0 {
		t.Errorf("%d issuance intents are still %s, want 0", n, store.IntentSigning)
	}
}

// checkIssuedNoticesSentOnce waits until the mail queue has no queued
// message. It then checks that every issued certificate has exactly one
// certificate_issued message and that it was sent. The replicas share the
// queue, so the killed replica's claims pass to the other one.
func checkIssuedNoticesSentOnce(t *testing.T, st *store.Store) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var queued int
		if err := st.DB().QueryRow(`SELECT COUNT(*) FROM notifications WHERE status = ?`, store.NotificationQueued).Scan(&queued); err != nil {
			t.Fatal(err)
		}
		if queued == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("%d messages are still queued after 60 s", queued)
			return
		}
		time.Sleep(200 * time.Millisecond)
	}

	rows, err := st.DB().Query(`SELECT c.id, COUNT(n.id), COALESCE(MIN(n.status), '')
		  FROM certificates c LEFT JOIN notifications n ON n.certificate_id = c.id AND n.kind = ?
		 WHERE c.status = 'issued' GROUP BY c.id`, store.NoticeCertificateIssued)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var certID, count int64
		var status string
		if err := rows.Scan(&certID, &count, &status); err != nil {
			t.Fatal(err)
		}
		if count != 1 || status != store.NotificationSent {
			t.Errorf("certificate %d has %d certificate_issued messages (status %q), expected one sent", certID, count, status)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

// TestReplicasStartTogether starts three replicas at once on a database
// without CAs or accounts: they create one development hierarchy and one
// bootstrap account between them, and the migrations are recorded once.
func TestReplicasStartTogether(t *testing.T) {
	requirePostgres(t, "replicas share a database only on PostgreSQL")
	dataDir := t.TempDir()
	// An operator command applies the migrations first, so that the
	// replicas do not queue on the migration lock and reach the start-up
	// work at the same moment.
	if out, err := docsignCommand(t, dataDir, "certificates", "list", "--data-dir", dataDir).CombinedOutput(); err != nil {
		t.Fatalf("certificates list: %v\n%s", err, out)
	}
	servers := []*server{
		launchServer(t, dataDir, nil),
		launchServer(t, dataDir, nil),
		launchServer(t, dataDir, nil),
	}
	for _, s := range servers {
		s.waitHealthy()
	}

	st := openStore(t, dataDir)
	defer st.Close()
	for _, tc := range []struct {
		table string
		want  int
	}{
		{"cas", 2}, // one root and one issuing CA
		{"accounts", 1},
		{"goose_db_version", 1 + len(migrationVersions(t))},
	} {
		var n int
		if err := st.DB().QueryRow(`SELECT COUNT(*) FROM ` + tc.table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != tc.want {
			t.Errorf("%s has %d rows after three replicas started together, expected %d", tc.table, n, tc.want)
		}
	}

	// Each replica issues with the one hierarchy.
	orgID := createValidatedOrganization(t, servers[0], servers[0].Key, "Together Inc")
	for i, s := range servers {
		placed := placeOrder(t, s, s.Key, emailOrder(orgID, csrPEM(t, testRSAKey(t))))
		requests, _ := placed["requests"].([]any)
		if len(requests) != 1 {
			t.Fatalf("replica %d: order without one request: %v", i, placed)
		}
		approve(t, s, s.Key, int64(requests[0].(map[string]any)["id"].(float64)))
		waitForStatus(t, s, s.Key, int64(placed["id"].(float64)), "issued")
	}
}

// migrationVersions lists the schema versions that the PostgreSQL
// migrations define.
func migrationVersions(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../internal/store/migrations/postgres/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no PostgreSQL migrations found: %v", err)
	}
	return files
}

// checkNoJobRunning checks that no issue_certificate job is still held by
// a server: every job that the killed replica claimed was claimed again
// after its lease, or closed by the issuance that completed its
// certificate.
func checkNoJobRunning(t *testing.T, st *store.Store) {
	t.Helper()
	var running, total int
	if err := st.DB().QueryRow(`SELECT COUNT(*), COALESCE(SUM(CASE WHEN status = ? THEN 1 ELSE 0 END), 0) FROM jobs`,
		store.JobRunning).Scan(&total, &running); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d issue_certificate jobs were claimed", total)
	if running != 0 {
		t.Errorf("%d of %d jobs are still running", running, total)
	}
}
