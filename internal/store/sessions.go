package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ConsoleSession is a signed-in web console session with the caller it
// acts for. Its Caller has KeyID 0 and no key restriction, because a
// session is no API key.
type ConsoleSession struct {
	ID         int64
	Caller     Caller
	CSRFToken  string
	CreatedAt  time.Time
	LastSeenAt time.Time
}

// CreateConsoleSession stores a new session of userID. tokenHash is the
// SHA-256 of the session cookie's value.
func (s *Store) CreateConsoleSession(ctx context.Context, userID int64, tokenHash []byte, csrfToken string) (int64, error) {
	t := formatTime(now())
	var id int64
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx,
			`INSERT INTO console_sessions (token_hash, user_id, csrf_token, created_at, last_seen_at)
			 VALUES (?, ?, ?, ?, ?) RETURNING id`,
			tokenHash, userID, csrfToken, t, t).Scan(&id)
		if err != nil {
			return fmt.Errorf("insert console session of user %d: %w", userID, err)
		}
		return nil
	})
	return id, err
}

// ConsoleSessionByTokenHash returns the session whose cookie hashes to
// tokenHash, with its user and account. A session of a deleted user is
// ErrNotFound. The caller checks the idle and absolute timeouts.
func (s *Store) ConsoleSessionByTokenHash(ctx context.Context, tokenHash []byte) (*ConsoleSession, error) {
	row := s.db.QueryRowContext(ctx,
		`SELECT `+userColumns+`, a.name, a.approval_policy, a.created_at,
		        (SELECT MIN(c.id) FROM containers c WHERE c.account_id = a.id AND c.parent_id IS NULL),
		        cs.id, cs.csrf_token, cs.created_at, cs.last_seen_at
		   FROM console_sessions cs
		   JOIN users u ON u.id = cs.user_id
		   JOIN accounts a ON a.id = u.account_id
		  WHERE cs.token_hash = ? AND u.deleted_at IS NULL`, tokenHash)

	var cs ConsoleSession
	var created, accountCreated, sessionCreated, lastSeen string
	u := &cs.Caller.User
	err := row.Scan(&u.ID, &u.AccountID, &u.ContainerID, &u.Username, &u.FirstName, &u.LastName,
		&u.Email, &u.JobTitle, &u.Telephone, &u.Role, &created,
		&cs.Caller.Account.Name, &cs.Caller.Account.ApprovalPolicy, &accountCreated, &cs.Caller.Account.RootContainerID,
		&cs.ID, &cs.CSRFToken, &sessionCreated, &lastSeen)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read console session: %w", err)
	}
	u.CreatedAt = parseTime(created)
	cs.Caller.Account.ID = u.AccountID
	cs.Caller.Account.CreatedAt = parseTime(accountCreated)
	cs.CreatedAt, cs.LastSeenAt = parseTime(sessionCreated), parseTime(lastSeen)
	return &cs, nil
}

// TouchConsoleSession sets a session's last activity to now.
func (s *Store) TouchConsoleSession(ctx context.Context, id int64) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE console_sessions SET last_seen_at = ? WHERE id = ?`, formatTime(now()), id); err != nil {
			return fmt.Errorf("touch console session %d: %w", id, err)
		}
		return nil
	})
}

// DeleteConsoleSession removes a session, which signs it out. Deleting a
// session that is gone already is no error.
func (s *Store) DeleteConsoleSession(ctx context.Context, id int64) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM console_sessions WHERE id = ?`, id); err != nil {
			return fmt.Errorf("delete console session %d: %w", id, err)
		}
		return nil
	})
}

// DeleteStaleConsoleSessions removes the sessions idle since before
// idleBefore or created before createdBefore, and returns how many.
func (s *Store) DeleteStaleConsoleSessions(ctx context.Context, idleBefore, createdBefore time.Time) (int64, error) {
	var n int64
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			`DELETE FROM console_sessions WHERE last_seen_at < ? OR created_at < ?`,
			formatTime(idleBefore), formatTime(createdBefore))
		if err != nil {
			return fmt.Errorf("delete stale console sessions: %w", err)
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return n, err
}
