package store

import (
	"context"
	"fmt"
)

// StateCounts is the number of orders and certificates in each status, and
// the number of orders ready for issuance (see ClaimReadyOrders).
type StateCounts struct {
	Orders       map[string]int
	Certificates map[string]int
	ReadyOrders  int
}

// CountStates counts orders and certificates by status and the orders ready
// for issuance, for the metrics endpoint. Each count scans its table, so the
// cost grows with the number of orders.
func (s *Store) CountStates(ctx context.Context) (StateCounts, error) {
	orders, err := s.countByStatus(ctx, `SELECT status, COUNT(*) FROM orders GROUP BY status`)
	if err != nil {
		return StateCounts{}, fmt.Errorf("count orders by status: %w", err)
	}

	certificates, err := s.countByStatus(ctx, `SELECT status, COUNT(*) FROM certificates GROUP BY status`)
	if err != nil {
		return StateCounts{}, fmt.Errorf("count certificates by status: %w", err)
	}

	ready, err := s.countReadyOrders(ctx)
	if err != nil {
		return StateCounts{}, err
	}
	return StateCounts{Orders: orders, Certificates: certificates, ReadyOrders: ready}, nil
}

func (s *Store) countByStatus(ctx context.Context, query string) (map[string]int, error) {
	rows, err := s.db.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()

	counts := map[string]int{}
	for rows.Next() {
		var status string
		var n int
		if err := rows.Scan(&status, &n); err != nil {
			return nil, err
		}
		counts[status] = n
	}
	return counts, rows.Err()
}

// countReadyOrders counts the orders ready for issuance, whether or not a
// job claimed them.
// NOTE: its conditions repeat those of ClaimReadyOrders; change both together.
func (s *Store) countReadyOrders(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx,
		`SELECT COUNT(*)
		   FROM orders o
		   JOIN certificates c ON c.order_id = o.id AND c.status = ?
		   JOIN validations v ON v.organization_id = o.organization_id AND v.type = 'ds' AND v.status = ?
		  WHERE o.status = ? AND o.public_key IS NOT NULL AND o.issue_error = ''
		    AND (v.validated_until IS NULL OR v.validated_until > ?)
		    AND NOT EXISTS (SELECT 1 FROM issuance_intents i WHERE i.certificate_id = c.id)`,
		CertificatePending, ValidationActive, OrderPending, formatTime(now())).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count orders ready for issuance: %w", err)
	}
	return n, nil
}
