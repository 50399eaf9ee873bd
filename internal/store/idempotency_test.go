package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestIdempotencyReservation(t *testing.T) {
	ctx := context.Background()
	st := openTestStore(t, "idempotency.db")
	caller, err := st.CreateAccount(ctx, NewAccount{
		Name:    "Idempotency Tenant",
		Admin:   User{Username: "idem-admin", FirstName: "Idem", LastName: "Admin", Email: "idem@example.com"},
		KeyHash: []byte("hash-of-idempotency-key"), KeyPrefix: "idem-key",
	})
	if err != nil {
		t.Fatal(err)
	}
	account := caller.Account.ID
	hash := []byte("request-hash")

	cases := []struct {
		name     string
		key      string
		age      time.Duration // age of the reservation before the retry
		complete bool
		wantErr  error
		wantBody string
	}{
		{name: "running reservation", key: "k-running", age: 0, wantErr: ErrIdempotencyInProgress},
		{name: "reservation within the lease", key: "k-young", age: IdempotencyReservationLease - 2*time.Second, wantErr: ErrIdempotencyInProgress},
		{name: "reservation past the lease is taken over", key: "k-stale", age: IdempotencyReservationLease + time.Second},
		{name: "finished request replays", key: "k-done", age: time.Hour, complete: true, wantBody: "first answer"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := st.ReserveIdempotencyKey(ctx, account, tc.key, hash); err != nil {
				t.Fatalf("first reservation: %v", err)
			}
			if tc.complete {
				if err := st.CompleteIdempotencyKey(ctx, account, tc.key, StoredResponse{Status: 201, ContentType: "application/json", Body: []byte("first answer")}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := st.DB().Exec(`UPDATE idempotency_keys SET created_at = ? WHERE account_id = ? AND key = ?`,
				formatTime(now().Add(-tc.age)), account, tc.key); err != nil {
				t.Fatal(err)
			}

			stored, err := st.ReserveIdempotencyKey(ctx, account, tc.key, hash)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("retry: err = %v, expected %v", err, tc.wantErr)
			}
			if tc.wantBody == "" && stored != nil {
				t.Errorf("retry replayed %q, expected to run the request", stored.Body)
			}
			if tc.wantBody != "" && (stored == nil || string(stored.Body) != tc.wantBody) {
				t.Errorf("retry = %+v, expected the stored answer %q", stored, tc.wantBody)
			}
		})
	}
}

// TestIdempotencyKeyNamesOrphanedOrder checks that a key whose request
// placed an order before its server died is not taken over: the retry
// learns the order instead of placing a second one.
func TestIdempotencyKeyNamesOrphanedOrder(t *testing.T) {
	ctx := context.Background()
	f := newProvisioningFixture(t, true)
	account := f.caller.Account.ID
	hash := []byte("request-hash")

	cases := []struct {
		name      string
		linked    bool
		wantOrder bool
	}{
		{"order placed under the key", true, true},
		{"order placed without the key", false, false},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			key := fmt.Sprintf("orphan-%d", i)
			if _, err := f.st.ReserveIdempotencyKey(ctx, account, key, hash); err != nil {
				t.Fatal(err)
			}
			placeCtx := ctx
			if tc.linked {
				placeCtx = WithIdempotencyKey(ctx, account, key)
			}
			created, err := f.st.CreateOrder(placeCtx, NewOrder{Order: Order{
				AccountID: account, ContainerID: f.caller.Account.RootContainerID, OrganizationID: f.orgID,
				UserID: f.caller.User.ID, Status: OrderNeedsApproval, ProductNameID: "ds_org", ProvisioningMethod: "email",
				KeyType: "ecc", KeySize: 256, SignatureHash: "sha256", CAID: f.caID, NotAfter: time.Now().AddDate(1, 0, 0),
				Details: []byte("{}"),
			}})
			if err != nil {
				t.Fatal(err)
			}
			// The server dies here: the response is never stored.
			if _, err := f.st.DB().Exec(`UPDATE idempotency_keys SET created_at = ? WHERE account_id = ? AND key = ?`,
				formatTime(now().Add(-IdempotencyReservationLease-time.Second)), account, key); err != nil {
				t.Fatal(err)
			}

			_, err = f.st.ReserveIdempotencyKey(ctx, account, key, hash)
			var orphan *OrphanedOrderError
			if got := errors.As(err, &orphan); got != tc.wantOrder {
				t.Fatalf("retry: err = %v, expected an OrphanedOrderError: %v", err, tc.wantOrder)
			}
			if tc.wantOrder && orphan.OrderID != created.OrderID {
				t.Errorf("orphaned order %d, expected %d", orphan.OrderID, created.OrderID)
			}
		})
	}
}
