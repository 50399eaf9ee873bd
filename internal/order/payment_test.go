package order

import (
	"context"
	"crypto/elliptic"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/payment"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

// paymentService is a provisioning service whose orders wait for approval,
// with the processor kept for inspection.
type paymentService struct {
	*provisioningService
	processor *payment.TestProcessor
}

func newPaymentService(t *testing.T) *paymentService {
	t.Helper()
	p := newProvisioningService(t)
	processor := payment.NewTestProcessor()
	p.Payment.Processor = processor
	return &paymentService{provisioningService: p, processor: processor}
}

// testCardYear is a card expiry year two years ahead of the service clock.
func (p *paymentService) testCardYear() string { return strconv.Itoa(p.clock.Year() + 2) }

// paidBody returns an email order body that waits for approval, changed by
// mutations.
func (p *paymentService) paidBody(t *testing.T, mutations ...mutation) map[string]any {
	t.Helper()
	body := decodeTree(t, orderBody(provisioningEmail, eccCSR(t, elliptic.P256()).PEM, "")).(map[string]any)
	set("skip_approval", false)(t, body)
	for _, m := range mutations {
		m(t, body)
	}
	return body
}

// payByCard makes a body pay by card with number.
func (p *paymentService) payByCard(number string) mutation {
	return func(t testing.TB, body map[string]any) {
		t.Helper()
		body["payment_method"] = "card"
		body["credit_card"] = map[string]any{
			"number": number, "expiration_month": "12", "expiration_year": p.testCardYear(),
			"cvv": "321", "cardholder_name": "Ann Lee", "set_as_default": "0",
		}
		body["billing_address"] = map[string]any{
			"address": "360 Taylor Street", "city": "Richmond", "state": "VA", "zip": "23219", "country": "US",
		}
	}
}

// tryPlace parses and places body, returning the error of either step.
func (p *paymentService) tryPlace(t *testing.T, body map[string]any) (*PlacedOrder, error) {
	t.Helper()
	req, err := ParseDSOrg(body, p.now())
	if err != nil {
		return nil, err
	}
	return p.PlaceDSOrder(context.Background(), p.caller, req, nil)
}

func (p *paymentService) mustPlace(t *testing.T, body map[string]any) *PlacedOrder {
	t.Helper()
	placed, err := p.tryPlace(t, body)
	if err != nil {
		t.Fatalf("place order: %v", err)
	}
	return placed
}

func (p *paymentService) rowCount(t *testing.T, table string) int {
	t.Helper()
	var n int
	if err := p.st.DB().QueryRow(`SELECT COUNT(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// storedRows counts the rows that a placed order writes.
func (p *paymentService) storedRows(t *testing.T) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for _, table := range []string{"orders", "requests", "certificates", "ledger_entries", "order_payments", "payment_profiles", "audit_log"} {
		counts[table] = p.rowCount(t, table)
	}
	return counts
}

func TestBilledYears(t *testing.T) {
	now := time.Date(2026, 3, 15, 10, 0, 0, 0, time.UTC)
	end := func(days int) Validity {
		return Validity{EndDate: dateOf(now).AddDate(0, 0, days).Add(24*time.Hour - time.Second)}
	}
	cases := []struct {
		name     string
		validity Validity
		want     int
	}{
		{"one day", end(1), 1},
		{"365 days", end(365), 1},
		{"366 days", end(366), 2},
		{"two years", end(730), 2},
		{"1095 days", end(1095), 3},
	}
	for _, tc := range cases {
		if got := billedYears(tc.validity, now); got != tc.want {
			t.Errorf("%s: billedYears = %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestPromoCodeDiscount(t *testing.T) {
	p := newPaymentService(t)
	ctx := context.Background()
	save := func(code string, percent int, expires time.Time) {
		if err := p.st.SavePromoCode(ctx, store.PromoCode{Code: code, Percent: percent, ExpiresAt: expires}); err != nil {
			t.Fatal(err)
		}
	}
	save("SPRING10", 10, p.clock.Add(24*time.Hour))
	save("OLD20", 20, p.clock.Add(-time.Second))

	cases := []struct {
		name         string
		promo        string
		years        int
		wantCode     string
		wantAmount   int64
		wantDiscount int64
	}{
		{"no promo one year", "", 1, "", 24900, 0},
		{"no promo three years", "", 3, "", 74700, 0},
		{"ten percent", "spring10", 1, "", 22410, 2490},
		{"ten percent three years", "SPRING10", 3, "", 67230, 7470},
		{"expired code", "OLD20", 1, "invalid_value:promo_code", 0, 0},
		{"unknown code", "WINTER", 1, "invalid_value:promo_code", 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := p.paidBody(t, set("promo_code", tc.promo), set("order_validity.years", tc.years))
			placed, err := p.tryPlace(t, body)
			if tc.wantCode != "" {
				if got := problemCodes(t, err); !slices.Equal(got, []string{tc.wantCode}) {
					t.Fatalf("codes = %q, want %q", got, tc.wantCode)
				}
				if !strings.Contains(problemText(err), tc.promo) {
					t.Errorf("message does not name the code %q: %s", tc.promo, problemText(err))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			paid, err := p.st.OrderPayment(ctx, placed.OrderID)
			if err != nil {
				t.Fatal(err)
			}
			if paid.AmountCents != tc.wantAmount || paid.DiscountCents != tc.wantDiscount {
				t.Errorf("paid %d with discount %d, want %d with %d", paid.AmountCents, paid.DiscountCents, tc.wantAmount, tc.wantDiscount)
			}
			entries, err := p.st.LedgerEntries(ctx, p.caller.Account.RootContainerID)
			if err != nil {
				t.Fatal(err)
			}
			last := entries[len(entries)-1]
			if last.Kind != store.LedgerDebit || last.AmountCents != -tc.wantAmount || last.DiscountCents != tc.wantDiscount {
				t.Errorf("ledger debit = %+v, want %d with discount %d", last, -tc.wantAmount, tc.wantDiscount)
			}
			if tc.promo != "" && last.PromoCode != "SPRING10" {
				t.Errorf("ledger promo code = %q, want SPRING10", last.PromoCode)
			}
		})
	}
}

func TestCardDeclineStoresNothing(t *testing.T) {
	cases := []struct {
		number   string
		wantCode string
	}{
		{"4000 0000 0000 0002", "card_declined"},
		{"4000 0000 0000 9995", "card_declined|insufficient_funds"},
		{"4012 8888 8888 1882", ""}, // fails the Luhn check before any charge
		{"4532 0151 1283 0366", "card_declined"},
	}
	for _, tc := range cases {
		t.Run(tc.number, func(t *testing.T) {
			p := newPaymentService(t)
			before := p.storedRows(t)

			_, err := p.tryPlace(t, p.paidBody(t, p.payByCard(tc.number)))
			want := tc.wantCode
			if want == "" {
				want = "invalid_value:credit_card.number"
			}
			if got := problemCodes(t, err); !slices.Equal(got, []string{want}) {
				t.Fatalf("codes = %q, want %q (%s)", got, want, problemText(err))
			}
			digits := strings.ReplaceAll(tc.number, " ", "")
			if text := problemText(err); strings.Contains(text, digits) || strings.Contains(text, "321") {
				t.Errorf("message shows the card number or CVV: %s", text)
			}
			for table, n := range p.storedRows(t) {
				if n != before[table] {
					t.Errorf("%s has %d rows after the decline, want %d", table, n, before[table])
				}
			}
		})
	}
}

func TestInsufficientFundsStoresNothing(t *testing.T) {
	p := newPaymentService(t)
	ctx := context.Background()
	p.Payment.UnlimitedNegative = false
	p.Payment.NegativeLimitCents = 1000
	if _, err := p.st.Deposit(ctx, p.caller.Account.RootContainerID, 24000, "test"); err != nil {
		t.Fatal(err)
	}

	p.mustPlace(t, p.paidBody(t))
	before := p.storedRows(t)

	_, err := p.tryPlace(t, p.paidBody(t))
	if got := problemCodes(t, err); !slices.Equal(got, []string{"insufficient_funds"}) {
		t.Fatalf("codes = %q, want insufficient_funds", got)
	}
	for _, fact := range []string{"-9.00", "249.00", "10.00"} {
		if !strings.Contains(problemText(err), fact) {
			t.Errorf("message does not state %s (balance, price and limit): %s", fact, problemText(err))
		}
	}
	for table, n := range p.storedRows(t) {
		if n != before[table] {
			t.Errorf("%s has %d rows after the rejection, want %d", table, n, before[table])
		}
	}
}

func TestRefundOnRejectAndCancel(t *testing.T) {
	cases := []struct {
		name   string
		card   bool
		reject bool
	}{
		{"balance rejected", false, true},
		{"balance canceled", false, false},
		{"card rejected", true, true},
		{"card canceled", true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newPaymentService(t)
			ctx := context.Background()
			container := p.caller.Account.RootContainerID
			body := p.paidBody(t)
			if tc.card {
				body = p.paidBody(t, p.payByCard("4242 4242 4242 4242"))
			}
			placed := p.mustPlace(t, body)

			var err error
			if tc.reject {
				err = p.DecideRequest(ctx, p.caller, placed.RequestID, false, "not needed")
			} else {
				err = p.UpdateOrderStatus(ctx, p.caller, placed.OrderID, "canceled", "not needed")
			}
			if err != nil {
				t.Fatal(err)
			}
			// A second cancel is rejected by the order's status and refunds nothing more.
			_ = p.UpdateOrderStatus(ctx, p.caller, placed.OrderID, "canceled", "again")

			paid, err := p.st.OrderPayment(ctx, placed.OrderID)
			if err != nil {
				t.Fatal(err)
			}
			if paid.Status != store.PaymentRefunded {
				t.Errorf("payment status = %s, want refunded", paid.Status)
			}
			balance, err := p.st.Balance(ctx, container)
			if err != nil {
				t.Fatal(err)
			}
			if balance != 0 {
				t.Errorf("balance = %d after the refund, want 0", balance)
			}

			refunds := p.processor.Refunds()
			if !tc.card {
				if len(refunds) != 0 {
					t.Errorf("processor refunds = %+v for a balance payment, want none", refunds)
				}
				return
			}
			if len(refunds) != 1 || refunds[0].ChargeID != paid.ChargeID || refunds[0].AmountCents != 24900 {
				t.Errorf("processor refunds = %+v, want one of 24900 cents for %s", refunds, paid.ChargeID)
			}
			if paid.RefundID != refunds[0].RefundID {
				t.Errorf("recorded refund id = %q, want %q", paid.RefundID, refunds[0].RefundID)
			}
		})
	}
}

func TestChargeRefundedWhenOrderFails(t *testing.T) {
	p := newPaymentService(t)
	// The trigger makes the order transaction fail after the charge.
	statements := []string{`CREATE TRIGGER fail_payments BEFORE INSERT ON order_payments
		BEGIN SELECT RAISE(ABORT, 'injected failure'); END`}
	if p.st.Postgres() {
		statements = []string{
			`CREATE FUNCTION fail_payments() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END; $$ LANGUAGE plpgsql`,
			`CREATE TRIGGER fail_payments BEFORE INSERT ON order_payments FOR EACH ROW EXECUTE FUNCTION fail_payments()`,
		}
	}
	for _, statement := range statements {
		if _, err := p.st.DB().Exec(statement); err != nil {
			t.Fatal(err)
		}
	}
	before := p.storedRows(t)

	_, err := p.tryPlace(t, p.paidBody(t, p.payByCard("4242 4242 4242 4242")))
	if err == nil {
		t.Fatal("order stored despite the failing transaction")
	}
	refunds := p.processor.Refunds()
	if len(refunds) != 1 || refunds[0].AmountCents != 24900 {
		t.Errorf("processor refunds = %+v, want one of 24900 cents", refunds)
	}
	for table, n := range p.storedRows(t) {
		if n != before[table] {
			t.Errorf("%s has %d rows after the failed order, want %d", table, n, before[table])
		}
	}
}

func TestProfilePayment(t *testing.T) {
	p := newPaymentService(t)
	ctx := context.Background()

	_, err := p.tryPlace(t, p.paidBody(t, set("payment_method", "profile")))
	if got := problemCodes(t, err); !slices.Equal(got, []string{"invalid_value:payment_method"}) {
		t.Fatalf("profile without a saved card: codes = %q, want invalid_value:payment_method", got)
	}

	saving := p.paidBody(t, p.payByCard("5555 5555 5555 4444"), set("credit_card.save_credit_card", true))
	p.mustPlace(t, saving)
	profiles, err := p.st.PaymentProfiles(ctx, p.caller.Account.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(profiles) != 1 {
		t.Fatalf("saved profiles = %d, want 1", len(profiles))
	}
	saved := profiles[0]
	if saved.CardBrand != "mastercard" || saved.CardLastFour != "4444" || strings.Contains(saved.ProcessorToken, "5555") {
		t.Errorf("profile = %+v, want a mastercard ending in 4444 with a token free of card digits", saved)
	}

	cases := []struct {
		name     string
		profile  any
		wantCode string
	}{
		{"default profile", nil, ""},
		{"profile by id", map[string]any{"id": saved.ID}, ""},
		{"unknown profile id", map[string]any{"id": saved.ID + 100}, "invalid_value:payment_profile.id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := p.paidBody(t, set("payment_method", "profile"))
			if tc.profile != nil {
				body["payment_profile"] = tc.profile
			}
			placed, err := p.tryPlace(t, body)
			if tc.wantCode != "" {
				if got := problemCodes(t, err); !slices.Equal(got, []string{tc.wantCode}) {
					t.Fatalf("codes = %q, want %q", got, tc.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			paid, err := p.st.OrderPayment(ctx, placed.OrderID)
			if err != nil {
				t.Fatal(err)
			}
			if paid.Method != store.PaymentMethodProfile || paid.ProfileID != saved.ID || paid.ChargeID == "" {
				t.Errorf("payment = %+v, want a charge of profile %d", paid, saved.ID)
			}
		})
	}
}
