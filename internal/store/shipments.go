package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Shipment states of a ship_token order's token.
const (
	// ShipmentKeyGenerated: the key is on the token and its public key on
	// the order; the certificate is not yet on the token.
	ShipmentKeyGenerated = "key_generated"
	// ShipmentProvisioned: the certificate and its chain are on the token.
	ShipmentProvisioned = "provisioned"
	ShipmentShipped     = "shipped"
)

// Shipment is the hardware token of a ship_token order.
type Shipment struct {
	OrderID        int64
	State          string
	TokenSerial    string
	TokenLabel     string
	KeyLabel       string
	KeyID          []byte // CKA_ID of the key pair and certificate on the token
	Carrier        string
	TrackingNumber string
	KeyGeneratedAt time.Time
	ProvisionedAt  time.Time
	ShippedAt      time.Time
}

// TokenOrder is a ship_token order that waits for its token or its shipment.
type TokenOrder struct {
	Order            Order
	OrganizationName string
	Validated        bool
	// Shipment is nil until a key was generated for the order.
	Shipment *Shipment
}

const shipmentColumns = `order_id, state, token_serial, token_label, key_label, key_id, carrier, tracking_number,
	key_generated_at, provisioned_at, shipped_at`

func scanShipment(row interface{ Scan(...any) error }) (*Shipment, error) {
	var sh Shipment
	var generated string
	var provisioned, shipped sql.NullString
	err := row.Scan(&sh.OrderID, &sh.State, &sh.TokenSerial, &sh.TokenLabel, &sh.KeyLabel, &sh.KeyID, &sh.Carrier,
		&sh.TrackingNumber, &generated, &provisioned, &shipped)
	if err != nil {
		return nil, err
	}
	sh.KeyGeneratedAt, sh.ProvisionedAt, sh.ShippedAt = parseTime(generated), nullTime(provisioned), nullTime(shipped)
	return &sh, nil
}

// Shipment returns the shipment of an order, or ErrNotFound before a key
// was generated for it.
func (s *Store) Shipment(ctx context.Context, orderID int64) (*Shipment, error) {
	sh, err := scanShipment(s.db.QueryRowContext(ctx, `SELECT `+shipmentColumns+` FROM shipments WHERE order_id = ?`, orderID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read shipment of order %d: %w", orderID, err)
	}
	return sh, nil
}

// TokenOrders lists the ship_token orders that are approved and whose token
// has not been shipped, oldest first.
func (s *Store) TokenOrders(ctx context.Context) ([]TokenOrder, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT `+prefixed("o.", orderColumns)+`, g.name,
		        EXISTS (SELECT 1 FROM validations v WHERE v.organization_id = o.organization_id AND v.type = 'ds'
		                   AND v.status = ? AND (v.validated_until IS NULL OR v.validated_until > ?))
		   FROM orders o
		   JOIN organizations g ON g.id = o.organization_id
		   LEFT JOIN shipments sh ON sh.order_id = o.id
		  WHERE o.provisioning_method = ? AND o.status IN (?, ?)
		    AND (sh.state IS NULL OR sh.state <> ?)
		  ORDER BY o.id`,
		ValidationActive, formatTime(now()), ProvisioningShipToken, OrderPending, OrderIssued, ShipmentShipped)
	if err != nil {
		return nil, fmt.Errorf("list ship_token orders: %w", err)
	}
	var out []TokenOrder
	for rows.Next() {
		var t TokenOrder
		o, err := scanOrderWith(rows, &t.OrganizationName, &t.Validated)
		if err != nil {
			rows.Close()
			return nil, err
		}
		t.Order = *o
		out = append(out, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}

	for i := range out {
		sh, err := s.Shipment(ctx, out[i].Order.ID)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out[i].Shipment = sh
	}
	return out, nil
}

// SetTokenKey stores the public key generated on a token for a pending
// ship_token order and records the token, in one transaction. The server's
// issuance sweep then signs the certificate. An order in another state, or
// one that already has a key, returns a *StateError.
func (s *Store) SetTokenKey(ctx context.Context, orderID int64, km KeyMaterial, sh Shipment) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		o, err := scanOrder(tx.QueryRowContext(ctx, `SELECT `+orderColumns+` FROM orders WHERE id = ?`, orderID))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("read order %d: %w", orderID, err)
		}
		if o.Status != OrderPending || o.ProvisioningMethod != ProvisioningShipToken {
			return &StateError{OrderID: orderID, Status: o.Status}
		}
		if len(o.PublicKey) > 0 {
			return &StateError{OrderID: orderID, Status: "already holding a key"}
		}

		t := formatTime(now())
		if _, err := tx.ExecContext(ctx,
			`UPDATE orders SET public_key = ?, key_type = ?, key_size = ?, issue_error = '', updated_at = ? WHERE id = ?`,
			km.PublicKey, km.KeyType, km.KeySize, t, orderID); err != nil {
			return fmt.Errorf("store key of order %d: %w", orderID, err)
		}
		_, err = tx.ExecContext(ctx,
			`INSERT INTO shipments (order_id, state, token_serial, token_label, key_label, key_id, key_generated_at)
			 VALUES (?, ?, ?, ?, ?, ?, ?)`,
			orderID, ShipmentKeyGenerated, sh.TokenSerial, sh.TokenLabel, sh.KeyLabel, sh.KeyID, t)
		if isUniqueViolation(err) {
			return &StateError{OrderID: orderID, Status: "already provisioned"}
		}
		if err != nil {
			return fmt.Errorf("record token of order %d: %w", orderID, err)
		}
		return nil
	})
}

// MarkTokenProvisioned records that the certificate is on the token of an
// issued order.
func (s *Store) MarkTokenProvisioned(ctx context.Context, orderID int64) error {
	return s.advanceShipment(ctx, orderID, ShipmentKeyGenerated, ShipmentProvisioned,
		`UPDATE shipments SET state = ?, provisioned_at = ? WHERE order_id = ? AND state = ?`,
		ShipmentProvisioned, formatTime(now()), orderID, ShipmentKeyGenerated)
}

// ShipToken records the shipment of a provisioned token and queues its
// e-mails, in one transaction.
func (s *Store) ShipToken(ctx context.Context, orderID int64, carrier, tracking string, notices []Notification) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			`UPDATE shipments SET state = ?, carrier = ?, tracking_number = ?, shipped_at = ? WHERE order_id = ? AND state = ?`,
			ShipmentShipped, carrier, tracking, formatTime(now()), orderID, ShipmentProvisioned)
		if err != nil {
			return fmt.Errorf("record shipment of order %d: %w", orderID, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return shipmentStateError(ctx, tx, orderID)
		}
		for _, n := range notices {
			n.OrderID = orderID
			if _, err := queueNotificationTx(ctx, tx, n); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Store) advanceShipment(ctx context.Context, orderID int64, from, to string, query string, args ...any) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return fmt.Errorf("set shipment of order %d from %s to %s: %w", orderID, from, to, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return shipmentStateError(ctx, tx, orderID)
		}
		return nil
	})
}

// shipmentStateError names the shipment's current state in a *StateError.
func shipmentStateError(ctx context.Context, tx *sql.Tx, orderID int64) error {
	var state string
	err := tx.QueryRowContext(ctx, `SELECT state FROM shipments WHERE order_id = ?`, orderID).Scan(&state)
	if errors.Is(err, sql.ErrNoRows) {
		return &StateError{OrderID: orderID, Status: "without a token"}
	}
	if err != nil {
		return fmt.Errorf("read shipment of order %d: %w", orderID, err)
	}
	return &StateError{OrderID: orderID, Status: "token " + state}
}

// IssuerChain returns the DER certificates from the issuing CA with the
// given id up to its root: [intermediate, root].
func (s *Store) IssuerChain(ctx context.Context, caID int64) ([][]byte, error) {
	var chain [][]byte
	for id := caID; id != 0 && len(chain) < 8; {
		var der []byte
		var parent sql.NullInt64
		err := s.db.QueryRowContext(ctx, `SELECT cert_der, parent_id FROM cas WHERE id = ?`, id).Scan(&der, &parent)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("CA %d: %w", id, ErrNotFound)
		}
		if err != nil {
			return nil, fmt.Errorf("read CA %d: %w", id, err)
		}
		chain = append(chain, der)
		id = parent.Int64
	}
	return chain, nil
}

// prefixed qualifies each column of a comma-separated list with a table alias.
func prefixed(alias, columns string) string {
	names := strings.Split(columns, ",")
	for i, name := range names {
		names[i] = alias + strings.TrimSpace(name)
	}
	return strings.Join(names, ", ")
}

// scanOrderWith scans the order columns followed by extra columns.
func scanOrderWith(row interface{ Scan(...any) error }, extra ...any) (*Order, error) {
	var captured []any
	o, err := scanOrder(scanFunc(func(dest ...any) error {
		captured = append(dest, extra...)
		return row.Scan(captured...)
	}))
	return o, err
}

type scanFunc func(dest ...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }
