package payment

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// Outcomes of a test card.
const (
	outcomeApprove           = "approve"
	outcomeDecline           = "decline"
	outcomeInsufficientFunds = "nofunds"
)

// testCards maps the card numbers that TestProcessor accepts to their
// outcome. They are widely published sandbox test numbers.
var testCards = map[string]string{
	"4242424242424242": outcomeApprove, // Visa
	"4111111111111111": outcomeApprove, // Visa
	"4012888888881881": outcomeApprove, // Visa
	"5555555555554444": outcomeApprove, // Mastercard
	"378282246310005":  outcomeApprove, // American Express
	"6011111111111117": outcomeApprove, // Discover
	"4000000000000002": outcomeDecline,
	"4000000000009995": outcomeInsufficientFunds,
}

// Prefixes of the ids TestProcessor returns.
const (
	testChargePrefix = "ch_test_"
	testRefundPrefix = "re_test_"
	testTokenPrefix  = "tok_test_"
)

// TestProcessor is a processor for development and sandboxes that moves no
// money. It approves the test numbers in testCards marked approve, and
// declines every other number, so that a real card is never "paid" for
// free. Charges and refunds are kept in memory for inspection.
//
// A token names the outcome of its card and a random part, never the
// number, so that saved cards keep working after a restart.
type TestProcessor struct {
	mu      sync.Mutex
	charges map[string]int64
	refunds map[string]RefundReceipt
}

// NewTestProcessor returns a TestProcessor with no charges.
func NewTestProcessor() *TestProcessor {
	return &TestProcessor{charges: map[string]int64{}, refunds: map[string]RefundReceipt{}}
}

// Charge approves or declines by the card's number or the token's outcome.
func (p *TestProcessor) Charge(ctx context.Context, charge Charge) (Receipt, error) {
	if err := ctx.Err(); err != nil {
		return Receipt{}, err
	}
	if charge.AmountCents <= 0 {
		return Receipt{}, fmt.Errorf("charge amount %d cents is not positive", charge.AmountCents)
	}

	outcome, err := chargeOutcome(charge)
	if err != nil {
		return Receipt{}, err
	}
	switch outcome {
	case outcomeDecline:
		return Receipt{}, &DeclineError{Reason: DeclineCardDeclined, Message: "the card issuer declined the charge; use another card"}
	case outcomeInsufficientFunds:
		return Receipt{}, &DeclineError{Reason: DeclineInsufficientFunds, Message: "the card has insufficient funds; use another card"}
	case outcomeApprove:
	default:
		return Receipt{}, &DeclineError{Reason: DeclineCardDeclined,
			Message: "the test payment processor approves only its documented test card numbers, such as 4242 4242 4242 4242"}
	}

	receipt := Receipt{ChargeID: testChargePrefix + randomHex(), AmountCents: charge.AmountCents}
	if charge.SaveCard {
		receipt.Token = testTokenPrefix + outcome + "_" + randomHex()
	}

	p.mu.Lock()
	p.charges[receipt.ChargeID] = charge.AmountCents
	p.mu.Unlock()
	return receipt, nil
}

// chargeOutcome returns the outcome of the charge's card or token, or ""
// for a card number that is not a test number.
func chargeOutcome(charge Charge) (string, error) {
	switch {
	case charge.Card != nil && charge.Token != "":
		return "", errors.New("a charge takes a card or a token, not both")
	case charge.Card != nil:
		return testCards[charge.Card.Number], nil
	case strings.HasPrefix(charge.Token, testTokenPrefix):
		outcome, _, _ := strings.Cut(strings.TrimPrefix(charge.Token, testTokenPrefix), "_")
		return outcome, nil
	case charge.Token != "":
		return "", fmt.Errorf("token %q was not issued by the test processor", charge.Token)
	}
	return "", errors.New("a charge needs a card or a token")
}

// Refund refunds a test charge. A charge made before a restart is no
// longer in memory, so its amount cannot be checked. The refund succeeds
// anyway, because no money moved.
func (p *TestProcessor) Refund(ctx context.Context, chargeID string, amountCents int64) (RefundReceipt, error) {
	if err := ctx.Err(); err != nil {
		return RefundReceipt{}, err
	}
	if !strings.HasPrefix(chargeID, testChargePrefix) {
		return RefundReceipt{}, fmt.Errorf("charge %q was not made by the test processor", chargeID)
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	if earlier, ok := p.refunds[chargeID]; ok {
		return earlier, nil
	}
	if charged, ok := p.charges[chargeID]; ok && amountCents > charged {
		return RefundReceipt{}, fmt.Errorf("refund of %s exceeds charge %s of %s",
			FormatAmount(amountCents), chargeID, FormatAmount(charged))
	}

	receipt := RefundReceipt{RefundID: testRefundPrefix + randomHex(), ChargeID: chargeID, AmountCents: amountCents}
	p.refunds[chargeID] = receipt
	return receipt, nil
}

// Refunds returns the refunds made since the processor was created.
func (p *TestProcessor) Refunds() []RefundReceipt {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]RefundReceipt, 0, len(p.refunds))
	for _, r := range p.refunds {
		out = append(out, r)
	}
	return out
}

// randomHex returns 12 random bytes in hex, enough to make ids unique.
func randomHex() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b) // crypto/rand.Read never returns an error since Go 1.24
	return hex.EncodeToString(b)
}
