package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Ledger entry kinds. A credit and a refund add to a container's balance
// and a debit takes from it.
const (
	LedgerCredit = "credit"
	LedgerDebit  = "debit"
	LedgerRefund = "refund"
)

// Payment methods of an order.
const (
	PaymentMethodBalance = "balance"
	PaymentMethodCard    = "card"
	PaymentMethodProfile = "profile"
)

// Payment statuses. A balance payment goes from paid to refunded in one
// transaction. A card or profile payment passes through refund_pending,
// because the processor is called after the state change commits.
const (
	PaymentPaid          = "paid"
	PaymentRefundPending = "refund_pending"
	PaymentRefunded      = "refunded"
)

// NewPayment is the payment that CreateOrder records with an order.
type NewPayment struct {
	// Method is PaymentMethodBalance, PaymentMethodCard or PaymentMethodProfile.
	Method         string
	ListPriceCents int64
	DiscountCents  int64
	// AmountCents is the price charged: ListPriceCents - DiscountCents.
	AmountCents int64
	PromoCode   string
	// NegativeLimitCents is how far below zero a balance payment may take
	// the container's balance, unless UnlimitedNegative is true.
	NegativeLimitCents int64
	UnlimitedNegative  bool
	// ChargeID, CardBrand and CardLastFour describe a card or profile
	// charge that the processor already approved.
	ChargeID     string
	CardBrand    string
	CardLastFour string
	ProfileID    int64
	// SaveProfile, when set, is stored as a payment profile in the same
	// transaction as the order.
	SaveProfile *PaymentProfile
}

// InsufficientFundsError rejects a balance payment that would take the
// container's balance below its negative balance limit. CreateOrder then
// writes nothing.
type InsufficientFundsError struct {
	ContainerID  int64
	BalanceCents int64
	PriceCents   int64
	LimitCents   int64
}

func (e *InsufficientFundsError) Error() string {
	return fmt.Sprintf("container %d: balance %d cents cannot pay %d cents within a negative balance limit of %d cents",
		e.ContainerID, e.BalanceCents, e.PriceCents, e.LimitCents)
}

// LedgerEntry is one movement of a container's balance.
type LedgerEntry struct {
	ID          int64
	AccountID   int64
	ContainerID int64
	// OrderID is 0 for a deposit.
	OrderID int64
	Kind    string
	// AmountCents is positive for a credit or refund, negative for a debit.
	AmountCents    int64
	ListPriceCents int64
	DiscountCents  int64
	PromoCode      string
	Note           string
	CreatedAt      time.Time
}

// OrderPayment is the payment record of one order.
type OrderPayment struct {
	OrderID        int64
	AccountID      int64
	ContainerID    int64
	Method         string
	ListPriceCents int64
	DiscountCents  int64
	AmountCents    int64
	PromoCode      string
	ChargeID       string
	CardBrand      string
	CardLastFour   string
	ProfileID      int64
	Status         string
	RefundID       string
	RefundedAt     time.Time
	CreatedAt      time.Time
}

// PaymentProfile is a saved card: the processor's token and what may be
// shown of the card. It never holds the card number or CVV.
type PaymentProfile struct {
	ID              int64
	AccountID       int64
	UserID          int64
	ProcessorToken  string
	CardBrand       string
	CardLastFour    string
	ExpirationMonth int
	ExpirationYear  int
	CardholderName  string
	// BillingAddress is the card's billing address as JSON.
	BillingAddress json.RawMessage
	IsDefault      bool
	CreatedAt      time.Time
}

// recordPaymentTx stores an order's payment. A balance payment first
// checks the container's balance and returns *InsufficientFundsError when
// the debit would pass the negative balance limit. withTx serializes
// writers, so no other order spends the same balance in between.
func recordPaymentTx(ctx context.Context, tx *sql.Tx, o Order, orderID int64, p NewPayment, t time.Time) error {
	if p.SaveProfile != nil {
		profile := *p.SaveProfile
		profile.AccountID, profile.UserID = o.AccountID, o.UserID
		id, err := insertPaymentProfileTx(ctx, tx, profile, t)
		if err != nil {
			return err
		}
		p.ProfileID = id
	}

	if p.Method == PaymentMethodBalance {
		if err := debitBalanceTx(ctx, tx, o, orderID, p, t); err != nil {
			return err
		}
	}

	var profileID any
	if p.ProfileID != 0 {
		profileID = p.ProfileID
	}
	_, err := tx.ExecContext(ctx,
		`INSERT INTO order_payments (order_id, account_id, container_id, method, list_price_cents, discount_cents,
		   amount_cents, promo_code, charge_id, card_brand, card_last_four, profile_id, status, created_at)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		orderID, o.AccountID, o.ContainerID, p.Method, p.ListPriceCents, p.DiscountCents,
		p.AmountCents, p.PromoCode, p.ChargeID, p.CardBrand, p.CardLastFour, profileID, PaymentPaid, formatTime(t))
	if err != nil {
		return fmt.Errorf("record payment of order %d: %w", orderID, err)
	}
	return appendAudit(ctx, tx, orderPaidEvent(o, orderID, p))
}

// debitBalanceTx records a balance payment as a debit ledger row. With a
// negative limit it first checks that the container's balance covers the
// price. An unlimited negative balance, the default, needs no check, so the
// balance is not read.
func debitBalanceTx(ctx context.Context, tx *sql.Tx, o Order, orderID int64, p NewPayment, t time.Time) error {
	if !p.UnlimitedNegative {
		balance, err := readBalance(ctx, tx, o.ContainerID)
		if err != nil {
			return err
		}
		if balance-p.AmountCents < -p.NegativeLimitCents {
			return &InsufficientFundsError{
				ContainerID: o.ContainerID, BalanceCents: balance, PriceCents: p.AmountCents, LimitCents: p.NegativeLimitCents,
			}
		}
	}

	entry := LedgerEntry{
		AccountID: o.AccountID, ContainerID: o.ContainerID, OrderID: orderID, Kind: LedgerDebit,
		AmountCents: -p.AmountCents, ListPriceCents: p.ListPriceCents, DiscountCents: p.DiscountCents, PromoCode: p.PromoCode,
	}
	_, err := insertLedgerEntryTx(ctx, tx, entry, t)
	return err
}

// rowQuerier is a *sql.DB or a *sql.Tx.
type rowQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// readBalance reads a container's balance from container_balances, which
// triggers on ledger_entries keep equal to the sum of its ledger rows in
// the transaction that writes them (migration 00015). A container without
// ledger rows has no row there and a balance of 0.
func readBalance(ctx context.Context, q rowQuerier, containerID int64) (int64, error) {
	var balance int64
	err := q.QueryRowContext(ctx,
		`SELECT balance_cents FROM container_balances WHERE container_id = ?`, containerID).Scan(&balance)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read balance of container %d: %w", containerID, err)
	}
	return balance, nil
}

// insertLedgerEntryTx appends a ledger row. The row's insert trigger adds
// its amount to the container's row of container_balances in the same
// transaction. The store never updates or deletes ledger rows.
func insertLedgerEntryTx(ctx context.Context, tx *sql.Tx, e LedgerEntry, t time.Time) (int64, error) {
	var orderID any
	if e.OrderID != 0 {
		orderID = e.OrderID
	}
	var id int64
	err := tx.QueryRowContext(ctx,
		`INSERT INTO ledger_entries (account_id, container_id, order_id, kind, amount_cents, list_price_cents,
		   discount_cents, promo_code, note, created_at)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		e.AccountID, e.ContainerID, orderID, e.Kind, e.AmountCents, e.ListPriceCents,
		e.DiscountCents, e.PromoCode, e.Note, formatTime(t)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("record %s of %d cents for container %d: %w", e.Kind, e.AmountCents, e.ContainerID, err)
	}
	return id, nil
}

// refundPaymentTx refunds an order's payment, once, inside the
// transaction that rejects or cancels the order. A balance payment gets a
// refund ledger row at once. A card or profile payment becomes
// refund_pending, and the order workflow calls the processor after the
// commit (see PendingCardRefunds). An order without a payment row, placed
// before payments existed, is left alone.
func refundPaymentTx(ctx context.Context, tx *sql.Tx, orderID int64, reason string, t time.Time) error {
	row := tx.QueryRowContext(ctx, `SELECT `+orderPaymentColumns+` FROM order_payments WHERE order_id = ?`, orderID)
	p, err := scanOrderPayment(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read payment of order %d: %w", orderID, err)
	}
	if p.Status != PaymentPaid {
		return nil
	}

	status := PaymentRefunded
	if p.Method != PaymentMethodBalance && p.AmountCents > 0 {
		status = PaymentRefundPending
	}
	if p.Method == PaymentMethodBalance {
		entry := LedgerEntry{
			AccountID: p.AccountID, ContainerID: p.ContainerID, OrderID: orderID, Kind: LedgerRefund,
			AmountCents: p.AmountCents, ListPriceCents: p.ListPriceCents, DiscountCents: p.DiscountCents,
			PromoCode: p.PromoCode, Note: reason,
		}
		if _, err := insertLedgerEntryTx(ctx, tx, entry, t); err != nil {
			return err
		}
	}

	var refundedAt any
	if status == PaymentRefunded {
		refundedAt = formatTime(t)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE order_payments SET status = ?, refunded_at = ? WHERE order_id = ? AND status = ?`,
		status, refundedAt, orderID, PaymentPaid); err != nil {
		return fmt.Errorf("mark payment of order %d %s: %w", orderID, status, err)
	}
	return appendAudit(ctx, tx, paymentRefundEvent(p, status, reason))
}

const orderPaymentColumns = `order_id, account_id, container_id, method, list_price_cents, discount_cents, amount_cents,
	promo_code, charge_id, card_brand, card_last_four, profile_id, status, refund_id, refunded_at, created_at`

func scanOrderPayment(row interface{ Scan(...any) error }) (*OrderPayment, error) {
	var p OrderPayment
	var profileID sql.NullInt64
	var refundedAt sql.NullString
	var created string
	err := row.Scan(&p.OrderID, &p.AccountID, &p.ContainerID, &p.Method, &p.ListPriceCents, &p.DiscountCents, &p.AmountCents,
		&p.PromoCode, &p.ChargeID, &p.CardBrand, &p.CardLastFour, &profileID, &p.Status, &p.RefundID, &refundedAt, &created)
	if err != nil {
		return nil, err
	}
	p.ProfileID = profileID.Int64
	p.RefundedAt = nullTime(refundedAt)
	p.CreatedAt = parseTime(created)
	return &p, nil
}

// OrderPayment returns the payment of an order, or ErrNotFound.
func (s *Store) OrderPayment(ctx context.Context, orderID int64) (*OrderPayment, error) {
	row := s.db.QueryRowContext(ctx, `SELECT `+orderPaymentColumns+` FROM order_payments WHERE order_id = ?`, orderID)
	p, err := scanOrderPayment(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read payment of order %d: %w", orderID, err)
	}
	return p, nil
}

// PendingCardRefunds lists up to limit card and profile payments whose
// refund waits for the processor, oldest order first.
func (s *Store) PendingCardRefunds(ctx context.Context, limit int) ([]OrderPayment, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT `+orderPaymentColumns+` FROM order_payments WHERE status = ? ORDER BY order_id LIMIT ?`,
		PaymentRefundPending, limit)
	if err != nil {
		return nil, fmt.Errorf("list pending card refunds: %w", err)
	}
	defer rows.Close()

	var out []OrderPayment
	for rows.Next() {
		p, err := scanOrderPayment(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *p)
	}
	return out, rows.Err()
}

// CompleteCardRefund records the processor's refund of an order's card or
// profile payment. It returns ErrConflict when the payment is not
// refund_pending, such as when another process recorded the refund first.
func (s *Store) CompleteCardRefund(ctx context.Context, orderID int64, refundID string) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		row := tx.QueryRowContext(ctx, `SELECT `+orderPaymentColumns+` FROM order_payments WHERE order_id = ?`, orderID)
		p, err := scanOrderPayment(row)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("read payment of order %d: %w", orderID, err)
		}
		if p.Status != PaymentRefundPending {
			return fmt.Errorf("payment of order %d is %s, not %s: %w", orderID, p.Status, PaymentRefundPending, ErrConflict)
		}

		if _, err := tx.ExecContext(ctx,
			`UPDATE order_payments SET status = ?, refund_id = ?, refunded_at = ? WHERE order_id = ?`,
			PaymentRefunded, refundID, formatTime(now()), orderID); err != nil {
			return fmt.Errorf("record refund of order %d: %w", orderID, err)
		}
		p.RefundID = refundID
		return appendAudit(ctx, tx, cardRefundedEvent(p))
	})
}

// Deposit credits a container's balance and records it in the audit log.
// It returns ErrNotFound when the container does not exist.
func (s *Store) Deposit(ctx context.Context, containerID, amountCents int64, note string) (*LedgerEntry, error) {
	if amountCents <= 0 {
		return nil, fmt.Errorf("deposit of %d cents is not positive", amountCents)
	}
	var entry LedgerEntry
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		var accountID int64
		err := tx.QueryRowContext(ctx, `SELECT account_id FROM containers WHERE id = ?`, containerID).Scan(&accountID)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("read container %d: %w", containerID, err)
		}

		t := now()
		entry = LedgerEntry{AccountID: accountID, ContainerID: containerID, Kind: LedgerCredit, AmountCents: amountCents, Note: note, CreatedAt: t}
		if entry.ID, err = insertLedgerEntryTx(ctx, tx, entry, t); err != nil {
			return err
		}
		return appendAudit(ctx, tx, depositEvent(entry))
	})
	if err != nil {
		return nil, err
	}
	return &entry, nil
}

// Balance returns a container's balance in cents: the sum of its ledger
// entries, read from the row that the ledger's triggers keep.
func (s *Store) Balance(ctx context.Context, containerID int64) (int64, error) {
	return readBalance(ctx, s.db, containerID)
}

// LedgerEntries lists a container's ledger entries, oldest first.
func (s *Store) LedgerEntries(ctx context.Context, containerID int64) ([]LedgerEntry, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT id, account_id, container_id, order_id, kind, amount_cents, list_price_cents, discount_cents,
		   promo_code, note, created_at
		   FROM ledger_entries WHERE container_id = ? ORDER BY id`, containerID)
	if err != nil {
		return nil, fmt.Errorf("list ledger of container %d: %w", containerID, err)
	}
	defer rows.Close()

	var out []LedgerEntry
	for rows.Next() {
		var e LedgerEntry
		var orderID sql.NullInt64
		var created string
		if err := rows.Scan(&e.ID, &e.AccountID, &e.ContainerID, &orderID, &e.Kind, &e.AmountCents, &e.ListPriceCents,
			&e.DiscountCents, &e.PromoCode, &e.Note, &created); err != nil {
			return nil, err
		}
		e.OrderID = orderID.Int64
		e.CreatedAt = parseTime(created)
		out = append(out, e)
	}
	return out, rows.Err()
}

// PromoCode is a percentage discount that the operator configured.
type PromoCode struct {
	// Code is upper-case; lookups ignore case.
	Code    string
	Percent int
	// ExpiresAt is the last second at which the code applies.
	ExpiresAt time.Time
	CreatedAt time.Time
}

// SavePromoCode adds a promo code, or replaces the percentage and expiry
// of an existing one, and records it in the audit log.
func (s *Store) SavePromoCode(ctx context.Context, p PromoCode) error {
	code := strings.ToUpper(p.Code)
	return s.withTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx,
			`INSERT INTO promo_codes (code, percent, expires_at, created_at) VALUES (?, ?, ?, ?)
			 ON CONFLICT (code) DO UPDATE SET percent = excluded.percent, expires_at = excluded.expires_at`,
			code, p.Percent, formatTime(p.ExpiresAt), formatTime(now()))
		if err != nil {
			return fmt.Errorf("save promo code %s: %w", code, err)
		}
		return appendAudit(ctx, tx, promoCodeEvent(code, p.Percent, p.ExpiresAt))
	})
}

// PromoCode returns a promo code by its code in any case, or ErrNotFound.
func (s *Store) PromoCode(ctx context.Context, code string) (*PromoCode, error) {
	var p PromoCode
	var expires, created string
	err := s.db.QueryRowContext(ctx, `SELECT code, percent, expires_at, created_at FROM promo_codes WHERE code = ?`,
		strings.ToUpper(code)).Scan(&p.Code, &p.Percent, &expires, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read promo code: %w", err)
	}
	p.ExpiresAt = parseTime(expires)
	p.CreatedAt = parseTime(created)
	return &p, nil
}

func insertPaymentProfileTx(ctx context.Context, tx *sql.Tx, p PaymentProfile, t time.Time) (int64, error) {
	isDefault := 0
	if p.IsDefault {
		isDefault = 1
		if _, err := tx.ExecContext(ctx, `UPDATE payment_profiles SET is_default = 0 WHERE account_id = ?`, p.AccountID); err != nil {
			return 0, fmt.Errorf("clear the default payment profile of account %d: %w", p.AccountID, err)
		}
	}

	var id int64
	err := tx.QueryRowContext(ctx,
		`INSERT INTO payment_profiles (account_id, user_id, processor_token, card_brand, card_last_four,
		   expiration_month, expiration_year, cardholder_name, billing_address, is_default, created_at)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		p.AccountID, p.UserID, p.ProcessorToken, p.CardBrand, p.CardLastFour,
		p.ExpirationMonth, p.ExpirationYear, p.CardholderName, string(p.BillingAddress), isDefault, formatTime(t)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("save payment profile for account %d: %w", p.AccountID, err)
	}
	return id, nil
}

const paymentProfileColumns = `id, account_id, user_id, processor_token, card_brand, card_last_four,
	expiration_month, expiration_year, cardholder_name, billing_address, is_default, created_at`

func scanPaymentProfile(row interface{ Scan(...any) error }) (*PaymentProfile, error) {
	var p PaymentProfile
	var address, created string
	var isDefault int
	err := row.Scan(&p.ID, &p.AccountID, &p.UserID, &p.ProcessorToken, &p.CardBrand, &p.CardLastFour,
		&p.ExpirationMonth, &p.ExpirationYear, &p.CardholderName, &address, &isDefault, &created)
	if err != nil {
		return nil, err
	}
	p.BillingAddress = json.RawMessage(address)
	p.IsDefault = isDefault == 1
	p.CreatedAt = parseTime(created)
	return &p, nil
}

// PaymentProfiles lists an account's saved cards, newest first.
func (s *Store) PaymentProfiles(ctx context.Context, accountID int64) ([]PaymentProfile, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT `+paymentProfileColumns+` FROM payment_profiles WHERE account_id = ? ORDER BY id DESC`, accountID)
	if err != nil {
		return nil, fmt.Errorf("list payment profiles of account %d: %w", accountID, err)
	}
	defer rows.Close()

	var out []PaymentProfile
	for rows.Next() {
		p, err := scanPaymentProfile(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *p)
	}
	return out, rows.Err()
}

// PaymentProfile returns a saved card of the account, or ErrNotFound.
func (s *Store) PaymentProfile(ctx context.Context, accountID, id int64) (*PaymentProfile, error) {
	row := s.db.QueryRowContext(ctx,
		`SELECT `+paymentProfileColumns+` FROM payment_profiles WHERE id = ? AND account_id = ?`, id, accountID)
	p, err := scanPaymentProfile(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read payment profile %d: %w", id, err)
	}
	return p, nil
}

func orderPaidEvent(o Order, orderID int64, p NewPayment) AuditEvent {
	data := map[string]any{
		"method":           p.Method,
		"list_price_cents": p.ListPriceCents,
		"discount_cents":   p.DiscountCents,
		"amount_cents":     p.AmountCents,
		"promo_code":       p.PromoCode,
		"container_id":     o.ContainerID,
	}
	if p.Method != PaymentMethodBalance {
		data["charge_id"], data["card_brand"], data["card_last_four"] = p.ChargeID, p.CardBrand, p.CardLastFour
		data["profile_id"] = p.ProfileID
	}
	return AuditEvent{Type: AuditOrderPaid, AccountID: o.AccountID, UserID: o.UserID, OrderID: orderID, Data: data}
}

func paymentRefundEvent(p *OrderPayment, status, reason string) AuditEvent {
	return AuditEvent{
		Type: AuditPaymentRefunded, AccountID: p.AccountID, OrderID: p.OrderID,
		Data: map[string]any{"method": p.Method, "amount_cents": p.AmountCents, "status": status, "reason": reason},
	}
}

func cardRefundedEvent(p *OrderPayment) AuditEvent {
	return AuditEvent{
		Type: AuditCardRefundRecorded, AccountID: p.AccountID, OrderID: p.OrderID,
		Data: map[string]any{"charge_id": p.ChargeID, "refund_id": p.RefundID, "amount_cents": p.AmountCents},
	}
}

func depositEvent(e LedgerEntry) AuditEvent {
	return AuditEvent{
		Type: AuditFundsDeposited, AccountID: e.AccountID,
		Data: map[string]any{"container_id": e.ContainerID, "amount_cents": e.AmountCents, "ledger_entry_id": e.ID, "note": e.Note},
	}
}

func promoCodeEvent(code string, percent int, expires time.Time) AuditEvent {
	return AuditEvent{
		Type: AuditPromoCodeSaved,
		Data: map[string]any{"code": code, "percent": percent, "expires_at": formatTime(expires)},
	}
}
