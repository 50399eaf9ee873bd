package payment

import (
	"context"
	"errors"
	"log/slog"
)

// Processor charges and refunds cards. A real processor sits behind a
// network API; docsign-ca ships only TestProcessor.
type Processor interface {
	// Charge takes amount from a card, or from a card saved earlier under
	// a processor token. A decline is a *DeclineError, and then nothing
	// was charged.
	Charge(ctx context.Context, charge Charge) (Receipt, error)
	// Refund returns amount of an earlier charge to the card. A second
	// refund of the same charge returns the first refund's receipt, so
	// that retrying after a crash never pays out twice.
	Refund(ctx context.Context, chargeID string, amountCents int64) (RefundReceipt, error)
}

// CardDetails is a card as the customer typed it. It exists only in memory
// between the request and the processor: docsign-ca never stores it, and
// its String, GoString and LogValue show only the last four digits.
type CardDetails struct {
	// Number contains the card's digits without spaces or dashes.
	Number          string
	CVV             string
	ExpirationMonth int
	ExpirationYear  int
	CardholderName  string
}

// LastFour returns the last four digits of the number.
func (c CardDetails) LastFour() string {
	if len(c.Number) < 4 {
		return ""
	}
	return c.Number[len(c.Number)-4:]
}

// String returns "card ending in NNNN", so that printing a card with fmt
// never shows its number or CVV.
func (c CardDetails) String() string { return "card ending in " + c.LastFour() }

// GoString keeps %#v as safe as %v.
func (c CardDetails) GoString() string { return c.String() }

// LogValue keeps slog as safe as fmt.
func (c CardDetails) LogValue() slog.Value { return slog.StringValue(c.String()) }

// Charge is one payment request. Exactly one of Card and Token is set.
type Charge struct {
	AmountCents int64
	Currency    string
	Card        *CardDetails
	// Token is a processor token of a saved card (Receipt.Token of an
	// earlier charge).
	Token string
	// SaveCard requests a token that later charges can use in place of
	// the card.
	SaveCard bool
	// Description is shown on the processor's records, such as
	// "docsign-ca ds_org order".
	Description string
}

// Receipt is a successful charge.
type Receipt struct {
	ChargeID    string
	AmountCents int64
	// Token is set when Charge.SaveCard was true. It never contains the
	// card number.
	Token string
}

// RefundReceipt is a successful refund.
type RefundReceipt struct {
	RefundID    string
	ChargeID    string
	AmountCents int64
}

// Decline reasons, which are also the suffix of the API error code
// (card_declined|insufficient_funds).
const (
	DeclineCardDeclined      = "card_declined"
	DeclineInsufficientFunds = "insufficient_funds"
)

// DeclineError is a charge the card issuer or the processor declined.
type DeclineError struct {
	// Reason is one of the Decline constants.
	Reason string
	// Message explains the decline to the customer. It never contains the
	// card number or CVV.
	Message string
}

func (e *DeclineError) Error() string { return "payment declined: " + e.Reason + ": " + e.Message }

// AsDecline returns the *DeclineError in err's chain, or nil.
func AsDecline(err error) *DeclineError {
	var d *DeclineError
	if errors.As(err, &d) {
		return d
	}
	return nil
}
