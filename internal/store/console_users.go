package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// AuditConsoleUserCreated is a user created with console credentials by
// `docsign-ca users add`. Its data names the user, role and whether TOTP
// is on, never the password or the TOTP secret.
const AuditConsoleUserCreated = "console_user.created"

// ConsoleCredential is the password hash and TOTP secret of a web console user.
type ConsoleCredential struct {
	// PasswordHash is an encoded argon2id hash with its parameters and salt.
	PasswordHash string
	// TOTPSecret is the base32 RFC 6238 secret, or empty when the user
	// signs in without a TOTP code.
	TOTPSecret string
	// TOTPLastStep is the time step of the last accepted TOTP code.
	TOTPLastStep int64
}

// ConsoleLogin is an active user with console credentials, as sign-in
// reads it.
type ConsoleLogin struct {
	Caller     Caller
	Credential ConsoleCredential
}

// CreateConsoleUser adds a user to the account together with its console
// credential, in one transaction. u.ContainerID must be a container of the
// account (ErrNotFound otherwise); a taken username is ErrConflict.
func (s *Store) CreateConsoleUser(ctx context.Context, accountID int64, u User, cred ConsoleCredential) (*User, error) {
	t := now()
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM containers WHERE id = ? AND account_id = ?`, u.ContainerID, accountID).Scan(&n); err != nil {
			return fmt.Errorf("read container %d: %w", u.ContainerID, err)
		}
		if n == 0 {
			return fmt.Errorf("container %d of account %d: %w", u.ContainerID, accountID, ErrNotFound)
		}

		err := tx.QueryRowContext(ctx,
			`INSERT INTO users (account_id, container_id, username, first_name, last_name, email, job_title, telephone, role, created_at)
			 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			accountID, u.ContainerID, u.Username, u.FirstName, u.LastName, u.Email, u.JobTitle, u.Telephone, u.Role, formatTime(t)).Scan(&u.ID)
		if err != nil {
			if isUniqueViolation(err) {
				return fmt.Errorf("username %q is taken: %w", u.Username, ErrConflict)
			}
			return fmt.Errorf("insert user: %w", err)
		}

		if _, err := tx.ExecContext(ctx,
			`INSERT INTO console_credentials (user_id, password_hash, totp_secret, totp_last_step, created_at, updated_at)
			 VALUES (?, ?, ?, ?, ?, ?)`,
			u.ID, cred.PasswordHash, cred.TOTPSecret, 0, formatTime(t), formatTime(t)); err != nil {
			return fmt.Errorf("insert console credential of user %d: %w", u.ID, err)
		}

		return appendAudit(ctx, tx, AuditEvent{
			Type: AuditConsoleUserCreated, AccountID: accountID, UserID: u.ID,
			Data: map[string]any{"username": u.Username, "role": u.Role, "container_id": u.ContainerID, "totp": cred.TOTPSecret != ""},
		})
	})
	if err != nil {
		return nil, err
	}
	u.AccountID, u.CreatedAt = accountID, t
	return &u, nil
}

// ConsoleLoginByUsername returns an active user with console credentials
// and its account. A deleted user, or one without a console credential,
// is ErrNotFound.
func (s *Store) ConsoleLoginByUsername(ctx context.Context, username string) (*ConsoleLogin, error) {
	row := s.db.QueryRowContext(ctx,
		`SELECT `+userColumns+`, a.name, a.approval_policy, a.created_at,
		        (SELECT MIN(c.id) FROM containers c WHERE c.account_id = a.id AND c.parent_id IS NULL),
		        cc.password_hash, cc.totp_secret, cc.totp_last_step
		   FROM console_credentials cc
		   JOIN users u ON u.id = cc.user_id
		   JOIN accounts a ON a.id = u.account_id
		  WHERE u.username = ? AND u.deleted_at IS NULL`, username)

	var l ConsoleLogin
	var created, accountCreated string
	u := &l.Caller.User
	err := row.Scan(&u.ID, &u.AccountID, &u.ContainerID, &u.Username, &u.FirstName, &u.LastName,
		&u.Email, &u.JobTitle, &u.Telephone, &u.Role, &created,
		&l.Caller.Account.Name, &l.Caller.Account.ApprovalPolicy, &accountCreated, &l.Caller.Account.RootContainerID,
		&l.Credential.PasswordHash, &l.Credential.TOTPSecret, &l.Credential.TOTPLastStep)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read console credential of %q: %w", username, err)
	}
	u.CreatedAt = parseTime(created)
	l.Caller.Account.ID = u.AccountID
	l.Caller.Account.CreatedAt = parseTime(accountCreated)
	return &l, nil
}

// UseTOTPStep records step as the user's last accepted TOTP time step. A
// step at or below the recorded one is ErrConflict, so each code signs in
// once (RFC 6238 §5.2).
func (s *Store) UseTOTPStep(ctx context.Context, userID, step int64) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			`UPDATE console_credentials SET totp_last_step = ?, updated_at = ? WHERE user_id = ? AND totp_last_step < ?`,
			step, formatTime(now()), userID, step)
		if err != nil {
			return fmt.Errorf("record TOTP step of user %d: %w", userID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("TOTP step %d of user %d was already used: %w", step, userID, ErrConflict)
		}
		return nil
	})
}
