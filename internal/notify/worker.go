package notify

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/store"
)

// Defaults of Worker.
const (
	DefaultRetryMin    = 30 * time.Second
	DefaultRetryMax    = time.Hour
	DefaultMaxAttempts = 80
	// DefaultLease is how long a claimed message is hidden from other
	// workers; it is longer than an SMTP delivery may take (SMTPSender.Timeout).
	DefaultLease = 5 * time.Minute
	batchSize    = 20
)

// Worker sends the queued notifications. A failed attempt is retried after
// RetryMin, and the wait doubles up to RetryMax. With the defaults a
// message is tried 7 times in the first hour and then once an hour, for
// about three days, before it is marked failed.
type Worker struct {
	Store    *store.Store
	Composer *Composer
	Sender   Sender
	Log      *slog.Logger
	// Now is the clock; nil uses time.Now.
	Now         func() time.Time
	RetryMin    time.Duration
	RetryMax    time.Duration
	MaxAttempts int
	// Lease is how long a claimed message is hidden from other workers,
	// such as those of other replicas; 0 is DefaultLease. A worker that
	// dies while sending leaves the message to another one when it ends.
	Lease time.Duration
}

func (w *Worker) lease() time.Duration {
	if w.Lease > 0 {
		return w.Lease
	}
	return DefaultLease
}

func (w *Worker) now() time.Time {
	if w.Now != nil {
		return w.Now().UTC()
	}
	return time.Now().UTC()
}

// backoff returns the wait after the given number of failed attempts.
func (w *Worker) backoff(attempts int) time.Duration {
	wait, limit := w.RetryMin, w.RetryMax
	if wait <= 0 {
		wait = DefaultRetryMin
	}
	if limit <= 0 {
		limit = DefaultRetryMax
	}
	for i := 1; i < attempts && wait < limit; i++ {
		wait *= 2
	}
	return min(wait, limit)
}

func (w *Worker) maxAttempts() int {
	if w.MaxAttempts > 0 {
		return w.MaxAttempts
	}
	return DefaultMaxAttempts
}

// Run sends due notifications every interval until ctx ends.
func (w *Worker) Run(ctx context.Context, interval time.Duration) {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		if _, err := w.RunOnce(ctx); err != nil && ctx.Err() == nil {
			w.Log.Error("read the e-mail queue", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// RunOnce sends the notifications due now and returns how many were sent.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	sent := 0
	for {
		batch, err := w.Store.ClaimNotifications(ctx, w.now(), w.lease(), batchSize)
		if err != nil {
			return sent, err
		}
		for _, n := range batch {
			if w.deliver(ctx, n) {
				sent++
			}
		}
		if len(batch) < batchSize {
			return sent, nil
		}
	}
}

// deliver renders and sends one claimed notification and records the
// outcome. It returns true when the message was sent.
func (w *Worker) deliver(ctx context.Context, n store.Notification) bool {
	messageID, err := w.send(ctx, n)
	if err == nil {
		if err := w.Store.MarkNotificationSent(ctx, n.ID, messageID, w.now()); err != nil {
			// The message went out; at worst it is sent again when the lease ends.
			w.Log.Error("record sent e-mail", "notification_id", n.ID, "error", err)
		}
		w.Log.Info("e-mail sent", "notification_id", n.ID, "kind", n.Kind, "order_id", n.OrderID,
			"message_id", messageID, "via", w.Sender.Describe())
		return true
	}
	if ctx.Err() != nil {
		// Shutting down: the lease ends and the message is retried at the next start.
		return false
	}

	// TODO: an operator command that lists failed messages and queues them
	// again; until then only this log line names them.
	if n.Attempts >= w.maxAttempts() || errors.Is(err, errNoRecipients) {
		w.Log.Error("e-mail given up", "notification_id", n.ID, "kind", n.Kind, "order_id", n.OrderID,
			"attempts", n.Attempts, "error", err)
		if err := w.Store.FailNotification(ctx, n.ID, err.Error()); err != nil {
			w.Log.Error("record failed e-mail", "notification_id", n.ID, "error", err)
		}
		return false
	}
	next := w.now().Add(w.backoff(n.Attempts))
	w.Log.Warn("e-mail not sent; will retry", "notification_id", n.ID, "kind", n.Kind, "order_id", n.OrderID,
		"attempt", n.Attempts, "retry_at", next.Format(time.RFC3339), "via", w.Sender.Describe(), "error", err)
	if err := w.Store.RetryNotification(ctx, n.ID, next, err.Error()); err != nil {
		w.Log.Error("reschedule e-mail", "notification_id", n.ID, "error", err)
	}
	return false
}

func (w *Worker) send(ctx context.Context, n store.Notification) (string, error) {
	m, err := w.Composer.Compose(ctx, n)
	if err != nil {
		return "", err
	}
	m.Date = w.now()
	m.MessageID = newMessageID(n.ID, m.From)
	raw, err := m.Bytes()
	if err != nil {
		return "", err
	}
	if err := w.Sender.Send(ctx, envelopeAddress(m.From), m.To, raw); err != nil {
		return "", err
	}
	return m.MessageID, nil
}
