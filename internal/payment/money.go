// Package payment holds the money arithmetic of docsign-ca and the payment
// processor interface that card and profile orders are charged through.
// Amounts are whole US cents in an int64, so that sums are exact.
package payment

import (
	"fmt"
	"strconv"
	"strings"
)

// Currency is the one currency docsign-ca charges in.
const Currency = "USD"

// maxAmountCents bounds a parsed amount at one billion dollars, far above
// any price or deposit, so that sums of many amounts cannot overflow int64.
const maxAmountCents = 100_000_000_000

// ParseAmount parses a non-negative decimal dollar amount with at most two
// decimal places, such as "249", "249.5" or "1000.00", into cents.
func ParseAmount(text string) (int64, error) {
	text = strings.TrimSpace(text)
	whole, fraction, hasPoint := strings.Cut(text, ".")
	if whole == "" || !isDigits(whole) || (hasPoint && (fraction == "" || !isDigits(fraction))) {
		return 0, fmt.Errorf("amount %q is not a decimal number of dollars such as 1000.00", text)
	}
	if len(fraction) > 2 {
		return 0, fmt.Errorf("amount %q has more than two decimal places; give whole cents, such as 1000.00", text)
	}
	if len(whole) > 12 {
		return 0, fmt.Errorf("amount %q is larger than the maximum of %s", text, FormatAmount(maxAmountCents))
	}

	dollars, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("amount %q: %w", text, err)
	}
	cents := int64(0)
	if fraction != "" {
		cents, _ = strconv.ParseInt((fraction + "0")[:2], 10, 64)
	}

	total := dollars*100 + cents
	if total > maxAmountCents {
		return 0, fmt.Errorf("amount %q is larger than the maximum of %s", text, FormatAmount(maxAmountCents))
	}
	return total, nil
}

// FormatAmount formats cents as CertCentral writes amounts: dollars with
// two decimal places and a leading minus sign when negative, such as
// "-249.00".
func FormatAmount(cents int64) string {
	sign := ""
	if cents < 0 {
		sign = "-"
		cents = -cents
	}
	return fmt.Sprintf("%s%d.%02d", sign, cents/100, cents%100)
}

// Discount returns the part of amount that a percentage discount takes
// off, rounded half up to whole cents.
func Discount(amountCents int64, percent int) int64 {
	return (amountCents*int64(percent) + 50) / 100
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
