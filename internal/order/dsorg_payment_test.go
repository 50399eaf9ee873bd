package order

import (
	"fmt"
	"strings"
	"testing"
)

func TestCardBrand(t *testing.T) {
	cases := []struct {
		number string
		want   string
	}{
		{"4111111111111111", "visa"},
		{"5555555555554444", "mastercard"},
		{"2223003122003222", "mastercard"},
		{"378282246310005", "amex"},
		{"341111111111111", "amex"},
		{"6011111111111117", "discover"},
		{"6500000000000002", "discover"},
		{"6445644564456445", "discover"},
		{"6221260000000000", "discover"},
		{"3530111333300000", "other"},
		{"2720999999999999", "mastercard"},
		{"2721000000000000", "other"},
	}

	for _, tc := range cases {
		if got := cardBrand(tc.number); got != tc.want {
			t.Errorf("cardBrand(%s) = %q, want %q", tc.number, got, tc.want)
		}
	}
}

func TestLuhnValid(t *testing.T) {
	cases := []struct {
		digits string
		want   bool
	}{
		{"4111111111111111", true},
		{"4111111111111112", false},
		{"378282246310005", true},
		{"378282246310006", false},
		{"79927398713", true},
		{"79927398710", false},
	}

	for _, tc := range cases {
		if got := luhnValid(tc.digits); got != tc.want {
			t.Errorf("luhnValid(%s) = %v, want %v", tc.digits, got, tc.want)
		}
	}
}

func TestCardString(t *testing.T) {
	card := Card{Brand: "visa", LastFour: "1111", ExpirationMonth: 9, ExpirationYear: 2028, CardholderName: "Ann Lee"}

	want := "visa ending in 1111"
	if got := card.String(); got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got := fmt.Sprint(&card); got != want {
		t.Errorf("fmt.Sprint(&card) = %q, want %q", got, want)
	}
}

// TestCardSecretsNotPrinted checks that neither the printed request and
// card nor any message contains the card number or the CVV. The card keeps
// both in memory for the processor charge.
func TestCardSecretsNotPrinted(t *testing.T) {
	const number = "5555 5555 5555 4444"
	const cvv = "9876"
	digits := strings.ReplaceAll(number, " ", "")

	body := validBody(t)
	set("credit_card.number", number)(t, body)
	set("credit_card.cvv", cvv)(t, body)

	request := parseValid(t, body)
	dump := fmt.Sprintf("%+v %+v %#v %v", *request, *request.Card, *request.Card, request.Card)
	for _, secret := range []string{digits, number, cvv} {
		if strings.Contains(dump, secret) {
			t.Errorf("parsed request contains %q", secret)
		}
	}

	invalid := validBody(t)
	set("credit_card.number", "5555 5555 5555 4445")(t, invalid)
	set("credit_card.cvv", "98765")(t, invalid)
	_, err := ParseDSOrg(invalid, testNow)
	text := problemText(err)
	for _, secret := range []string{"5555555555554445", "5555 5555 5555 4445", "98765"} {
		if strings.Contains(text, secret) {
			t.Errorf("messages contain %q:\n%s", secret, text)
		}
	}
	if !strings.Contains(text, "credit_card.number") || !strings.Contains(text, "credit_card.cvv") {
		t.Errorf("messages do not name both fields:\n%s", text)
	}
}
