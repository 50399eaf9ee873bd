package main

import (
	"strings"
	"testing"
	"time"
)

func TestPaymentFlags(t *testing.T) {
	cases := []struct {
		name          string
		price, limit  string
		wantPrice     int64
		wantLimit     int64
		wantUnlimited bool
		wantErr       string
	}{
		{"defaults", "249.00", "unlimited", 24900, 0, true, ""},
		{"prepaid only", "199", "0.00", 19900, 0, false, ""},
		{"credit line", "249.00", "500", 24900, 50000, false, ""},
		{"unlimited any case", "249.00", "Unlimited", 24900, 0, true, ""},
		{"bad price", "249,00", "unlimited", 0, 0, false, "--price-ds-org"},
		{"negative limit", "249.00", "-5.00", 0, 0, false, "--negative-balance-limit"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := paymentConfig{pricePerYear: tc.price, negativeLimit: tc.limit}
			got, err := c.parse()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.PricePerYearCents != tc.wantPrice || got.NegativeLimitCents != tc.wantLimit || got.UnlimitedNegative != tc.wantUnlimited {
				t.Errorf("parsed %+v, want price %d, limit %d, unlimited %v", got, tc.wantPrice, tc.wantLimit, tc.wantUnlimited)
			}
		})
	}
}

func TestPromoCodeFlags(t *testing.T) {
	future := time.Now().UTC().AddDate(1, 0, 0).Format("2006-01-02")
	cases := []struct {
		name    string
		code    string
		percent int
		expires string
		wantErr string
	}{
		{"valid", "SPRING10", 10, future, ""},
		{"full discount", "FREE_1", 100, future, ""},
		{"missing code", "", 10, future, "--code"},
		{"code with space", "SPRING 10", 10, future, "--code"},
		{"zero percent", "SPRING10", 0, future, "--percent"},
		{"over 100 percent", "SPRING10", 101, future, "--percent"},
		{"missing expiry", "SPRING10", 10, "", "--expires"},
		{"expiry not a date", "SPRING10", 10, "30 JUN 2027", "--expires"},
		{"expiry in the past", "SPRING10", 10, "2001-06-30", "--expires"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			promo, err := promoCodeFromFlags(tc.code, tc.percent, tc.expires)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := promo.ExpiresAt.Format(time.RFC3339); got != tc.expires+"T23:59:59Z" {
				t.Errorf("expires at %s, want the end of %s", got, tc.expires)
			}
		})
	}
}
