package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Certificate kinds.
const (
	CertificateOriginal  = "original"
	CertificateReissue   = "reissue"
	CertificateDuplicate = "duplicate"
)

// KeyMaterial is a CSR and the public key it carries.
type KeyMaterial struct {
	CSRPEM    string
	PublicKey []byte // DER SubjectPublicKeyInfo
	KeyType   string
	KeySize   int
}

// lockOrder reads an order of the account inside a transaction.
func lockOrder(ctx context.Context, tx *sql.Tx, accountID, orderID int64) (*Order, error) {
	row := tx.QueryRowContext(ctx, `SELECT `+orderColumns+` FROM orders WHERE id = ? AND account_id = ?`, orderID, accountID)
	o, err := scanOrder(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read order %d: %w", orderID, err)
	}
	return o, nil
}

// signingStarted reports whether any certificate of the order has an
// issuance intent that is still open: then the key material is in use.
func signingStarted(ctx context.Context, tx *sql.Tx, orderID int64) (bool, error) {
	var n int
	err := tx.QueryRowContext(ctx,
		`SELECT COUNT(*) FROM issuance_intents WHERE order_id = ? AND status = ?`, orderID, IntentSigning).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("read issuance intents of order %d: %w", orderID, err)
	}
	return n > 0, nil
}

// StateError is an ErrConflict that names the order's current status, for
// messages such as "order 5 is issued".
type StateError struct {
	OrderID int64
	Status  string
}

func (e *StateError) Error() string {
	return fmt.Sprintf("order %d is %s", e.OrderID, e.Status)
}

func (e *StateError) Unwrap() error { return ErrConflict }

// CancelOrder cancels an order that has not been issued: its pending
// requests and its waiting certificate are canceled with it.
func (s *Store) CancelOrder(ctx context.Context, accountID, orderID int64, note string) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		o, err := lockOrder(ctx, tx, accountID, orderID)
		if err != nil {
			return err
		}
		if o.Status != OrderNeedsApproval && o.Status != OrderPending && o.Status != OrderWaitingPickup {
			return &StateError{OrderID: orderID, Status: o.Status}
		}
		if started, err := signingStarted(ctx, tx, orderID); err != nil || started {
			if err != nil {
				return err
			}
			return &StateError{OrderID: orderID, Status: "being issued"}
		}

		t := now()
		if _, err := tx.ExecContext(ctx, `UPDATE orders SET cancel_note = ? WHERE id = ?`, note, orderID); err != nil {
			return fmt.Errorf("cancel order %d: %w", orderID, err)
		}
		if _, err := tx.ExecContext(ctx,
			`UPDATE requests SET status = 'canceled', date_processed = ? WHERE order_id = ? AND status = ?`,
			formatTime(t), orderID, RequestPending); err != nil {
			return fmt.Errorf("cancel requests of order %d: %w", orderID, err)
		}
		if err := cancelPendingCertificates(ctx, tx, orderID); err != nil {
			return err
		}
		if err := refundPaymentTx(ctx, tx, orderID, "order canceled", t); err != nil {
			return err
		}
		if err := appendAudit(ctx, tx, orderChangeEvent(AuditOrderCanceled, accountID, orderID, map[string]any{"previous_status": o.Status})); err != nil {
			return err
		}
		return setOrderStatus(ctx, tx, orderID, accountID, OrderCanceled, t)
	})
}

// SetRenewalStatus marks an issued order as renewed elsewhere or as not to be renewed.
func (s *Store) SetRenewalStatus(ctx context.Context, accountID, orderID int64, status string) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		o, err := lockOrder(ctx, tx, accountID, orderID)
		if err != nil {
			return err
		}
		if o.Status != OrderIssued {
			return &StateError{OrderID: orderID, Status: o.Status}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE orders SET renewal_status = ?, updated_at = ? WHERE id = ?`,
			status, formatTime(now()), orderID); err != nil {
			return fmt.Errorf("set renewal status of order %d: %w", orderID, err)
		}
		return nil
	})
}

// ReplaceCSR adds or replaces the key material of an order that is not yet
// issued (or whose reissue waits). A waiting_pickup order returns to
// pending, and its pickup codes stop working.
func (s *Store) ReplaceCSR(ctx context.Context, accountID, orderID int64, km KeyMaterial) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		o, err := lockOrder(ctx, tx, accountID, orderID)
		if err != nil {
			return err
		}
		if o.Status != OrderNeedsApproval && o.Status != OrderPending && o.Status != OrderReissuePending && o.Status != OrderWaitingPickup {
			return &StateError{OrderID: orderID, Status: o.Status}
		}
		if started, err := signingStarted(ctx, tx, orderID); err != nil || started {
			if err != nil {
				return err
			}
			return &StateError{OrderID: orderID, Status: "being issued"}
		}
		_, err = tx.ExecContext(ctx,
			`UPDATE orders SET csr_pem = ?, public_key = ?, key_type = ?, key_size = ?, issue_error = '', updated_at = ? WHERE id = ?`,
			km.CSRPEM, km.PublicKey, km.KeyType, km.KeySize, formatTime(now()), orderID)
		if err != nil {
			return fmt.Errorf("replace CSR of order %d: %w", orderID, err)
		}
		if o.Status == OrderWaitingPickup {
			if err := withdrawPickupTx(ctx, tx, o); err != nil {
				return err
			}
		}
		return appendAudit(ctx, tx, orderChangeEvent(AuditOrderKeyReplaced, accountID, orderID, map[string]any{
			"key_type": km.KeyType, "key_size": km.KeySize, "public_key_sha256": fingerprintOrEmpty(km.PublicKey)}))
	})
}

// Reissue is what RequestReissue writes.
type Reissue struct {
	AccountID     int64
	OrderID       int64
	RequesterID   int64
	Key           KeyMaterial
	SignatureHash string
	Comments      string
	// Approved skips the approval request (an administrator's skip_approval).
	Approved bool
}

// RequestReissue starts a reissue of an issued order: new key material, a
// new pending certificate, and a reissue request that goes through the same
// approval as a new order. It returns the request id (0 when approved) and
// the new certificate's id.
func (s *Store) RequestReissue(ctx context.Context, in Reissue) (requestID, certificateID int64, err error) {
	err = s.withTx(ctx, func(tx *sql.Tx) error {
		o, err := lockOrder(ctx, tx, in.AccountID, in.OrderID)
		if err != nil {
			return err
		}
		if o.Status != OrderIssued {
			return &StateError{OrderID: in.OrderID, Status: o.Status}
		}

		t := now()
		_, err = tx.ExecContext(ctx,
			`UPDATE orders SET csr_pem = ?, public_key = ?, key_type = ?, key_size = ?, signature_hash = ?, issue_error = '', updated_at = ?
			  WHERE id = ?`,
			in.Key.CSRPEM, in.Key.PublicKey, in.Key.KeyType, in.Key.KeySize, in.SignatureHash, formatTime(t), in.OrderID)
		if err != nil {
			return fmt.Errorf("update key of order %d: %w", in.OrderID, err)
		}

		err = insertID(ctx, tx, &certificateID,
			`INSERT INTO certificates (account_id, order_id, status, date_created, kind) VALUES (?, ?, ?, ?, ?)`,
			in.AccountID, in.OrderID, CertificatePending, formatTime(t), CertificateReissue)
		if err != nil {
			return fmt.Errorf("insert reissue certificate: %w", err)
		}
		if err := appendAudit(ctx, tx, orderChangeEvent(AuditReissueRequested, in.AccountID, in.OrderID, map[string]any{
			"certificate_id": certificateID, "requester_id": in.RequesterID, "approved": in.Approved,
			"public_key_sha256": fingerprintOrEmpty(in.Key.PublicKey)})); err != nil {
			return err
		}

		if in.Approved {
			return setOrderStatus(ctx, tx, in.OrderID, in.AccountID, OrderPending, t)
		}
		err = insertID(ctx, tx, &requestID,
			`INSERT INTO requests (account_id, order_id, type, status, requester_id, comments, date) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			in.AccountID, in.OrderID, RequestReissue, RequestPending, in.RequesterID, in.Comments, formatTime(t))
		if err != nil {
			return fmt.Errorf("insert reissue request: %w", err)
		}
		return setOrderStatus(ctx, tx, in.OrderID, in.AccountID, OrderReissuePending, t)
	})
	return requestID, certificateID, err
}

// AddDuplicate adds a pending duplicate certificate with its own key to an
// issued order. The order's other certificates stay valid.
func (s *Store) AddDuplicate(ctx context.Context, accountID, orderID int64, key KeyMaterial) (int64, error) {
	var id int64
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		o, err := lockOrder(ctx, tx, accountID, orderID)
		if err != nil {
			return err
		}
		if o.Status != OrderIssued {
			return &StateError{OrderID: orderID, Status: o.Status}
		}
		err = insertID(ctx, tx, &id,
			`INSERT INTO certificates (account_id, order_id, status, date_created, kind, public_key, csr_pem) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			accountID, orderID, CertificatePending, formatTime(now()), CertificateDuplicate, key.PublicKey, key.CSRPEM)
		if err != nil {
			return fmt.Errorf("insert duplicate certificate: %w", err)
		}
		return appendAudit(ctx, tx, orderChangeEvent(AuditDuplicateRequested, accountID, orderID, map[string]any{
			"certificate_id": id, "public_key_sha256": fingerprintOrEmpty(key.PublicKey)}))
	})
	return id, err
}

// CertificatesForOrder lists every certificate of an order, oldest first.
func (s *Store) CertificatesForOrder(ctx context.Context, orderID int64) ([]Certificate, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+certificateColumns+` FROM certificates WHERE order_id = ? ORDER BY id`, orderID)
	if err != nil {
		return nil, fmt.Errorf("list certificates of order %d: %w", orderID, err)
	}
	defer rows.Close()

	var out []Certificate
	for rows.Next() {
		c, err := scanCertificate(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *c)
	}
	return out, rows.Err()
}
