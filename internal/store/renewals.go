package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// RenewalCandidate is an issued order whose certificate nears its expiry.
type RenewalCandidate struct {
	Order         Order
	CertificateID int64
	ValidTill     time.Time
}

// RenewalCandidates lists the issued orders whose current certificate (the
// newest issued one that is not a duplicate) expires between from and to,
// that no order renews yet, and whose renewal status was not set by hand
// (PUT .../status renewed or not_renewed).
//
// It returns at most limit candidates that come after the position (validTill,
// orderID) in (valid_till, order id) order, so that a caller pages through a
// large store with bounded memory; a zero after starts at the beginning.
func (s *Store) RenewalCandidates(ctx context.Context, from, to time.Time, after RenewalCursor, limit int) ([]RenewalCandidate, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT `+prefixed("o.", orderColumns)+`, c.id, c.valid_till
		   FROM orders o
		   JOIN certificates c ON c.id = (SELECT MAX(c2.id) FROM certificates c2
		                                   WHERE c2.order_id = o.id AND c2.status = ? AND c2.kind <> ?)
		  WHERE o.status = ? AND o.renewal_status = ''
		    AND c.valid_till >= ? AND c.valid_till <= ?
		    AND NOT EXISTS (SELECT 1 FROM orders r WHERE r.renewal_of_order_id = o.id AND r.status NOT IN (?, ?))
		    AND (c.valid_till > ? OR (c.valid_till = ? AND o.id > ?))
		  ORDER BY c.valid_till, o.id
		  LIMIT ?`,
		CertificateIssued, CertificateDuplicate, OrderIssued, formatTime(from), formatTime(to), OrderRejected, OrderCanceled,
		formatTime(after.ValidTill), formatTime(after.ValidTill), after.OrderID, limit)
	if err != nil {
		return nil, fmt.Errorf("list orders near expiry: %w", err)
	}
	defer rows.Close()

	var out []RenewalCandidate
	for rows.Next() {
		var c RenewalCandidate
		var till string
		o, err := scanOrderWith(rows, &c.CertificateID, &till)
		if err != nil {
			return nil, err
		}
		c.Order, c.ValidTill = *o, parseTime(till)
		out = append(out, c)
	}
	return out, rows.Err()
}

// RenewalCursor is a position in RenewalCandidates' order.
type RenewalCursor struct {
	ValidTill time.Time
	OrderID   int64
}

// RenewalOrder returns the id of the order that renews orderID, ignoring
// rejected and canceled renewals, or 0 when there is none.
func (s *Store) RenewalOrder(ctx context.Context, orderID int64) (int64, error) {
	var id int64
	err := s.db.QueryRowContext(ctx,
		`SELECT id FROM orders WHERE renewal_of_order_id = ? AND status NOT IN (?, ?) ORDER BY id LIMIT 1`,
		orderID, OrderRejected, OrderCanceled).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("find the renewal of order %d: %w", orderID, err)
	}
	return id, nil
}
