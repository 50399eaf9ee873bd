package notify

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/mail"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/notify/smtptest"
	"github.com/docsign-ca/docsign-ca/internal/store"
	"github.com/docsign-ca/docsign-ca/internal/storetest"
)

// queueFixture is a store with one client_app order whose pickup code
// e-mail is queued. The pickup e-mail needs no certificate, so the CA row
// holds a stand-in certificate.
type queueFixture struct {
	st      *store.Store
	orderID int64
	code    string
	close   func()
}

func newQueueFixture(t *testing.T, db *storetest.Database) *queueFixture {
	t.Helper()
	ctx := context.Background()
	st := db.Open(t)
	var once sync.Once
	closeStore := func() { once.Do(func() { st.Close() }) }
	t.Cleanup(closeStore)

	caller, err := st.CreateAccount(ctx, store.NewAccount{
		Name:      "Queue Tests",
		Admin:     store.User{Username: "requester", FirstName: "Rita", LastName: "Requester", Email: "rita@example.com"},
		KeyHash:   []byte("queue-key-hash"),
		KeyPrefix: "queue",
	})
	if err != nil {
		t.Fatal(err)
	}
	caID, err := st.InsertCA(ctx, store.CA{CACertID: "Q1", Role: store.CAIntermediate, CommonName: "Queue CA", CertDER: []byte("stand-in"), KeyURI: "file:/nonexistent"})
	if err != nil {
		t.Fatal(err)
	}
	created, err := st.CreateOrder(ctx, store.NewOrder{
		Order: store.Order{
			AccountID: caller.Account.ID, ContainerID: caller.Account.RootContainerID, UserID: caller.User.ID,
			Status: store.OrderPending, ProductNameID: "ds_org", ProvisioningMethod: store.ProvisioningClientApp,
			KeyType: "ecc", KeySize: 256, SignatureHash: "sha256", CAID: caID, NotAfter: time.Now().AddDate(1, 0, 0),
			Details: []byte(`{"additional_emails": ["jill@example.com"]}`),
		},
		NewOrganization: &store.Organization{
			AccountID: caller.Account.ID, ContainerID: caller.Account.RootContainerID, Name: "Example Inc", Address: "1 Main St",
			City: "Richmond", State: "VA", Zip: "23219", Country: "US", NormalizedKey: "example",
			OrganizationContact: store.Contact{FirstName: "Olga", LastName: "Contact", Email: "olga@example.com"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}

	f := &queueFixture{st: st, orderID: created.OrderID, code: "ABCD-EFGH-JKLM-NPQR-STUV-WXYZ", close: closeStore}
	if _, err := st.QueueNotification(ctx, store.Notification{
		Kind: store.NoticePickupCode, OrderID: f.orderID,
		Payload: map[string]string{"code": f.code, "expires_at": "2027-01-01T00:00:00Z"},
	}); err != nil {
		t.Fatal(err)
	}
	return f
}

// testClock is a clock that tests move by hand.
type testClock struct{ now time.Time }

func (c *testClock) Now() time.Time { return c.now }

func newWorker(st *store.Store, sender Sender, clock *testClock) *Worker {
	return &Worker{
		Store:    st,
		Sender:   sender,
		Log:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:      clock.Now,
		RetryMin: time.Minute,
		RetryMax: 10 * time.Minute,
		Composer: &Composer{Store: st, PublicURL: "https://ca.example.com", From: "docsign-ca <ca@example.com>", Now: clock.Now},
	}
}

func TestWorkerRetriesWithBackoff(t *testing.T) {
	ctx := context.Background()
	f := newQueueFixture(t, storetest.New(t, "queue.db"))
	server, err := smtptest.Start(smtptest.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	server.FailData(2)
	sender, err := NewSMTPSender("smtp://"+server.Addr+"?starttls=off", nil)
	if err != nil {
		t.Fatal(err)
	}
	clock := &testClock{now: time.Now().UTC().Truncate(time.Second)}
	w := newWorker(f.st, sender, clock)

	steps := []struct {
		name    string
		advance time.Duration
		sent    int
	}{
		{"first attempt fails", 0, 0},
		{"not due before the backoff", 59 * time.Second, 0},
		{"second attempt after 1 minute fails", time.Second, 0},
		{"not due before the doubled backoff", 119 * time.Second, 0},
		{"third attempt after 2 more minutes succeeds", time.Second, 1},
		{"nothing left", time.Hour, 0},
	}
	for _, step := range steps {
		clock.now = clock.now.Add(step.advance)
		sent, err := w.RunOnce(ctx)
		if err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if sent != step.sent {
			t.Errorf("%s: sent %d, expected %d", step.name, sent, step.sent)
		}
	}

	notices, err := f.st.NotificationsForOrder(ctx, f.orderID)
	if err != nil {
		t.Fatal(err)
	}
	n := notices[0]
	if n.Status != store.NotificationSent || n.Attempts != 3 || len(n.Payload) != 0 || n.MessageID == "" {
		t.Errorf("notification = %+v; expected sent after 3 attempts, with its payload emptied", n)
	}

	messages := server.Messages()
	if len(messages) != 1 {
		t.Fatalf("relay accepted %d messages, expected 1", len(messages))
	}
	m := messages[0]
	if strings.Join(m.To, ",") != "rita@example.com" {
		t.Errorf("pickup code sent to %v, expected the requester only", m.To)
	}
	parsed, err := mail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		t.Fatal(err)
	}
	if subject := parsed.Header.Get("Subject"); subject != "Pickup code for order 1 (Example Inc)" {
		t.Errorf("Subject = %q", subject)
	}
	body, _ := io.ReadAll(parsed.Body)
	if !strings.Contains(string(body), f.code) {
		t.Errorf("the message does not carry the code:\n%s", body)
	}
}

func TestWorkerGivesUp(t *testing.T) {
	ctx := context.Background()
	f := newQueueFixture(t, storetest.New(t, "queue.db"))
	server, err := smtptest.Start(smtptest.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	server.FailData(100)
	sender, err := NewSMTPSender("smtp://"+server.Addr+"?starttls=off", nil)
	if err != nil {
		t.Fatal(err)
	}
	clock := &testClock{now: time.Now().UTC().Truncate(time.Second)}
	w := newWorker(f.st, sender, clock)
	w.MaxAttempts = 3

	for i := 0; i < 5; i++ {
		if _, err := w.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		clock.now = clock.now.Add(time.Hour)
	}
	notices, err := f.st.NotificationsForOrder(ctx, f.orderID)
	if err != nil {
		t.Fatal(err)
	}
	n := notices[0]
	if n.Status != store.NotificationFailed || n.Attempts != 3 {
		t.Errorf("notification status %s after %d attempts, expected failed after 3", n.Status, n.Attempts)
	}
	if len(n.Payload) != 0 {
		t.Errorf("a given-up notification keeps its payload %v", n.Payload)
	}
	if !strings.Contains(n.LastError, "451") {
		t.Errorf("last error %q does not carry the relay's answer", n.LastError)
	}
}

func TestWorkerResumesAfterRestart(t *testing.T) {
	ctx := context.Background()
	db := storetest.New(t, "queue.db")
	f := newQueueFixture(t, db)
	clock := &testClock{now: time.Now().UTC().Truncate(time.Second)}

	// A worker claims the message and dies before it sends it.
	if _, err := f.st.ClaimNotifications(ctx, clock.now, DefaultLease, batchSize); err != nil {
		t.Fatal(err)
	}
	f.close()

	reopened := db.Open(t)
	outboxDir := filepath.Join(t.TempDir(), "outbox")
	w := newWorker(reopened, &Outbox{Dir: outboxDir, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, clock)

	if sent, err := w.RunOnce(ctx); err != nil || sent != 0 {
		t.Errorf("during the dead worker's lease: sent %d (%v), expected 0", sent, err)
	}
	clock.now = clock.now.Add(DefaultLease)
	if sent, err := w.RunOnce(ctx); err != nil || sent != 1 {
		t.Errorf("after the lease: sent %d (%v), expected 1", sent, err)
	}
	matches, err := filepath.Glob(filepath.Join(outboxDir, "*.eml"))
	if err != nil || len(matches) != 1 {
		t.Errorf("outbox holds %v (%v), expected one message", matches, err)
	}
}

func TestWorkerBackoff(t *testing.T) {
	w := &Worker{RetryMin: 30 * time.Second, RetryMax: time.Hour}
	expected := []time.Duration{
		30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute,
		16 * time.Minute, 32 * time.Minute, time.Hour, time.Hour,
	}
	for i, e := range expected {
		if got := w.backoff(i + 1); got != e {
			t.Errorf("backoff after %d failures = %s, expected %s", i+1, got, e)
		}
	}
}
