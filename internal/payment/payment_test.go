package payment

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestParseAmount(t *testing.T) {
	cases := []struct {
		text    string
		want    int64
		wantErr bool
	}{
		{"249.00", 24900, false},
		{"249", 24900, false},
		{"249.5", 24950, false},
		{" 0.01 ", 1, false},
		{"1000000000.00", 100_000_000_000, false},
		{"1000000000.01", 0, true},
		{"12.345", 0, true},
		{"-5.00", 0, true},
		{"5.", 0, true},
		{".50", 0, true},
		{"1,000.00", 0, true},
		{"", 0, true},
		{"9999999999999", 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.text, func(t *testing.T) {
			got, err := ParseAmount(tc.text)
			if (err != nil) != tc.wantErr {
				t.Fatalf("ParseAmount(%q) error = %v, want error %v", tc.text, err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("ParseAmount(%q) = %d, want %d", tc.text, got, tc.want)
			}
		})
	}
}

func TestFormatAmount(t *testing.T) {
	cases := map[int64]string{0: "0.00", 1: "0.01", 24900: "249.00", -24950: "-249.50", 100_000: "1000.00"}
	for cents, want := range cases {
		if got := FormatAmount(cents); got != want {
			t.Errorf("FormatAmount(%d) = %q, want %q", cents, got, want)
		}
	}
}

func TestDiscountRoundsHalfUp(t *testing.T) {
	cases := []struct {
		amount  int64
		percent int
		want    int64
	}{
		{24900, 10, 2490},
		{24900, 100, 24900},
		{24900, 0, 0},
		{999, 15, 150}, // 149.85 cents
		{1001, 5, 50},  // 50.05 cents
	}
	for _, tc := range cases {
		if got := Discount(tc.amount, tc.percent); got != tc.want {
			t.Errorf("Discount(%d, %d) = %d, want %d", tc.amount, tc.percent, got, tc.want)
		}
	}
}

func TestTestProcessorCharge(t *testing.T) {
	cases := []struct {
		name       string
		number     string
		wantReason string
	}{
		{"visa approves", "4242424242424242", ""},
		{"mastercard approves", "5555555555554444", ""},
		{"decline card", "4000000000000002", DeclineCardDeclined},
		{"insufficient funds card", "4000000000009995", DeclineInsufficientFunds},
		{"unknown number declines", "4012888888881882", DeclineCardDeclined},
	}
	p := NewTestProcessor()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			card := &CardDetails{Number: tc.number, CVV: "123", ExpirationMonth: 12, ExpirationYear: 2030, CardholderName: "Ann Lee"}
			receipt, err := p.Charge(context.Background(), Charge{AmountCents: 24900, Currency: Currency, Card: card})

			decline := AsDecline(err)
			if tc.wantReason == "" {
				if err != nil {
					t.Fatalf("Charge: %v", err)
				}
				if !strings.HasPrefix(receipt.ChargeID, testChargePrefix) || receipt.AmountCents != 24900 {
					t.Errorf("receipt = %+v", receipt)
				}
				return
			}
			if decline == nil {
				t.Fatalf("Charge error = %v, want a decline", err)
			}
			if decline.Reason != tc.wantReason {
				t.Errorf("decline reason = %q, want %q", decline.Reason, tc.wantReason)
			}
			if strings.Contains(decline.Error(), tc.number) {
				t.Errorf("decline message contains the card number: %s", decline.Error())
			}
		})
	}
}

func TestTestProcessorTokenKeepsOutcome(t *testing.T) {
	p := NewTestProcessor()
	ctx := context.Background()
	cases := []struct {
		number       string
		wantDeclined bool
	}{
		{"4242424242424242", false},
		{"4000000000009995", true},
	}
	for _, tc := range cases {
		// A declined card yields no token, so build the token as the
		// processor would have for it, to check that the outcome travels.
		token := testTokenPrefix + testCards[tc.number] + "_0123"
		if !tc.wantDeclined {
			receipt, err := p.Charge(ctx, Charge{AmountCents: 100, Card: &CardDetails{Number: tc.number}, SaveCard: true})
			if err != nil {
				t.Fatalf("charge to save %s: %v", tc.number, err)
			}
			token = receipt.Token
		}
		if strings.Contains(token, tc.number) || strings.Contains(token, tc.number[len(tc.number)-4:]) {
			t.Errorf("token %q contains card digits", token)
		}

		_, err := p.Charge(ctx, Charge{AmountCents: 100, Token: token})
		if declined := AsDecline(err) != nil; declined != tc.wantDeclined {
			t.Errorf("charge with token of %s: declined = %v, want %v (error %v)", tc.number, declined, tc.wantDeclined, err)
		}
	}
}

func TestTestProcessorRefundOnce(t *testing.T) {
	p := NewTestProcessor()
	ctx := context.Background()
	receipt, err := p.Charge(ctx, Charge{AmountCents: 500, Card: &CardDetails{Number: "4242424242424242"}})
	if err != nil {
		t.Fatal(err)
	}

	first, err := p.Refund(ctx, receipt.ChargeID, 500)
	if err != nil {
		t.Fatalf("first refund: %v", err)
	}
	second, err := p.Refund(ctx, receipt.ChargeID, 500)
	if err != nil {
		t.Fatalf("second refund: %v", err)
	}
	if first != second {
		t.Errorf("second refund = %+v, want the first %+v", second, first)
	}
	if n := len(p.Refunds()); n != 1 {
		t.Errorf("refunds recorded = %d, want 1", n)
	}

	if _, err := p.Refund(ctx, receipt.ChargeID+"x", 501); err != nil {
		t.Errorf("refund of a test charge made before a restart: %v, want success", err)
	}
}

func TestTestProcessorRefundLimits(t *testing.T) {
	p := NewTestProcessor()
	ctx := context.Background()
	receipt, err := p.Charge(ctx, Charge{AmountCents: 500, Card: &CardDetails{Number: "4242424242424242"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Refund(ctx, receipt.ChargeID, 501); err == nil {
		t.Error("refund above the charge: want an error")
	}
	if _, err := p.Refund(ctx, "ch_live_123", 1); err == nil {
		t.Error("refund of a charge the test processor did not make: want an error")
	}
}

func TestCardDetailsHidesSecrets(t *testing.T) {
	card := CardDetails{Number: "4242424242424242", CVV: "987", ExpirationMonth: 1, ExpirationYear: 2030, CardholderName: "Ann Lee"}

	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("charge", "card", card, "pointer", &card)
	outputs := []string{fmt.Sprintf("%v %+v %#v %s", card, card, card, &card), logged.String()}
	for _, out := range outputs {
		if strings.Contains(out, card.Number) || strings.Contains(out, "987") {
			t.Errorf("output shows the number or the CVV: %s", out)
		}
		if !strings.Contains(out, "ending in 4242") {
			t.Errorf("output lacks the last four digits: %s", out)
		}
	}
}
