package api

import (
	"fmt"
	"testing"
	"time"
)

func TestPickupGuardLocksOutAddress(t *testing.T) {
	var g pickupGuard
	start := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

	// The window starts at the first failure.
	for i := 0; i < pickupMaxFailures-1; i++ {
		g.fail("192.0.2.1", start.Add(time.Duration(i)*time.Second))
	}
	if wait := g.lockedFor("192.0.2.1", start.Add(time.Minute)); wait != 0 {
		t.Fatalf("locked out after %d failures, expected a lockout only at %d", pickupMaxFailures-1, pickupMaxFailures)
	}
	g.fail("192.0.2.1", start.Add(time.Minute))

	cases := []struct {
		name     string
		addr     string
		at       time.Time
		expected time.Duration
	}{
		{"right after the last failure", "192.0.2.1", start.Add(time.Minute), pickupFailureWindow - time.Minute},
		{"another address", "192.0.2.2", start.Add(time.Minute), 0},
		{"just before the window ends", "192.0.2.1", start.Add(pickupFailureWindow - time.Second), time.Second},
		{"when the window ends", "192.0.2.1", start.Add(pickupFailureWindow), 0},
	}
	for _, tc := range cases {
		if got := g.lockedFor(tc.addr, tc.at); got != tc.expected {
			t.Errorf("%s: locked for %s, expected %s", tc.name, got, tc.expected)
		}
	}

	// A failure after the window starts a new count.
	g.fail("192.0.2.1", start.Add(pickupFailureWindow+time.Second))
	if wait := g.lockedFor("192.0.2.1", start.Add(pickupFailureWindow+2*time.Second)); wait != 0 {
		t.Errorf("locked for %s after one failure in a new window", wait)
	}
}

func TestPickupGuardStaysBounded(t *testing.T) {
	var g pickupGuard
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for i := 0; i < pickupMaxAddresses+10; i++ {
		g.fail(fmt.Sprintf("address-%d", i), now)
	}
	if n := len(g.failures); n > pickupMaxAddresses {
		t.Errorf("the guard tracks %d addresses, more than the limit of %d", n, pickupMaxAddresses)
	}
}
