package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ErrIdempotencyMismatch is returned when an Idempotency-Key is reused with
// a different request.
var ErrIdempotencyMismatch = errors.New("idempotency key was used with a different request")

// ErrIdempotencyInProgress is returned when the first request with a key
// has not finished yet.
var ErrIdempotencyInProgress = errors.New("a request with this idempotency key is still in progress")

// IdempotencyReservationLease is how long a reserved key waits for the
// request that holds it. A server that dies while it runs a request never
// stores the response, so a retry after the lease takes the key over and
// runs the request again.
//
// A request that placed an order before its server died is not run again:
// CreateOrder records the order on the key in its own transaction, and the
// retry gets an *OrphanedOrderError that names it.
//
// NOTE: other POSTs (reissue, duplicate, revoke requests) have no such
// link, so a server that dies after their change commits but before the
// response is stored lets the retry run them again.
const IdempotencyReservationLease = 15 * time.Second

// OrphanedOrderError is returned for a key whose first request placed an
// order and whose server died before it stored the response.
type OrphanedOrderError struct{ OrderID int64 }

func (e *OrphanedOrderError) Error() string {
	return fmt.Sprintf("the first request with this idempotency key placed order %d, but its response was not stored", e.OrderID)
}

// idempotencyKeyCtx carries the key that a request holds to CreateOrder.
type idempotencyKeyCtx struct{}

// reservedKey is the Idempotency-Key of one account that a request holds.
type reservedKey struct {
	accountID int64
	key       string
}

// WithIdempotencyKey marks ctx as the context of a request that holds key,
// so that an order it places is recorded on the key.
func WithIdempotencyKey(ctx context.Context, accountID int64, key string) context.Context {
	return context.WithValue(ctx, idempotencyKeyCtx{}, reservedKey{accountID: accountID, key: key})
}

// linkIdempotencyKeyTx records orderID on the key that ctx's request holds.
func linkIdempotencyKeyTx(ctx context.Context, tx *sql.Tx, orderID int64) error {
	reserved, ok := ctx.Value(idempotencyKeyCtx{}).(reservedKey)
	if !ok {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE idempotency_keys SET order_id = ? WHERE account_id = ? AND key = ? AND status = 0`,
		orderID, reserved.accountID, reserved.key); err != nil {
		return fmt.Errorf("record order %d on its idempotency key: %w", orderID, err)
	}
	return nil
}

// StoredResponse is the first answer to a request with an Idempotency-Key.
type StoredResponse struct {
	Status      int
	ContentType string
	Body        []byte
}

// ReserveIdempotencyKey claims key for a request whose hash is requestHash.
// It returns (nil, nil) when the caller holds the key and must run the
// request, the stored response when the same request already finished,
// ErrIdempotencyInProgress while the first request runs (for at most
// IdempotencyReservationLease), an *OrphanedOrderError after that when the
// first request placed an order, and
// ErrIdempotencyMismatch for another request under the same key.
func (s *Store) ReserveIdempotencyKey(ctx context.Context, accountID int64, key string, requestHash []byte) (*StoredResponse, error) {
	var stored *StoredResponse
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		var hash, body []byte
		var status int
		var contentType, created string
		var orderID sql.NullInt64
		err := tx.QueryRowContext(ctx,
			`SELECT request_hash, status, content_type, body, created_at, order_id FROM idempotency_keys WHERE account_id = ? AND key = ?`,
			accountID, key).Scan(&hash, &status, &contentType, &body, &created, &orderID)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			_, err := tx.ExecContext(ctx,
				`INSERT INTO idempotency_keys (account_id, key, request_hash, status, content_type, body, created_at)
				 VALUES (?, ?, ?, 0, '', ?, ?)`,
				accountID, key, requestHash, []byte{}, formatTime(now()))
			if err != nil {
				return fmt.Errorf("reserve idempotency key: %w", err)
			}
			return nil
		case err != nil:
			return fmt.Errorf("read idempotency key: %w", err)
		case !bytes.Equal(hash, requestHash):
			return ErrIdempotencyMismatch
		case status == 0 && now().Sub(parseTime(created)) < IdempotencyReservationLease:
			return ErrIdempotencyInProgress
		case status == 0 && orderID.Valid:
			// The server that reserved the key died after it placed the order.
			return &OrphanedOrderError{OrderID: orderID.Int64}
		case status == 0:
			// The server that reserved the key died; this request takes it over.
			if _, err := tx.ExecContext(ctx, `UPDATE idempotency_keys SET created_at = ? WHERE account_id = ? AND key = ?`,
				formatTime(now()), accountID, key); err != nil {
				return fmt.Errorf("take over idempotency key: %w", err)
			}
			return nil
		}
		stored = &StoredResponse{Status: status, ContentType: contentType, Body: body}
		return nil
	})
	return stored, err
}

// CompleteIdempotencyKey stores the response of the request holding key.
func (s *Store) CompleteIdempotencyKey(ctx context.Context, accountID int64, key string, resp StoredResponse) error {
	err := s.execWrite(ctx,
		`UPDATE idempotency_keys SET status = ?, content_type = ?, body = ? WHERE account_id = ? AND key = ?`,
		resp.Status, resp.ContentType, resp.Body, accountID, key)
	if err != nil {
		return fmt.Errorf("store idempotent response: %w", err)
	}
	return nil
}

// ReleaseIdempotencyKey forgets a reserved key whose request failed on the
// server side, so that the client can retry with the same key.
func (s *Store) ReleaseIdempotencyKey(ctx context.Context, accountID int64, key string) error {
	err := s.execWrite(ctx, `DELETE FROM idempotency_keys WHERE account_id = ? AND key = ? AND status = 0`, accountID, key)
	if err != nil {
		return fmt.Errorf("release idempotency key: %w", err)
	}
	return nil
}
