package store

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// readyOrder places an email order that is ready for issuance: pending,
// with key material, and unchanged for longer than readyGrace.
func (f *provisioningFixture) readyOrder(t *testing.T) int64 {
	t.Helper()
	id := f.placeOrder(t, "email", OrderPending, 0)
	f.backdate(t, id)
	return id
}

// backdate gives the order key material and moves its last change before
// readyGrace.
func (f *provisioningFixture) backdate(t *testing.T, orderID int64) {
	t.Helper()
	if _, err := f.st.DB().Exec(`UPDATE orders SET public_key = ?, updated_at = ? WHERE id = ?`,
		[]byte("public key"), formatTime(now().Add(-2*readyGrace)), orderID); err != nil {
		t.Fatal(err)
	}
}

func (f *provisioningFixture) claimedOrders(t *testing.T) []int64 {
	t.Helper()
	claimed, err := f.st.ClaimReadyOrders(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]int64, 0, len(claimed))
	for _, c := range claimed {
		ids = append(ids, c.OrderID)
	}
	return ids
}

func (f *provisioningFixture) expireJobLeases(t *testing.T) {
	t.Helper()
	if _, err := f.st.DB().Exec(`UPDATE jobs SET lease_until = ?`, formatTime(now().Add(-time.Second))); err != nil {
		t.Fatal(err)
	}
}

func TestClaimReadyOrders(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name string
		// run claims once, changes the jobs, and returns what a second
		// claim should find.
		run          func(t *testing.T, f *provisioningFixture, orderID, certificateID int64) (wantSecond bool)
		wantStatus   string
		wantAttempts int
	}{
		{
			name:       "running lease keeps the order",
			run:        func(*testing.T, *provisioningFixture, int64, int64) bool { return false },
			wantStatus: JobRunning, wantAttempts: 1,
		},
		{
			name: "ended lease lets another server claim it",
			run: func(t *testing.T, f *provisioningFixture, _, _ int64) bool {
				f.expireJobLeases(t)
				return true
			},
			wantStatus: JobRunning, wantAttempts: 2,
		},
		{
			name: "released job is claimed at once",
			run: func(t *testing.T, f *provisioningFixture, _, _ int64) bool {
				if err := f.st.ReleaseRunningJobs(ctx); err != nil {
					t.Fatal(err)
				}
				return true
			},
			wantStatus: JobRunning, wantAttempts: 2,
		},
		{
			name: "done job is not claimed again",
			run: func(t *testing.T, f *provisioningFixture, _, certificateID int64) bool {
				if err := f.st.FinishJob(ctx, JobIssueCertificate, certificateID, nil); err != nil {
					t.Fatal(err)
				}
				f.expireJobLeases(t)
				return false
			},
			wantStatus: JobDone, wantAttempts: 1,
		},
		{
			name: "failed job is claimed again while the order is ready",
			run: func(t *testing.T, f *provisioningFixture, _, certificateID int64) bool {
				if err := f.st.FinishJob(ctx, JobIssueCertificate, certificateID, errors.New("token unplugged")); err != nil {
					t.Fatal(err)
				}
				return true
			},
			wantStatus: JobRunning, wantAttempts: 2,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newProvisioningFixture(t, true)
			orderID := f.readyOrder(t)
			claimed, err := f.st.ClaimReadyOrders(ctx, 100)
			if err != nil {
				t.Fatal(err)
			}
			if len(claimed) != 1 || claimed[0].OrderID != orderID {
				t.Fatalf("first claim = %+v, expected order %d", claimed, orderID)
			}
			certificateID := claimed[0].CertificateID

			wantSecond := tc.run(t, f, orderID, certificateID)
			second := f.claimedOrders(t)
			if got := len(second) == 1; got != wantSecond {
				t.Errorf("second claim = %v, expected the order claimed: %v", second, wantSecond)
			}
			job, err := f.st.JobByRef(ctx, JobIssueCertificate, certificateID)
			if err != nil {
				t.Fatal(err)
			}
			if job.Status != tc.wantStatus || job.Attempts != tc.wantAttempts {
				t.Errorf("job = %s after %d attempts, expected %s after %d", job.Status, job.Attempts, tc.wantStatus, tc.wantAttempts)
			}
		})
	}
}

func TestClaimReadyOrdersSkipsOrdersNotReady(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T, f *provisioningFixture) int64
	}{
		{"changed within the grace", func(t *testing.T, f *provisioningFixture) int64 {
			id := f.placeOrder(t, "email", OrderPending, 0)
			f.backdate(t, id)
			if _, err := f.st.DB().Exec(`UPDATE orders SET updated_at = ? WHERE id = ?`, formatTime(now()), id); err != nil {
				t.Fatal(err)
			}
			return id
		}},
		{"waiting for approval", func(t *testing.T, f *provisioningFixture) int64 {
			id := f.placeOrder(t, "email", OrderNeedsApproval, 0)
			f.backdate(t, id)
			return id
		}},
		{"without key material", func(t *testing.T, f *provisioningFixture) int64 {
			return f.placeOrder(t, "email", OrderPending, 0)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newProvisioningFixture(t, true)
			tc.setup(t, f)
			if got := f.claimedOrders(t); len(got) != 0 {
				t.Errorf("claimed %v, expected nothing", got)
			}
		})
	}
}

// TestClaimReadyOrdersConcurrently has four claimers race for ten ready
// orders: every order is claimed exactly once.
func TestClaimReadyOrdersConcurrently(t *testing.T) {
	f := newProvisioningFixture(t, true)
	want := map[int64]bool{}
	for range 10 {
		want[f.readyOrder(t)] = true
	}

	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			claimed, err := f.st.ClaimReadyOrders(context.Background(), 3)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, c := range claimed {
				seen[c.OrderID]++
			}
		}()
	}
	wg.Wait()

	for id, n := range seen {
		if n != 1 || !want[id] {
			t.Errorf("order %d claimed %d times (placed here: %v)", id, n, want[id])
		}
	}
	if len(seen) != 10 {
		t.Errorf("%d orders claimed by 4 claimers of 3, expected 10", len(seen))
	}
}
