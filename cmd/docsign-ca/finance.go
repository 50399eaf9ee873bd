package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/order"
	"github.com/docsign-ca/docsign-ca/internal/payment"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

// paymentConfig holds the serve flags for prices and the balance limit.
type paymentConfig struct {
	pricePerYear  string
	negativeLimit string
}

// unlimitedKeyword is the --negative-balance-limit value for no limit.
const unlimitedKeyword = "unlimited"

func (c *paymentConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&c.pricePerYear, "price-ds-org", payment.FormatAmount(order.DefaultPricePerYearCents),
		"price of a ds_org order per started validity year, in USD, such as 249.00")
	fs.StringVar(&c.negativeLimit, "negative-balance-limit", unlimitedKeyword,
		"how far below zero, in USD, an order paid by balance may take its container's balance, such as 0.00 for prepaid "+
			"balances only; unlimited accepts every balance order")
}

// parse returns the payment settings that the flags give.
func (c *paymentConfig) parse() (order.PaymentConfig, error) {
	var out order.PaymentConfig
	price, err := payment.ParseAmount(c.pricePerYear)
	if err != nil {
		return out, fmt.Errorf("invalid --price-ds-org: %w", err)
	}
	out.PricePerYearCents = price

	if strings.EqualFold(strings.TrimSpace(c.negativeLimit), unlimitedKeyword) {
		out.UnlimitedNegative = true
		return out, nil
	}
	limit, err := payment.ParseAmount(c.negativeLimit)
	if err != nil {
		return out, fmt.Errorf("invalid --negative-balance-limit: %w; or give %s", err, unlimitedKeyword)
	}
	out.NegativeLimitCents = limit
	return out, nil
}

// apply sets the order service's prices and balance limit from the flags.
// The service keeps its payment processor.
func (c *paymentConfig) apply(orders *order.Service) error {
	parsed, err := c.parse()
	if err != nil {
		return err
	}
	orders.Payment.PricePerYearCents = parsed.PricePerYearCents
	orders.Payment.NegativeLimitCents = parsed.NegativeLimitCents
	orders.Payment.UnlimitedNegative = parsed.UnlimitedNegative
	return nil
}

func depositFunds(args []string) error {
	fs := flag.NewFlagSet("docsign-ca finance deposit", flag.ContinueOnError)
	dataDir := fs.String("data-dir", "./docsign-data", "data directory of the server")
	containerID := fs.Int64("container", 0, "id of the container whose balance to credit (required)")
	amount := fs.String("amount", "", "amount to credit in USD, such as 1000.00 (required)")
	note := fs.String("note", "", "note kept with the ledger entry, such as an invoice or wire reference")
	if help, err := parseOperatorFlags(fs, args, "docsign-ca finance deposit --container N --amount 1000.00 [--note TEXT]"); help || err != nil {
		return err
	}
	if *containerID <= 0 {
		return errors.New("missing --container; give the id of the container to credit")
	}
	if *amount == "" {
		return errors.New("missing --amount; give the amount in USD, such as 1000.00")
	}
	cents, err := payment.ParseAmount(*amount)
	if err != nil {
		return fmt.Errorf("invalid --amount: %w", err)
	}
	if cents == 0 {
		return errors.New("invalid --amount 0: give a positive amount")
	}

	ctx := context.Background()
	st, err := openExistingDataDir(ctx, *dataDir)
	if err != nil {
		return err
	}
	defer st.Close()

	entry, err := st.Deposit(ctx, *containerID, cents, *note)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("container %d not found", *containerID)
	}
	if err != nil {
		return err
	}
	balance, err := st.Balance(ctx, *containerID)
	if err != nil {
		return err
	}
	fmt.Printf("credited %s USD to container %d (ledger entry %d); its balance is %s USD\n",
		payment.FormatAmount(cents), *containerID, entry.ID, payment.FormatAmount(balance))
	return nil
}

func addPromoCode(args []string) error {
	fs := flag.NewFlagSet("docsign-ca promo add", flag.ContinueOnError)
	dataDir := fs.String("data-dir", "./docsign-data", "data directory of the server")
	code := fs.String("code", "", "promo code, letters, digits, dashes and underscores, matched without regard to case (required)")
	percent := fs.Int("percent", 0, "discount in percent of the price, 1 to 100 (required)")
	expires := fs.String("expires", "", "last day the code applies, YYYY-MM-DD; it ends at 23:59:59 UTC (required)")
	if help, err := parseOperatorFlags(fs, args, "docsign-ca promo add --code CODE --percent N --expires YYYY-MM-DD"); help || err != nil {
		return err
	}

	promo, err := promoCodeFromFlags(*code, *percent, *expires)
	if err != nil {
		return err
	}

	ctx := context.Background()
	st, err := openExistingDataDir(ctx, *dataDir)
	if err != nil {
		return err
	}
	defer st.Close()

	if err := st.SavePromoCode(ctx, promo); err != nil {
		return err
	}
	fmt.Printf("promo code %s takes %d%% off until %s\n", strings.ToUpper(promo.Code), promo.Percent, promo.ExpiresAt.Format(time.RFC3339))
	return nil
}

// maxPromoCodeLength matches the 64-character limit of an order's promo_code.
const maxPromoCodeLength = 64

func promoCodeFromFlags(code string, percent int, expires string) (store.PromoCode, error) {
	code = strings.TrimSpace(code)
	switch {
	case code == "":
		return store.PromoCode{}, errors.New("missing --code; give the promo code, such as SPRING10")
	case len(code) > maxPromoCodeLength || strings.IndexFunc(code, notCodeCharacter) >= 0:
		return store.PromoCode{}, fmt.Errorf("invalid --code %q: use up to %d letters, digits, dashes and underscores", code, maxPromoCodeLength)
	case percent < 1 || percent > 100:
		return store.PromoCode{}, fmt.Errorf("invalid --percent %d: give 1 to 100", percent)
	case expires == "":
		return store.PromoCode{}, errors.New("missing --expires; give the last day the code applies, such as 2027-06-30")
	}

	day, err := time.Parse("2006-01-02", expires)
	if err != nil {
		return store.PromoCode{}, fmt.Errorf("invalid --expires %q: give a date as YYYY-MM-DD, such as 2027-06-30", expires)
	}
	end := day.Add(24*time.Hour - time.Second)
	if end.Before(time.Now()) {
		return store.PromoCode{}, fmt.Errorf("invalid --expires %s: the day is in the past", expires)
	}
	return store.PromoCode{Code: code, Percent: percent, ExpiresAt: end}, nil
}

func notCodeCharacter(r rune) bool {
	return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
}
