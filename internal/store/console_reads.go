package store

import (
	"context"
	"encoding/json"
	"fmt"
)

// RecentAuditRecords returns up to limit audit rows of an account, newest
// first. Rows without an account, such as server starts, are left out.
func (s *Store) RecentAuditRecords(ctx context.Context, accountID int64, limit int) ([]AuditRecord, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT id, time, type, source, http_request_id, account_id, user_id, order_id, data, prev_hash, hash
		   FROM audit_log WHERE account_id = ? ORDER BY id DESC LIMIT ?`, accountID, limit)
	if err != nil {
		return nil, fmt.Errorf("read the audit log of account %d: %w", accountID, err)
	}
	defer rows.Close()

	var out []AuditRecord
	for rows.Next() {
		var r AuditRecord
		var data string
		if err := rows.Scan(&r.ID, &r.Time, &r.Type, &r.Source, &r.HTTPRequestID, &r.AccountID, &r.UserID, &r.OrderID,
			&data, &r.PrevHash, &r.Hash); err != nil {
			return nil, fmt.Errorf("read audit row: %w", err)
		}
		r.Data = json.RawMessage(data)
		out = append(out, r)
	}
	return out, rows.Err()
}

// OrderStatusHistory returns the status changes of one order of the
// account, oldest first.
func (s *Store) OrderStatusHistory(ctx context.Context, accountID, orderID int64) ([]StatusChange, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT id, order_id, status, changed_at FROM order_status_changes
		  WHERE account_id = ? AND order_id = ? ORDER BY id`, accountID, orderID)
	if err != nil {
		return nil, fmt.Errorf("read status changes of order %d: %w", orderID, err)
	}
	defer rows.Close()

	var out []StatusChange
	for rows.Next() {
		var c StatusChange
		var changed string
		if err := rows.Scan(&c.ID, &c.OrderID, &c.Status, &changed); err != nil {
			return nil, fmt.Errorf("read status change: %w", err)
		}
		c.ChangedAt = parseTime(changed)
		out = append(out, c)
	}
	return out, rows.Err()
}
