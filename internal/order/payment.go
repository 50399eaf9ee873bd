package order

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/errs"
	"github.com/docsign-ca/docsign-ca/internal/payment"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

// DefaultPricePerYearCents is the default ds_org price per validity year:
// 249.00 USD.
const DefaultPricePerYearCents = 24900

// PaymentConfig sets what orders cost and how they are paid.
type PaymentConfig struct {
	// PricePerYearCents is the ds_org price per started validity year.
	PricePerYearCents int64
	// NegativeLimitCents is how far below zero a balance payment may take
	// a container's balance, unless UnlimitedNegative is true.
	NegativeLimitCents int64
	UnlimitedNegative  bool
	// Processor charges card and profile payments.
	Processor payment.Processor
}

// defaultPaymentConfig lets a fresh server take balance orders with no
// deposit (the negative balance is unlimited), and card orders with the
// test processor's test cards only.
func defaultPaymentConfig() PaymentConfig {
	return PaymentConfig{
		PricePerYearCents: DefaultPricePerYearCents,
		UnlimitedNegative: true,
		Processor:         payment.NewTestProcessor(),
	}
}

// quote is the price of one order.
type quote struct {
	years          int
	listPriceCents int64
	discountCents  int64
	amountCents    int64
	promoCode      string
}

// billedYears returns the number of started validity years from today to
// the validity's last day: 1 for a one-year order, and 2 for one of 366
// days that does not span 29 February.
func billedYears(v Validity, now time.Time) int {
	today := dateOf(now)
	lastDay := dateOf(v.EndDate)
	years := 1
	for addYears(today, years).Before(lastDay) {
		years++
	}
	return years
}

// priceOrder returns the order's price with the promo code's discount.
func (s *Service) priceOrder(req *DSOrgRequest, promo *store.PromoCode) quote {
	q := quote{years: billedYears(req.Validity, s.now())}
	q.listPriceCents = int64(q.years) * s.Payment.PricePerYearCents
	if promo != nil {
		q.promoCode = promo.Code
		q.discountCents = payment.Discount(q.listPriceCents, promo.Percent)
	}
	q.amountCents = q.listPriceCents - q.discountCents
	return q
}

// resolvePromoCode returns the promo code named by promo_code, or nil
// when none was sent or it is unknown or expired, which it records.
func (s *Service) resolvePromoCode(ctx context.Context, code string, problems *errs.List) *store.PromoCode {
	if code == "" {
		return nil
	}
	promo, err := s.store.PromoCode(ctx, code)
	if errors.Is(err, store.ErrNotFound) {
		problems.Invalid("promo_code", "promo code %q is not known; check the code or omit promo_code", code)
		return nil
	}
	if err != nil {
		problems.Invalid("promo_code", "promo code %q could not be checked; try again", code)
		s.log.Error("read promo code", "error", err)
		return nil
	}
	if s.now().After(promo.ExpiresAt) {
		problems.Invalid("promo_code", "promo code %q expired on %s; omit promo_code or use a current code",
			code, promo.ExpiresAt.Format(isoDateLayout))
		return nil
	}
	return promo
}

// resolvePaymentProfile returns the saved card that a profile payment
// charges: the one named by payment_profile.id, or else the account's
// default profile, or else its newest.
func (s *Service) resolvePaymentProfile(ctx context.Context, caller *store.Caller, req *DSOrgRequest, problems *errs.List) *store.PaymentProfile {
	if req.PaymentMethod != paymentProfile {
		return nil
	}
	if req.PaymentProfileID != 0 {
		profile, err := s.store.PaymentProfile(ctx, caller.Account.ID, req.PaymentProfileID)
		if err != nil {
			problems.Invalid("payment_profile.id", "payment profile %d is not a saved card of this account; list yours with GET /services/v2/finance/payment-profile",
				req.PaymentProfileID)
			return nil
		}
		return profile
	}

	profiles, err := s.store.PaymentProfiles(ctx, caller.Account.ID)
	if err != nil {
		s.log.Error("list payment profiles", "account_id", caller.Account.ID, "error", err)
	}
	if len(profiles) == 0 {
		problems.Invalid("payment_method", "payment_method profile needs a saved card, and this account has none; "+
			"pay by card once with save_credit_card true or set_as_default 1, or use balance or card")
		return nil
	}
	for i := range profiles {
		if profiles[i].IsDefault {
			return &profiles[i]
		}
	}
	return &profiles[0]
}

// charge takes a card or profile payment through the processor, before
// the order transaction, and returns the payment to record with the order.
// A balance payment is only described here: the store debits the balance
// inside the order transaction.
func (s *Service) charge(ctx context.Context, caller *store.Caller, req *DSOrgRequest, q quote, profile *store.PaymentProfile) (*store.NewPayment, error) {
	p := &store.NewPayment{
		Method:             req.PaymentMethod,
		ListPriceCents:     q.listPriceCents,
		DiscountCents:      q.discountCents,
		AmountCents:        q.amountCents,
		PromoCode:          q.promoCode,
		NegativeLimitCents: s.Payment.NegativeLimitCents,
		UnlimitedNegative:  s.Payment.UnlimitedNegative,
	}
	if req.PaymentMethod == paymentBalance {
		return p, nil
	}

	c := payment.Charge{AmountCents: q.amountCents, Currency: payment.Currency, Description: "docsign-ca " + ProductNameID + " order"}
	switch {
	case profile != nil:
		c.Token = profile.ProcessorToken
		p.ProfileID, p.CardBrand, p.CardLastFour = profile.ID, profile.CardBrand, profile.CardLastFour
	case req.Card != nil:
		details := req.Card.details()
		c.Card = &details
		c.SaveCard = req.Card.saveRequested()
		p.CardBrand, p.CardLastFour = req.Card.Brand, req.Card.LastFour
	}

	// A 100% discount leaves nothing to charge, and processors reject a
	// charge of zero.
	if q.amountCents == 0 {
		return p, nil
	}

	receipt, err := s.Payment.Processor.Charge(ctx, c)
	if decline := payment.AsDecline(err); decline != nil {
		s.log.Info("card declined", "account_id", caller.Account.ID, "user_id", caller.User.ID,
			"card_brand", p.CardBrand, "card_last_four", p.CardLastFour, "reason", decline.Reason)
		return nil, declineError(decline, p)
	}
	if err != nil {
		return nil, errs.Wrap(err, "charge the card")
	}
	p.ChargeID = receipt.ChargeID

	if req.Card != nil && receipt.Token != "" {
		p.SaveProfile = s.profileFromCard(req, receipt.Token)
	}
	s.log.Info("card charged", "account_id", caller.Account.ID, "charge_id", receipt.ChargeID,
		"amount", payment.FormatAmount(q.amountCents), "card_brand", p.CardBrand, "card_last_four", p.CardLastFour)
	return p, nil
}

// declineError is the 400 of a declined charge. CertCentral's documented
// error list has no payment codes and no 402, so the decline is a client
// error whose code names the reason.
func declineError(d *payment.DeclineError, p *store.NewPayment) error {
	code := "card_declined"
	if d.Reason != payment.DeclineCardDeclined {
		code += "|" + d.Reason
	}
	return errs.New(errs.BadRequest, code, "the charge of %s USD to the %s card ending in %s was declined: %s",
		payment.FormatAmount(p.AmountCents), p.CardBrand, p.CardLastFour, d.Message)
}

func (s *Service) profileFromCard(req *DSOrgRequest, token string) *store.PaymentProfile {
	address, err := json.Marshal(req.BillingAddress)
	if err != nil {
		address = []byte("{}")
	}
	return &store.PaymentProfile{
		ProcessorToken:  token,
		CardBrand:       req.Card.Brand,
		CardLastFour:    req.Card.LastFour,
		ExpirationMonth: req.Card.ExpirationMonth,
		ExpirationYear:  req.Card.ExpirationYear,
		CardholderName:  req.Card.CardholderName,
		BillingAddress:  address,
		IsDefault:       req.Card.SetAsDefault,
	}
}

// refundFailedOrder returns a charge whose order was not stored. A failed
// refund is logged with the charge id, for the operator to refund by hand.
//
// TODO: record such a failed refund in the database, so that the sweep
// retries it like a refund_pending payment; today only the log has it.
func (s *Service) refundFailedOrder(ctx context.Context, p *store.NewPayment, cause error) {
	if p == nil || p.ChargeID == "" {
		return
	}
	receipt, err := s.Payment.Processor.Refund(context.WithoutCancel(ctx), p.ChargeID, p.AmountCents)
	if err != nil {
		s.log.Error("refund of a charge whose order failed also failed; refund it by hand", "charge_id", p.ChargeID,
			"amount", payment.FormatAmount(p.AmountCents), "order_error", cause, "error", err)
		return
	}
	s.log.Warn("charge refunded because its order could not be stored", "charge_id", p.ChargeID, "refund_id", receipt.RefundID,
		"amount", payment.FormatAmount(p.AmountCents), "order_error", cause)
}

// insufficientFunds is the 400 of a balance payment beyond the limit.
func insufficientFunds(e *store.InsufficientFundsError) error {
	return errs.New(errs.BadRequest, "insufficient_funds",
		"container %d has a balance of %s USD, which cannot pay the price of %s USD within the negative balance limit of %s USD; "+
			"ask the operator for a deposit, or pay by card",
		e.ContainerID, payment.FormatAmount(e.BalanceCents), payment.FormatAmount(e.PriceCents), payment.FormatAmount(e.LimitCents))
}

// RefundPendingCards requests a processor refund of every card or profile
// payment that waits as refund_pending, and records each refund. The
// server's sweep calls it to retry the refunds that failed right after a
// rejection or cancel. It returns the number of refunds recorded.
func (s *Service) RefundPendingCards(ctx context.Context) int {
	pending, err := s.store.PendingCardRefunds(ctx, 100)
	if err != nil {
		s.log.Error("list pending card refunds", "error", err)
		return 0
	}

	refunded := 0
	for _, p := range pending {
		if s.refundCard(ctx, p) {
			refunded++
		}
	}
	return refunded
}

func (s *Service) refundCard(ctx context.Context, p store.OrderPayment) bool {
	receipt, err := s.Payment.Processor.Refund(ctx, p.ChargeID, p.AmountCents)
	if err != nil {
		s.log.Error("card refund failed; the sweep retries it", "order_id", p.OrderID, "charge_id", p.ChargeID, "error", err)
		return false
	}
	err = s.store.CompleteCardRefund(ctx, p.OrderID, receipt.RefundID)
	if errors.Is(err, store.ErrConflict) {
		// Another process recorded it first; the processor refunds a
		// charge once, so nothing was paid out twice.
		return false
	}
	if err != nil {
		s.log.Error("record card refund", "order_id", p.OrderID, "refund_id", receipt.RefundID, "error", err)
		return false
	}
	s.log.Info("card refunded", "order_id", p.OrderID, "charge_id", p.ChargeID, "refund_id", receipt.RefundID,
		"amount", payment.FormatAmount(p.AmountCents))
	return true
}

// BalanceInfo is a container's balance and the limit that orders may
// spend it to.
type BalanceInfo struct {
	ContainerID        int64
	BalanceCents       int64
	NegativeLimitCents int64
	UnlimitedNegative  bool
}

// Balance reads GET finance/balance: the balance of container_id, or of
// the account's top container when none is given.
func (s *Service) Balance(ctx context.Context, caller *store.Caller, values url.Values) (*BalanceInfo, error) {
	if err := s.CheckBalanceQuery(ctx, caller, values); err != nil {
		return nil, err
	}

	containerID := caller.Account.RootContainerID
	if raw := values.Get("container_id"); raw != "" {
		r := newQueryReader(values)
		containerID = r.id("container_id", raw)
	}
	balance, err := s.store.Balance(ctx, containerID)
	if err != nil {
		return nil, internal(err, "read balance")
	}
	return &BalanceInfo{
		ContainerID:        containerID,
		BalanceCents:       balance,
		NegativeLimitCents: s.Payment.NegativeLimitCents,
		UnlimitedNegative:  s.Payment.UnlimitedNegative,
	}, nil
}

// PaymentProfiles lists the account's saved cards, newest first.
func (s *Service) PaymentProfiles(ctx context.Context, caller *store.Caller) ([]store.PaymentProfile, error) {
	profiles, err := s.store.PaymentProfiles(ctx, caller.Account.ID)
	if err != nil {
		return nil, internal(err, "list payment profiles")
	}
	return profiles, nil
}

// refundOrderCard refunds an order's card or profile payment after the
// rejection or cancellation that made it refund_pending has committed.
func (s *Service) refundOrderCard(ctx context.Context, orderID int64) {
	p, err := s.store.OrderPayment(ctx, orderID)
	if errors.Is(err, store.ErrNotFound) {
		return
	}
	if err != nil {
		s.log.Error("read payment to refund; the sweep retries it", "order_id", orderID, "error", err)
		return
	}
	if p.Status == store.PaymentRefundPending {
		s.refundCard(context.WithoutCancel(ctx), *p)
	}
}
