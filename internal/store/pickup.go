package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// OrderWaitingPickup is a client_app order that is approved and validated
// and waits for the client app to bring a key with its pickup code.
const OrderWaitingPickup = "waiting_pickup"

// ProvisioningClientApp and ProvisioningShipToken are the values of
// cs_provisioning_method whose key is generated on a token.
const (
	ProvisioningClientApp = "client_app"
	ProvisioningShipToken = "ship_token"
)

// Pickup code statuses. An active code whose expiry has passed is shown as
// expired; the row keeps "active".
const (
	PickupActive    = "active"
	PickupRedeemed  = "redeemed"
	PickupLocked    = "locked"
	PickupWithdrawn = "withdrawn"
)

// PickupCode is the stored form of a one-time pickup code.
type PickupCode struct {
	ID         int64
	OrderID    int64
	Selector   string
	Hash       []byte // SHA-256 of the whole normalized code
	Status     string
	Failures   int
	ExpiresAt  time.Time
	CreatedAt  time.Time
	RedeemedAt time.Time
}

// NewPickupCode is a code to store and the e-mail that delivers it.
type NewPickupCode struct {
	Selector  string
	Hash      []byte
	ExpiresAt time.Time
	// Notice is queued in the same transaction; its payload carries the
	// code in clear until the message is sent.
	Notice Notification
}

const pickupColumns = `id, order_id, selector, code_hash, status, failures, expires_at, created_at, redeemed_at`

func scanPickupCode(row interface{ Scan(...any) error }) (*PickupCode, error) {
	var p PickupCode
	var expires, created string
	var redeemed sql.NullString
	if err := row.Scan(&p.ID, &p.OrderID, &p.Selector, &p.Hash, &p.Status, &p.Failures, &expires, &created, &redeemed); err != nil {
		return nil, err
	}
	p.ExpiresAt, p.CreatedAt, p.RedeemedAt = parseTime(expires), parseTime(created), nullTime(redeemed)
	return &p, nil
}

// ClientAppOrdersReady lists pending client_app orders that have no key
// material, an active ds validation and no active pickup code: the orders
// that StartPickup moves on.
func (s *Store) ClientAppOrdersReady(ctx context.Context, limit int) ([]int64, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT o.id
		   FROM orders o
		   JOIN validations v ON v.organization_id = o.organization_id AND v.type = 'ds' AND v.status = ?
		  WHERE o.status = ? AND o.provisioning_method = ? AND o.public_key IS NULL
		    AND (v.validated_until IS NULL OR v.validated_until > ?)
		  ORDER BY o.id
		  LIMIT ?`,
		ValidationActive, OrderPending, ProvisioningClientApp, formatTime(now()), limit)
	if err != nil {
		return nil, fmt.Errorf("list client_app orders ready for pickup: %w", err)
	}
	defer rows.Close()

	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// StartPickup moves a pending client_app order without key material to
// waiting_pickup when its organization has an active ds validation. In the
// same transaction it stores the code's hash and queues its e-mail. An
// order in any other state returns a *StateError and changes nothing.
func (s *Store) StartPickup(ctx context.Context, orderID int64, code NewPickupCode) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		o, err := scanOrder(tx.QueryRowContext(ctx, `SELECT `+orderColumns+` FROM orders WHERE id = ?`, orderID))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("read order %d: %w", orderID, err)
		}
		if o.Status != OrderPending || o.ProvisioningMethod != ProvisioningClientApp || len(o.PublicKey) > 0 {
			return &StateError{OrderID: orderID, Status: o.Status}
		}
		validated, err := activeValidationTx(ctx, tx, o.OrganizationID)
		if err != nil {
			return err
		}
		if !validated {
			return &StateError{OrderID: orderID, Status: "waiting for the organization's validation"}
		}

		t := now()
		if err := insertPickupCodeTx(ctx, tx, orderID, code, t); err != nil {
			return err
		}
		return setOrderStatus(ctx, tx, orderID, o.AccountID, OrderWaitingPickup, t)
	})
}

// ReplacePickupCode withdraws the active codes of a waiting_pickup order of
// the account and stores a new one with its e-mail.
func (s *Store) ReplacePickupCode(ctx context.Context, accountID, orderID int64, code NewPickupCode) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		o, err := lockOrder(ctx, tx, accountID, orderID)
		if err != nil {
			return err
		}
		if o.Status != OrderWaitingPickup {
			return &StateError{OrderID: orderID, Status: o.Status}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE pickup_codes SET status = ? WHERE order_id = ? AND status IN (?, ?)`,
			PickupWithdrawn, orderID, PickupActive, PickupLocked); err != nil {
			return fmt.Errorf("withdraw pickup codes of order %d: %w", orderID, err)
		}
		return insertPickupCodeTx(ctx, tx, orderID, code, now())
	})
}

func insertPickupCodeTx(ctx context.Context, tx *sql.Tx, orderID int64, code NewPickupCode, t time.Time) error {
	_, err := tx.ExecContext(ctx,
		`INSERT INTO pickup_codes (order_id, selector, code_hash, status, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		orderID, code.Selector, code.Hash, PickupActive, formatTime(code.ExpiresAt), formatTime(t))
	if isUniqueViolation(err) {
		return fmt.Errorf("pickup code selector collides with an existing code: %w", ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("store pickup code of order %d: %w", orderID, err)
	}
	notice := code.Notice
	notice.OrderID = orderID
	_, err = queueNotificationTx(ctx, tx, notice)
	return err
}

func activeValidationTx(ctx context.Context, tx *sql.Tx, orgID int64) (bool, error) {
	var n int
	err := tx.QueryRowContext(ctx,
		`SELECT COUNT(*) FROM validations WHERE organization_id = ? AND type = 'ds' AND status = ?
		    AND (validated_until IS NULL OR validated_until > ?)`,
		orgID, ValidationActive, formatTime(now())).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("read validation of organization %d: %w", orgID, err)
	}
	return n > 0, nil
}

// PickupCodeBySelector returns the code with the selector, or ErrNotFound.
func (s *Store) PickupCodeBySelector(ctx context.Context, selector string) (*PickupCode, error) {
	p, err := scanPickupCode(s.db.QueryRowContext(ctx, `SELECT `+pickupColumns+` FROM pickup_codes WHERE selector = ?`, selector))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read pickup code: %w", err)
	}
	return p, nil
}

// LatestPickupCode returns the newest code of an order, or ErrNotFound.
func (s *Store) LatestPickupCode(ctx context.Context, orderID int64) (*PickupCode, error) {
	p, err := scanPickupCode(s.db.QueryRowContext(ctx,
		`SELECT `+pickupColumns+` FROM pickup_codes WHERE order_id = ? ORDER BY id DESC LIMIT 1`, orderID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read pickup code of order %d: %w", orderID, err)
	}
	return p, nil
}

// RecordPickupFailure counts a wrong guess at an active code and locks the
// code when the count reaches maxFailures. It returns the code's status
// afterwards.
func (s *Store) RecordPickupFailure(ctx context.Context, codeID int64, maxFailures int) (string, error) {
	var status string
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx,
			`UPDATE pickup_codes SET failures = failures + 1,
			        status = CASE WHEN failures + 1 >= ? THEN ? ELSE status END
			  WHERE id = ? AND status = ?`,
			maxFailures, PickupLocked, codeID, PickupActive)
		if err != nil {
			return fmt.Errorf("count failure of pickup code %d: %w", codeID, err)
		}
		return tx.QueryRowContext(ctx, `SELECT status FROM pickup_codes WHERE id = ?`, codeID).Scan(&status)
	})
	return status, err
}

// RedeemPickup uses an active, unexpired code at t: the code becomes
// redeemed, the order takes the key material and returns from
// waiting_pickup to pending, ready for issuance. It returns a *StateError
// when the code or the order is in another state.
func (s *Store) RedeemPickup(ctx context.Context, codeID int64, km KeyMaterial, t time.Time) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		p, err := scanPickupCode(tx.QueryRowContext(ctx, `SELECT `+pickupColumns+` FROM pickup_codes WHERE id = ?`, codeID))
		if err != nil {
			return fmt.Errorf("read pickup code %d: %w", codeID, err)
		}
		if p.Status != PickupActive || !t.Before(p.ExpiresAt) {
			return &StateError{OrderID: p.OrderID, Status: "not redeemable with this code"}
		}
		o, err := scanOrder(tx.QueryRowContext(ctx, `SELECT `+orderColumns+` FROM orders WHERE id = ?`, p.OrderID))
		if err != nil {
			return fmt.Errorf("read order %d: %w", p.OrderID, err)
		}
		if o.Status != OrderWaitingPickup {
			return &StateError{OrderID: o.ID, Status: o.Status}
		}

		if _, err := tx.ExecContext(ctx, `UPDATE pickup_codes SET status = ?, redeemed_at = ? WHERE id = ?`,
			PickupRedeemed, formatTime(t), codeID); err != nil {
			return fmt.Errorf("redeem pickup code %d: %w", codeID, err)
		}
		if _, err := tx.ExecContext(ctx,
			`UPDATE orders SET csr_pem = ?, public_key = ?, key_type = ?, key_size = ?, issue_error = '' WHERE id = ?`,
			km.CSRPEM, km.PublicKey, km.KeyType, km.KeySize, o.ID); err != nil {
			return fmt.Errorf("store key material of order %d: %w", o.ID, err)
		}
		return setOrderStatus(ctx, tx, o.ID, o.AccountID, OrderPending, now())
	})
}

// withdrawPickupTx ends the pickup of a waiting_pickup order that received
// its key by other means (a CSR sent with the API key): its codes stop
// working and the order returns to pending, ready for issuance.
func withdrawPickupTx(ctx context.Context, tx *sql.Tx, o *Order) error {
	if _, err := tx.ExecContext(ctx, `UPDATE pickup_codes SET status = ? WHERE order_id = ? AND status IN (?, ?)`,
		PickupWithdrawn, o.ID, PickupActive, PickupLocked); err != nil {
		return fmt.Errorf("withdraw pickup codes of order %d: %w", o.ID, err)
	}
	return setOrderStatus(ctx, tx, o.ID, o.AccountID, OrderPending, now())
}
