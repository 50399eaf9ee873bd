package store

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"
)

// benchFixture is a store on a temporary SQLite file with one account, one
// organization and one CA, the rows every order refers to.
type benchFixture struct {
	st     *Store
	caller *Caller
	orgID  int64
	caID   int64
}

func newBenchFixture(tb testing.TB) *benchFixture {
	tb.Helper()
	ctx := context.Background()
	st := openTestStore(tb, "bench.db")

	caller, err := st.CreateAccount(ctx, NewAccount{
		Name:      "Bench Tenant",
		Admin:     User{Username: "bench", FirstName: "Bench", LastName: "Administrator", Email: "bench@example.com"},
		KeyHash:   []byte("bench"),
		KeyPrefix: "bench",
	})
	if err != nil {
		tb.Fatal(err)
	}
	org, _, err := st.CreateOrganization(ctx, Organization{
		AccountID: caller.Account.ID, ContainerID: caller.Account.RootContainerID, Name: "Bench Example Inc",
		Address: "1 Main St", City: "Richmond", State: "Virginia", Zip: "23219", Country: "US", NormalizedKey: "bench example inc",
	}, true)
	if err != nil {
		tb.Fatal(err)
	}
	caID, err := st.InsertCA(ctx, CA{CACertID: "BENCHCA", Role: CAIntermediate, CommonName: "Bench CA", CertDER: []byte{0}, KeyURI: "file:unused"})
	if err != nil {
		tb.Fatal(err)
	}
	return &benchFixture{st: st, caller: caller, orgID: org.ID, caID: caID}
}

// newOrder is a ds_org order waiting for approval, with a request and a
// public key, as the order workflow writes it for an email order.
func (f *benchFixture) newOrder() NewOrder {
	details, _ := json.Marshal(map[string]any{
		"usages":         []string{"document_signing", "ms_document_signing", "adobe_authentic_documents_trust"},
		"payment_method": "balance",
		"validity":       map[string]any{"years": 1},
	})
	return NewOrder{
		Order: Order{
			AccountID: f.caller.Account.ID, ContainerID: f.caller.Account.RootContainerID, OrganizationID: f.orgID,
			UserID: f.caller.User.ID, Status: OrderNeedsApproval, ProductNameID: "ds_org", ProvisioningMethod: "email",
			CSRPEM: "-----BEGIN CERTIFICATE REQUEST-----\n-----END CERTIFICATE REQUEST-----\n", PublicKey: make([]byte, 294),
			KeyType: "rsa", KeySize: 2048, SignatureHash: "sha256", CAID: f.caID,
			NotAfter: time.Now().AddDate(1, 0, 0), Details: details,
		},
		RequestStatus: RequestPending,
	}
}

// BenchmarkCreateOrder measures one CreateOrder transaction (order, status
// change, certificate placeholder and request) with a durable commit
// (synchronous=FULL), so the result depends on the disk's fsync latency.
// The serial case pays one commit per order. The parallel case, with 16
// goroutines per GOMAXPROCS, shows group commit: orders that wait together
// share a commit.
func BenchmarkCreateOrder(b *testing.B) {
	f := newBenchFixture(b)
	ctx := context.Background()
	in := f.newOrder()

	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			if _, err := f.st.CreateOrder(ctx, in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.SetParallelism(16)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := f.st.CreateOrder(ctx, in); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkDecideRequest measures approving a pending request: reading it,
// updating it and moving its order to pending, in one durable transaction.
// The orders are created before the timer starts.
func BenchmarkDecideRequest(b *testing.B) {
	f := newBenchFixture(b)
	ctx := context.Background()

	var requestIDs []int64
	next := 0
	for b.Loop() {
		if next == len(requestIDs) {
			b.StopTimer()
			requestIDs = f.createPendingRequests(b, 256)
			next = 0
			b.StartTimer()
		}
		_, err := f.st.DecideRequest(ctx, f.caller.Account.ID, requestIDs[next], f.caller.User.ID, true, "")
		if err != nil {
			b.Fatal(err)
		}
		next++
	}
}

func (f *benchFixture) createPendingRequests(tb testing.TB, n int) []int64 {
	tb.Helper()
	ids := make([]int64, 0, n)
	for range n {
		created, err := f.st.CreateOrder(context.Background(), f.newOrder())
		if err != nil {
			tb.Fatal(err)
		}
		ids = append(ids, created.RequestID)
	}
	return ids
}

func TestTransactionHookReportsOutcome(t *testing.T) {
	f := newBenchFixture(t)
	ctx := context.Background()

	type call struct {
		wait, elapsed time.Duration
		err           error
	}
	var calls []call
	f.st.SetTransactionHook(func(wait, elapsed time.Duration, err error) {
		calls = append(calls, call{wait, elapsed, err})
	})

	created, err := f.st.CreateOrder(ctx, f.newOrder())
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.st.DecideRequest(ctx, f.caller.Account.ID, created.RequestID+1000, f.caller.User.ID, true, "")
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("DecideRequest of a missing request: %v, expected ErrNotFound", err)
	}

	if len(calls) != 2 {
		t.Fatalf("hook called %d times, expected 2 (a commit and a rollback)", len(calls))
	}
	if calls[0].err != nil {
		t.Errorf("CreateOrder: hook error = %v, expected nil for a commit", calls[0].err)
	}
	if calls[0].elapsed <= 0 {
		t.Errorf("CreateOrder: hook elapsed = %v, expected a positive duration", calls[0].elapsed)
	}
	if !errors.Is(calls[1].err, ErrNotFound) {
		t.Errorf("DecideRequest: hook error = %v, expected the transaction's ErrNotFound", calls[1].err)
	}
}
