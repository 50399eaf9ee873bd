package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Account approval policies. "required" sends every order to an approver;
// "skip_for_administrators" approves an administrator's order by policy when
// it is placed, as CertCentral's "skip approval step" account preference does.
const (
	ApprovalRequired              = "required"
	ApprovalSkipForAdministrators = "skip_for_administrators"
)

// Role names follow CertCentral's access roles.
const (
	RoleAdministrator = "administrator"
	RoleManager       = "manager"
	RoleStandardUser  = "user"
	// RoleLimitedUser places and manages orders like a standard user.
	RoleLimitedUser = "limited_user"
	// RoleFinanceManager reads orders and the account's finances.
	RoleFinanceManager = "finance_manager"
)

// Account is a tenant of the CA.
type Account struct {
	ID              int64
	Name            string
	ApprovalPolicy  string
	RootContainerID int64
	CreatedAt       time.Time
}

// User is a person or service user of an account.
type User struct {
	ID          int64
	AccountID   int64
	ContainerID int64
	Username    string
	FirstName   string
	LastName    string
	Email       string
	JobTitle    string
	Telephone   string
	Role        string
	CreatedAt   time.Time
}

// NewAccount describes an account and its first administrator.
type NewAccount struct {
	Name           string
	ApprovalPolicy string
	Admin          User
	KeyHash        []byte
	KeyPrefix      string
}

// Caller is the authenticated principal behind an API key.
type Caller struct {
	User    User
	Account Account
	// KeyID is the id of the API key that authenticated the request.
	KeyID int64
	// KeyRestriction is the key's CertCentral restriction id; 0 means the
	// key allows whatever the user's role allows.
	KeyRestriction int
}

// CreateAccount creates an account, its root container, its administrator
// and the administrator's API key in one transaction.
func (s *Store) CreateAccount(ctx context.Context, in NewAccount) (*Caller, error) {
	t := now()
	policy := in.ApprovalPolicy
	if policy == "" {
		policy = ApprovalRequired
	}

	var caller Caller
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		var accountID int64
		err := insertID(ctx, tx, &accountID,
			`INSERT INTO accounts (name, approval_policy, created_at) VALUES (?, ?, ?)`,
			in.Name, policy, formatTime(t))
		if err != nil {
			return fmt.Errorf("insert account: %w", err)
		}

		var containerID int64
		err = insertID(ctx, tx, &containerID,
			`INSERT INTO containers (account_id, name, created_at) VALUES (?, ?, ?)`,
			accountID, in.Name, formatTime(t))
		if err != nil {
			return fmt.Errorf("insert container: %w", err)
		}

		u := in.Admin
		var userID int64
		err = insertID(ctx, tx, &userID,
			`INSERT INTO users (account_id, container_id, username, first_name, last_name, email, job_title, telephone, role, created_at)
			 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			accountID, containerID, u.Username, u.FirstName, u.LastName, u.Email, u.JobTitle, u.Telephone, RoleAdministrator, formatTime(t))
		if err != nil {
			if isUniqueViolation(err) {
				return fmt.Errorf("username %q is taken: %w", u.Username, ErrConflict)
			}
			return fmt.Errorf("insert user: %w", err)
		}

		if _, err := tx.ExecContext(ctx,
			`INSERT INTO api_keys (user_id, key_hash, key_prefix, created_at) VALUES (?, ?, ?, ?)`,
			userID, in.KeyHash, in.KeyPrefix, formatTime(t)); err != nil {
			return fmt.Errorf("insert api key: %w", err)
		}

		caller.Account = Account{ID: accountID, Name: in.Name, ApprovalPolicy: policy, RootContainerID: containerID, CreatedAt: t}
		u.ID, u.AccountID, u.ContainerID, u.Role, u.CreatedAt = userID, accountID, containerID, RoleAdministrator, t
		caller.User = u
		return accountCreatedTx(ctx, tx, &caller, in.KeyHash)
	})
	if err != nil {
		return nil, err
	}
	return &caller, nil
}

// CountAccounts returns the number of accounts, which is zero before bootstrap.
func (s *Store) CountAccounts(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM accounts`).Scan(&n)
	return n, err
}

const userColumns = `u.id, u.account_id, u.container_id, u.username, u.first_name, u.last_name, u.email, u.job_title, u.telephone, u.role, u.created_at`

func scanUser(row interface{ Scan(...any) error }) (User, error) {
	var u User
	var created string
	err := row.Scan(&u.ID, &u.AccountID, &u.ContainerID, &u.Username, &u.FirstName, &u.LastName,
		&u.Email, &u.JobTitle, &u.Telephone, &u.Role, &created)
	u.CreatedAt = parseTime(created)
	return u, err
}

// CallerByKeyHash returns the user and account of an active API key.
func (s *Store) CallerByKeyHash(ctx context.Context, hash []byte) (*Caller, error) {
	row := s.db.QueryRowContext(ctx,
		`SELECT `+userColumns+`, a.name, a.approval_policy, a.created_at,
		        (SELECT MIN(c.id) FROM containers c WHERE c.account_id = a.id AND c.parent_id IS NULL),
		        k.id, k.restriction
		   FROM api_keys k
		   JOIN users u ON u.id = k.user_id
		   JOIN accounts a ON a.id = u.account_id
		  WHERE k.key_hash = ? AND k.revoked_at IS NULL AND u.deleted_at IS NULL
		    AND (k.expires_at IS NULL OR k.expires_at > ?)`, hash, formatTime(now()))

	var c Caller
	var u User
	var created, accountCreated string
	err := row.Scan(&u.ID, &u.AccountID, &u.ContainerID, &u.Username, &u.FirstName, &u.LastName,
		&u.Email, &u.JobTitle, &u.Telephone, &u.Role, &created,
		&c.Account.Name, &c.Account.ApprovalPolicy, &accountCreated, &c.Account.RootContainerID,
		&c.KeyID, &c.KeyRestriction)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("look up api key: %w", err)
	}
	u.CreatedAt = parseTime(created)
	c.User = u
	c.Account.ID = u.AccountID
	c.Account.CreatedAt = parseTime(accountCreated)
	return &c, nil
}

// UserInAccount returns a user of the account.
func (s *Store) UserInAccount(ctx context.Context, accountID, userID int64) (*User, error) {
	row := s.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users u WHERE u.id = ? AND u.account_id = ?`, userID, accountID)
	u, err := scanUser(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read user %d: %w", userID, err)
	}
	return &u, nil
}

// ContainerInAccount reports whether the container belongs to the account.
func (s *Store) ContainerInAccount(ctx context.Context, accountID, containerID int64) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx,
		`SELECT COUNT(*) FROM containers WHERE id = ? AND account_id = ?`, containerID, accountID).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("read container %d: %w", containerID, err)
	}
	return n == 1, nil
}
