package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Notification kinds: the events that send an e-mail.
const (
	NoticeCertificateIssued = "certificate_issued"
	NoticePickupCode        = "pickup_code"
	NoticeTokenShipped      = "token_shipped"
	NoticeTokenPIN          = "token_pin"
	NoticeRenewal           = "renewal_notice"
)

// Notification statuses.
const (
	NotificationQueued = "queued"
	NotificationSent   = "sent"
	// NotificationFailed is a message that was given up after its last attempt.
	NotificationFailed = "failed"
)

// Notification is one queued e-mail. The sender renders it from the order
// when it sends it, so the row holds only the event and the values the
// database keeps nowhere else (Payload).
type Notification struct {
	ID            int64
	Kind          string
	OrderID       int64
	CertificateID int64
	// DedupeKey, when not empty, queues the event at most once.
	DedupeKey string
	// Payload holds kind-specific values such as a pickup code, a token PIN
	// or a renewal threshold. It is emptied when the message is sent or
	// given up, because it may hold a secret.
	Payload       map[string]string
	Status        string
	Attempts      int
	NextAttemptAt time.Time
	LastError     string
	MessageID     string
	CreatedAt     time.Time
	SentAt        time.Time
}

// queueNotificationTx inserts a queued notification, due at once. With a
// DedupeKey that is already queued it inserts nothing and returns false.
func queueNotificationTx(ctx context.Context, tx *sql.Tx, n Notification) (bool, error) {
	payload, err := json.Marshal(n.Payload)
	if err != nil {
		return false, fmt.Errorf("encode payload of %s notification: %w", n.Kind, err)
	}
	if n.Payload == nil {
		payload = []byte("{}")
	}
	t := formatTime(now())
	res, err := tx.ExecContext(ctx,
		`INSERT INTO notifications (kind, order_id, certificate_id, dedupe_key, payload, status, next_attempt_at, created_at)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		 ON CONFLICT (dedupe_key) DO NOTHING`,
		n.Kind, n.OrderID, nullID(n.CertificateID), nullString(n.DedupeKey), string(payload), NotificationQueued, t, t)
	if err != nil {
		return false, fmt.Errorf("queue %s notification of order %d: %w", n.Kind, n.OrderID, err)
	}
	inserted, _ := res.RowsAffected()
	return inserted == 1, nil
}

// QueueNotification queues one notification and reports whether it was
// queued (false when its DedupeKey was queued before).
func (s *Store) QueueNotification(ctx context.Context, n Notification) (bool, error) {
	var queued bool
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		var err error
		queued, err = queueNotificationTx(ctx, tx, n)
		return err
	})
	return queued, err
}

// queueIssuedNoticeTx queues the e-mail that announces an issued
// certificate, once per certificate.
func queueIssuedNoticeTx(ctx context.Context, tx *sql.Tx, orderID, certificateID int64) error {
	_, err := queueNotificationTx(ctx, tx, Notification{
		Kind:          NoticeCertificateIssued,
		OrderID:       orderID,
		CertificateID: certificateID,
		DedupeKey:     fmt.Sprintf("%s:%d", NoticeCertificateIssued, certificateID),
	})
	return err
}

const notificationColumns = `id, kind, order_id, certificate_id, dedupe_key, payload, status, attempts, next_attempt_at,
	last_error, message_id, created_at, sent_at`

func scanNotification(row interface{ Scan(...any) error }) (*Notification, error) {
	var n Notification
	var certID sql.NullInt64
	var dedupe, sent sql.NullString
	var payload, next, created string
	err := row.Scan(&n.ID, &n.Kind, &n.OrderID, &certID, &dedupe, &payload, &n.Status, &n.Attempts, &next,
		&n.LastError, &n.MessageID, &created, &sent)
	if err != nil {
		return nil, err
	}
	n.CertificateID, n.DedupeKey = certID.Int64, dedupe.String
	if err := json.Unmarshal([]byte(payload), &n.Payload); err != nil {
		return nil, fmt.Errorf("decode payload of notification %d: %w", n.ID, err)
	}
	n.NextAttemptAt, n.CreatedAt, n.SentAt = parseTime(next), parseTime(created), nullTime(sent)
	return &n, nil
}

// ClaimNotifications returns up to limit queued notifications that are due
// at t, oldest first, and leases them: each one's attempt count grows by
// one and its next attempt moves to t+lease. A sender that dies while
// sending therefore leaves the message to be retried when the lease ends,
// and two workers never claim the same row at once.
func (s *Store) ClaimNotifications(ctx context.Context, t time.Time, lease time.Duration, limit int) ([]Notification, error) {
	var claimed []Notification
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		claimed = nil
		rows, err := tx.QueryContext(ctx,
			`SELECT `+notificationColumns+` FROM notifications
			  WHERE status = ? AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?`+s.skipLocked(),
			NotificationQueued, formatTime(t), limit)
		if err != nil {
			return fmt.Errorf("list due notifications: %w", err)
		}
		var due []Notification
		for rows.Next() {
			n, err := scanNotification(rows)
			if err != nil {
				rows.Close()
				return err
			}
			due = append(due, *n)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}

		leaseEnd := formatTime(t.Add(lease))
		for _, n := range due {
			if _, err := tx.ExecContext(ctx,
				`UPDATE notifications SET attempts = attempts + 1, next_attempt_at = ? WHERE id = ?`, leaseEnd, n.ID); err != nil {
				return fmt.Errorf("lease notification %d: %w", n.ID, err)
			}
			n.Attempts++
			n.NextAttemptAt = parseTime(leaseEnd)
			claimed = append(claimed, n)
		}
		return nil
	})
	return claimed, err
}

// MarkNotificationSent records a delivered message and empties its payload.
func (s *Store) MarkNotificationSent(ctx context.Context, id int64, messageID string, t time.Time) error {
	err := s.execWrite(ctx,
		`UPDATE notifications SET status = ?, payload = '{}', message_id = ?, last_error = '', sent_at = ? WHERE id = ?`,
		NotificationSent, messageID, formatTime(t), id)
	if err != nil {
		return fmt.Errorf("mark notification %d sent: %w", id, err)
	}
	return nil
}

// RetryNotification records a failed attempt and when to try again.
func (s *Store) RetryNotification(ctx context.Context, id int64, next time.Time, reason string) error {
	err := s.execWrite(ctx,
		`UPDATE notifications SET next_attempt_at = ?, last_error = ? WHERE id = ? AND status = ?`,
		formatTime(next), reason, id, NotificationQueued)
	if err != nil {
		return fmt.Errorf("reschedule notification %d: %w", id, err)
	}
	return nil
}

// FailNotification gives a notification up after its last attempt and
// empties its payload.
func (s *Store) FailNotification(ctx context.Context, id int64, reason string) error {
	err := s.execWrite(ctx,
		`UPDATE notifications SET status = ?, payload = '{}', last_error = ? WHERE id = ?`,
		NotificationFailed, reason, id)
	if err != nil {
		return fmt.Errorf("mark notification %d failed: %w", id, err)
	}
	return nil
}

// NotificationsForOrder lists the notifications of an order, oldest first.
func (s *Store) NotificationsForOrder(ctx context.Context, orderID int64) ([]Notification, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+notificationColumns+` FROM notifications WHERE order_id = ? ORDER BY id`, orderID)
	if err != nil {
		return nil, fmt.Errorf("list notifications of order %d: %w", orderID, err)
	}
	defer rows.Close()

	var out []Notification
	for rows.Next() {
		n, err := scanNotification(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *n)
	}
	return out, rows.Err()
}

// Notification returns one notification, or ErrNotFound.
func (s *Store) Notification(ctx context.Context, id int64) (*Notification, error) {
	n, err := scanNotification(s.db.QueryRowContext(ctx, `SELECT `+notificationColumns+` FROM notifications WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read notification %d: %w", id, err)
	}
	return n, nil
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}
