package store

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"
)

// placePaidOrder places an order of the fixture paid as p.
func (f *auditFixture) placePaidOrder(ctx context.Context, p NewPayment) (*CreatedOrder, error) {
	return f.st.CreateOrder(ctx, NewOrder{
		Order: Order{
			AccountID: f.caller.Account.ID, ContainerID: f.caller.Account.RootContainerID, OrganizationID: f.orgID,
			UserID: f.caller.User.ID, Status: OrderNeedsApproval, ProductNameID: "ds_org", ProvisioningMethod: "email",
			PublicKey: []byte("spki"), KeyType: "rsa", KeySize: 2048, SignatureHash: "sha256", CAID: f.caID,
			NotAfter: time.Now().AddDate(1, 0, 0), Details: json.RawMessage(`{}`),
		},
		RequestStatus: RequestPending,
		Payment:       &p,
	})
}

func balancePayment(amount, limit int64) NewPayment {
	return NewPayment{Method: PaymentMethodBalance, ListPriceCents: amount, AmountCents: amount, NegativeLimitCents: limit}
}

// tableRows returns the number of rows of table.
func tableRows(t *testing.T, st *Store, table string) int {
	t.Helper()
	var n int
	if err := st.DB().QueryRow(`SELECT COUNT(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestBalancePaymentLimit(t *testing.T) {
	cases := []struct {
		name      string
		deposit   int64
		price     int64
		limit     int64
		unlimited bool
		wantPaid  bool
	}{
		{"exact balance", 24900, 24900, 0, false, true},
		{"one cent short", 24899, 24900, 0, false, false},
		{"within negative limit", 10000, 24900, 14900, false, true},
		{"beyond negative limit", 10000, 24900, 14899, false, false},
		{"unlimited negative", 0, 24900, 0, true, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newAuditFixture(t)
			ctx := context.Background()
			container := f.caller.Account.RootContainerID
			if tc.deposit > 0 {
				if _, err := f.st.Deposit(ctx, container, tc.deposit, "test"); err != nil {
					t.Fatal(err)
				}
			}
			tables := []string{"orders", "requests", "certificates", "ledger_entries", "order_payments", "audit_log"}
			before := map[string]int{}
			for _, table := range tables {
				before[table] = tableRows(t, f.st, table)
			}

			p := balancePayment(tc.price, tc.limit)
			p.UnlimitedNegative = tc.unlimited
			_, err := f.placePaidOrder(ctx, p)

			balance, balanceErr := f.st.Balance(ctx, container)
			if balanceErr != nil {
				t.Fatal(balanceErr)
			}
			if tc.wantPaid {
				if err != nil {
					t.Fatalf("CreateOrder: %v", err)
				}
				if balance != tc.deposit-tc.price {
					t.Errorf("balance = %d, want %d", balance, tc.deposit-tc.price)
				}
				return
			}

			var short *InsufficientFundsError
			if !errors.As(err, &short) {
				t.Fatalf("CreateOrder error = %v, want *InsufficientFundsError", err)
			}
			if short.BalanceCents != tc.deposit || short.PriceCents != tc.price || short.LimitCents != tc.limit {
				t.Errorf("error = %+v, want balance %d, price %d, limit %d", short, tc.deposit, tc.price, tc.limit)
			}
			for _, table := range tables {
				if n := tableRows(t, f.st, table); n != before[table] {
					t.Errorf("%s has %d rows after the rejected order, want %d", table, n, before[table])
				}
			}
		})
	}
}

func TestBalanceRefundOnce(t *testing.T) {
	cases := []struct {
		name   string
		refund func(f *auditFixture, created *CreatedOrder) error
	}{
		{"request rejected", func(f *auditFixture, created *CreatedOrder) error {
			_, err := f.st.DecideRequest(context.Background(), f.caller.Account.ID, created.RequestID, f.caller.User.ID, false, "no")
			return err
		}},
		{"order canceled", func(f *auditFixture, created *CreatedOrder) error {
			return f.st.CancelOrder(context.Background(), f.caller.Account.ID, created.OrderID, "not needed")
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newAuditFixture(t)
			ctx := context.Background()
			container := f.caller.Account.RootContainerID
			if _, err := f.st.Deposit(ctx, container, 50000, "test"); err != nil {
				t.Fatal(err)
			}
			p := balancePayment(24900, 0)
			p.ListPriceCents, p.DiscountCents, p.PromoCode = 27667, 2767, "SPRING10"
			created, err := f.placePaidOrder(ctx, p)
			if err != nil {
				t.Fatal(err)
			}

			if err := tc.refund(f, created); err != nil {
				t.Fatal(err)
			}
			// A second cancel fails on the order's status and refunds nothing.
			_ = f.st.CancelOrder(ctx, f.caller.Account.ID, created.OrderID, "again")

			balance, err := f.st.Balance(ctx, container)
			if err != nil {
				t.Fatal(err)
			}
			if balance != 50000 {
				t.Errorf("balance = %d, want 50000 after the refund", balance)
			}
			entries, err := f.st.LedgerEntries(ctx, container)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 3 {
				t.Fatalf("ledger has %d entries, want credit, debit and refund: %+v", len(entries), entries)
			}
			refund := entries[2]
			if refund.Kind != LedgerRefund || refund.AmountCents != 24900 || refund.OrderID != created.OrderID {
				t.Errorf("refund entry = %+v", refund)
			}
			if refund.PromoCode != "SPRING10" || refund.DiscountCents != 2767 {
				t.Errorf("refund entry does not carry the discount: %+v", refund)
			}
			payment, err := f.st.OrderPayment(ctx, created.OrderID)
			if err != nil {
				t.Fatal(err)
			}
			if payment.Status != PaymentRefunded {
				t.Errorf("payment status = %s, want %s", payment.Status, PaymentRefunded)
			}
			expectIntact(t, f.st)
		})
	}
}

func TestCardRefundWaitsForProcessor(t *testing.T) {
	f := newAuditFixture(t)
	ctx := context.Background()
	created, err := f.placePaidOrder(ctx, NewPayment{
		Method: PaymentMethodCard, ListPriceCents: 24900, AmountCents: 24900,
		ChargeID: "ch_test_1", CardBrand: "visa", CardLastFour: "4242",
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.st.CancelOrder(ctx, f.caller.Account.ID, created.OrderID, "not needed"); err != nil {
		t.Fatal(err)
	}

	pending, err := f.st.PendingCardRefunds(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 1 || pending[0].OrderID != created.OrderID || pending[0].ChargeID != "ch_test_1" {
		t.Fatalf("pending refunds = %+v, want order %d", pending, created.OrderID)
	}
	if n := tableRows(t, f.st, "ledger_entries"); n != 0 {
		t.Errorf("a card payment wrote %d ledger entries, want 0", n)
	}

	if err := f.st.CompleteCardRefund(ctx, created.OrderID, "re_test_1"); err != nil {
		t.Fatal(err)
	}
	if err := f.st.CompleteCardRefund(ctx, created.OrderID, "re_test_2"); !errors.Is(err, ErrConflict) {
		t.Errorf("second CompleteCardRefund error = %v, want ErrConflict", err)
	}
	payment, err := f.st.OrderPayment(ctx, created.OrderID)
	if err != nil {
		t.Fatal(err)
	}
	if payment.Status != PaymentRefunded || payment.RefundID != "re_test_1" {
		t.Errorf("payment = %+v, want refunded by re_test_1", payment)
	}
}

func TestConcurrentOrdersSpendBalanceOnce(t *testing.T) {
	f := newAuditFixture(t)
	ctx := context.Background()
	if _, err := f.st.Deposit(ctx, f.caller.Account.RootContainerID, 24900, "test"); err != nil {
		t.Fatal(err)
	}

	const orders = 8
	errsOut := make([]error, orders)
	var wg sync.WaitGroup
	for i := range orders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errsOut[i] = f.placePaidOrder(ctx, balancePayment(24900, 0))
		}()
	}
	wg.Wait()

	paid := 0
	for _, err := range errsOut {
		var short *InsufficientFundsError
		switch {
		case err == nil:
			paid++
		case !errors.As(err, &short):
			t.Errorf("unexpected error: %v", err)
		}
	}
	if paid != 1 {
		t.Errorf("%d orders were paid, want exactly 1", paid)
	}
	if n := tableRows(t, f.st, "orders"); n != 1 {
		t.Errorf("%d orders stored, want 1", n)
	}
}

func TestDepositUnknownContainer(t *testing.T) {
	f := newAuditFixture(t)
	if _, err := f.st.Deposit(context.Background(), 9999, 100, "test"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Deposit error = %v, want ErrNotFound", err)
	}
	if _, err := f.st.Deposit(context.Background(), f.caller.Account.RootContainerID, 0, "test"); err == nil {
		t.Error("Deposit of 0 cents: want an error")
	}
}

func TestPromoCodeLookupIgnoresCase(t *testing.T) {
	f := newAuditFixture(t)
	ctx := context.Background()
	expires := time.Date(2027, 6, 30, 23, 59, 59, 0, time.UTC)
	if err := f.st.SavePromoCode(ctx, PromoCode{Code: "Spring10", Percent: 10, ExpiresAt: expires}); err != nil {
		t.Fatal(err)
	}
	if err := f.st.SavePromoCode(ctx, PromoCode{Code: "SPRING10", Percent: 15, ExpiresAt: expires}); err != nil {
		t.Fatalf("saving again: %v", err)
	}

	p, err := f.st.PromoCode(ctx, "spring10")
	if err != nil {
		t.Fatal(err)
	}
	if p.Code != "SPRING10" || p.Percent != 15 || !p.ExpiresAt.Equal(expires) {
		t.Errorf("promo code = %+v", p)
	}
	if _, err := f.st.PromoCode(ctx, "WINTER"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown code error = %v, want ErrNotFound", err)
	}
}

func TestSavedProfileBecomesDefault(t *testing.T) {
	f := newAuditFixture(t)
	ctx := context.Background()
	save := func(lastFour string, isDefault bool) int64 {
		created, err := f.placePaidOrder(ctx, NewPayment{
			Method: PaymentMethodCard, AmountCents: 100, ListPriceCents: 100, ChargeID: "ch_test_" + lastFour,
			SaveProfile: &PaymentProfile{ProcessorToken: "tok_test_approve_" + lastFour, CardBrand: "visa", CardLastFour: lastFour,
				ExpirationMonth: 12, ExpirationYear: 2030, CardholderName: "Ann Lee", BillingAddress: json.RawMessage(`{}`), IsDefault: isDefault},
		})
		if err != nil {
			t.Fatal(err)
		}
		payment, err := f.st.OrderPayment(ctx, created.OrderID)
		if err != nil {
			t.Fatal(err)
		}
		return payment.ProfileID
	}

	first := save("4242", true)
	second := save("4444", true)
	third := save("1881", false)

	profiles, err := f.st.PaymentProfiles(ctx, f.caller.Account.ID)
	if err != nil {
		t.Fatal(err)
	}
	defaults := map[int64]bool{}
	for _, p := range profiles {
		defaults[p.ID] = p.IsDefault
	}
	if len(profiles) != 3 || defaults[first] || !defaults[second] || defaults[third] {
		t.Errorf("defaults = %v, want only profile %d", defaults, second)
	}
	if _, err := f.st.PaymentProfile(ctx, f.caller.Account.ID+1, second); !errors.Is(err, ErrNotFound) {
		t.Errorf("another account's profile: error = %v, want ErrNotFound", err)
	}
}
