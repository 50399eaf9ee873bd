package store

import (
	"context"
	"errors"
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
