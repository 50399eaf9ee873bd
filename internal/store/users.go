package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ContainerSubtree returns the id of a container of the account and of
// every container below it.
func (s *Store) ContainerSubtree(ctx context.Context, accountID, rootID int64) ([]int64, error) {
	rows, err := s.db.QueryContext(ctx,
		`WITH RECURSIVE subtree(id) AS (
		     SELECT id FROM containers WHERE id = ? AND account_id = ?
		     UNION ALL
		     SELECT c.id FROM containers c JOIN subtree t ON c.parent_id = t.id
		 )
		 SELECT id FROM subtree ORDER BY id`, rootID, accountID)
	if err != nil {
		return nil, fmt.Errorf("read subtree of container %d: %w", rootID, err)
	}
	defer rows.Close()

	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("read container id: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// CreateContainer adds a container below parentID, which must be a
// container of the account.
func (s *Store) CreateContainer(ctx context.Context, accountID, parentID int64, name string) (*Container, error) {
	t := now()
	c := Container{AccountID: accountID, ParentID: parentID, Name: name, CreatedAt: t}
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM containers WHERE id = ? AND account_id = ?`, parentID, accountID).Scan(&n); err != nil {
			return fmt.Errorf("read container %d: %w", parentID, err)
		}
		if n == 0 {
			return ErrNotFound
		}

		err := insertID(ctx, tx, &c.ID,
			`INSERT INTO containers (account_id, parent_id, name, created_at) VALUES (?, ?, ?, ?)`,
			accountID, parentID, name, formatTime(t))
		if err != nil {
			return fmt.Errorf("insert container: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// ContainerChildren returns the containers directly below a container.
func (s *Store) ContainerChildren(ctx context.Context, accountID, parentID int64) ([]Container, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT `+containerColumns+` FROM containers WHERE account_id = ? AND parent_id = ? ORDER BY id`, accountID, parentID)
	if err != nil {
		return nil, fmt.Errorf("list children of container %d: %w", parentID, err)
	}
	defer rows.Close()

	var out []Container
	for rows.Next() {
		c, err := scanContainer(rows)
		if err != nil {
			return nil, fmt.Errorf("read container: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// CreateUser adds a user to the account. u.ContainerID must be a container
// of the account; the username must be unused (ErrConflict otherwise).
func (s *Store) CreateUser(ctx context.Context, accountID int64, u User) (*User, error) {
	t := now()
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM containers WHERE id = ? AND account_id = ?`, u.ContainerID, accountID).Scan(&n); err != nil {
			return fmt.Errorf("read container %d: %w", u.ContainerID, err)
		}
		if n == 0 {
			return ErrNotFound
		}

		err := insertID(ctx, tx, &u.ID,
			`INSERT INTO users (account_id, container_id, username, first_name, last_name, email, job_title, telephone, role, created_at)
			 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			accountID, u.ContainerID, u.Username, u.FirstName, u.LastName, u.Email, u.JobTitle, u.Telephone, u.Role, formatTime(t))
		if err != nil {
			if isUniqueViolation(err) {
				return fmt.Errorf("username %q is taken: %w", u.Username, ErrConflict)
			}
			return fmt.Errorf("insert user: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	u.AccountID, u.CreatedAt = accountID, t
	return &u, nil
}

// UpdateUser replaces the editable fields of a user of the account: names,
// e-mail, job title, telephone, role and container.
func (s *Store) UpdateUser(ctx context.Context, accountID int64, u User) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			`UPDATE users SET first_name = ?, last_name = ?, email = ?, job_title = ?, telephone = ?, role = ?, container_id = ?
			  WHERE id = ? AND account_id = ? AND deleted_at IS NULL
			    AND EXISTS (SELECT 1 FROM containers WHERE id = ? AND account_id = ?)`,
			u.FirstName, u.LastName, u.Email, u.JobTitle, u.Telephone, u.Role, u.ContainerID,
			u.ID, accountID, u.ContainerID, accountID)
		if err != nil {
			return fmt.Errorf("update user %d: %w", u.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return nil
	})
}

// DeleteUser marks a user deleted and revokes its API keys in one
// transaction. The row stays, because orders and requests name it.
func (s *Store) DeleteUser(ctx context.Context, accountID, actorID, userID int64) error {
	t := formatTime(now())
	return s.withTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			`UPDATE users SET deleted_at = ? WHERE id = ? AND account_id = ? AND deleted_at IS NULL`, t, userID, accountID)
		if err != nil {
			return fmt.Errorf("delete user %d: %w", userID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}

		keys, err := activeKeyIDs(ctx, tx, userID)
		if err != nil {
			return err
		}
		for _, id := range keys {
			if err := revokeKeyTx(ctx, tx, accountID, actorID, userID, id, t); err != nil {
				return err
			}
		}
		return nil
	})
}

func activeKeyIDs(ctx context.Context, tx *sql.Tx, userID int64) ([]int64, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id FROM api_keys WHERE user_id = ? AND revoked_at IS NULL`, userID)
	if err != nil {
		return nil, fmt.Errorf("list api keys of user %d: %w", userID, err)
	}
	defer rows.Close()

	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("read api key id: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// APIKey is the stored record of an API key: never the key itself, only
// its hash and the first characters (Prefix) that tell keys apart.
type APIKey struct {
	ID          int64
	UserID      int64
	Name        string
	Prefix      string
	Restriction int
	CreatedAt   time.Time
	// ExpiresAt is zero for a key that does not expire.
	ExpiresAt time.Time
	// RevokedAt is zero for a key that is not revoked.
	RevokedAt time.Time
}

// NewAPIKey describes a key to store for a user of AccountID.
type NewAPIKey struct {
	AccountID   int64
	UserID      int64
	Name        string
	Hash        []byte
	Prefix      string
	Restriction int
	ExpiresAt   time.Time
}

// CreateAPIKey stores a key's hash for an active user of the account and
// writes the api_key.created audit row in the same transaction.
func (s *Store) CreateAPIKey(ctx context.Context, in NewAPIKey) (*APIKey, error) {
	t := now()
	k := APIKey{UserID: in.UserID, Name: in.Name, Prefix: in.Prefix, Restriction: in.Restriction, CreatedAt: t, ExpiresAt: in.ExpiresAt}
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		var role string
		err := tx.QueryRowContext(ctx, `SELECT role FROM users WHERE id = ? AND account_id = ? AND deleted_at IS NULL`,
			in.UserID, in.AccountID).Scan(&role)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("read user %d: %w", in.UserID, err)
		}

		var expires sql.NullString
		if !in.ExpiresAt.IsZero() {
			expires = sql.NullString{String: formatTime(in.ExpiresAt), Valid: true}
		}
		err = insertID(ctx, tx, &k.ID,
			`INSERT INTO api_keys (user_id, key_hash, key_prefix, restriction, name, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			in.UserID, in.Hash, in.Prefix, in.Restriction, in.Name, expires, formatTime(t))
		if err != nil {
			return fmt.Errorf("insert api key: %w", err)
		}

		// The key and its hash stay out of the log; the id names the row.
		return appendAudit(ctx, tx, AuditEvent{
			Type: AuditAPIKeyCreated, AccountID: in.AccountID, UserID: in.UserID,
			Data: map[string]any{"api_key_id": k.ID, "role": role, "restriction": in.Restriction, "expires_at": expires.String},
		})
	})
	if err != nil {
		return nil, err
	}
	return &k, nil
}

// APIKeysOf lists a user's API keys, revoked ones included, oldest first.
func (s *Store) APIKeysOf(ctx context.Context, accountID, userID int64) ([]APIKey, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT k.id, k.user_id, k.name, k.key_prefix, k.restriction, k.created_at, k.expires_at, k.revoked_at
		   FROM api_keys k JOIN users u ON u.id = k.user_id
		  WHERE k.user_id = ? AND u.account_id = ? ORDER BY k.id`, userID, accountID)
	if err != nil {
		return nil, fmt.Errorf("list api keys of user %d: %w", userID, err)
	}
	defer rows.Close()

	var out []APIKey
	for rows.Next() {
		var k APIKey
		var created string
		var expires, revoked sql.NullString
		if err := rows.Scan(&k.ID, &k.UserID, &k.Name, &k.Prefix, &k.Restriction, &created, &expires, &revoked); err != nil {
			return nil, fmt.Errorf("read api key: %w", err)
		}
		k.CreatedAt, k.ExpiresAt, k.RevokedAt = parseTime(created), nullTime(expires), nullTime(revoked)
		out = append(out, k)
	}
	return out, rows.Err()
}

// RevokeAPIKey revokes an active key of userID and writes the
// api_key.revoked audit row in the same transaction. actorID is the user
// who revoked it. A key of another user, or one already revoked, is
// ErrNotFound.
func (s *Store) RevokeAPIKey(ctx context.Context, accountID, actorID, userID, keyID int64) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		var n int
		err := tx.QueryRowContext(ctx,
			`SELECT COUNT(*) FROM api_keys k JOIN users u ON u.id = k.user_id
			  WHERE k.id = ? AND k.user_id = ? AND u.account_id = ? AND k.revoked_at IS NULL`,
			keyID, userID, accountID).Scan(&n)
		if err != nil {
			return fmt.Errorf("read api key %d: %w", keyID, err)
		}
		if n == 0 {
			return ErrNotFound
		}
		return revokeKeyTx(ctx, tx, accountID, actorID, userID, keyID, formatTime(now()))
	})
}

func revokeKeyTx(ctx context.Context, tx *sql.Tx, accountID, actorID, ownerID, keyID int64, at string) error {
	if _, err := tx.ExecContext(ctx, `UPDATE api_keys SET revoked_at = ? WHERE id = ?`, at, keyID); err != nil {
		return fmt.Errorf("revoke api key %d: %w", keyID, err)
	}
	return appendAudit(ctx, tx, AuditEvent{
		Type: AuditAPIKeyRevoked, AccountID: accountID, UserID: actorID,
		Data: map[string]any{"api_key_id": keyID, "owner_user_id": ownerID},
	})
}

// ActiveUserInAccount returns a user of the account that is not deleted.
func (s *Store) ActiveUserInAccount(ctx context.Context, accountID, userID int64) (*User, error) {
	row := s.db.QueryRowContext(ctx,
		`SELECT `+userColumns+` FROM users u WHERE u.id = ? AND u.account_id = ? AND u.deleted_at IS NULL`, userID, accountID)
	u, err := scanUser(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read user %d: %w", userID, err)
	}
	return &u, nil
}

// ActiveUserByID returns a user of any account that is not deleted. It is
// for operator commands, which act for the CA rather than for a tenant.
func (s *Store) ActiveUserByID(ctx context.Context, userID int64) (*User, error) {
	row := s.db.QueryRowContext(ctx,
		`SELECT `+userColumns+` FROM users u WHERE u.id = ? AND u.deleted_at IS NULL`, userID)
	u, err := scanUser(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read user %d: %w", userID, err)
	}
	return &u, nil
}
