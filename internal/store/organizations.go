package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Contact is a person named on an organization.
type Contact struct {
	ID                 int64  `json:"id,omitempty"`
	FirstName          string `json:"first_name"`
	LastName           string `json:"last_name"`
	Email              string `json:"email"`
	JobTitle           string `json:"job_title"`
	Telephone          string `json:"telephone"`
	TelephoneExtension string `json:"telephone_extension,omitempty"`
}

// Organization is a legal entity whose name goes into certificates once validated.
type Organization struct {
	ID                  int64
	AccountID           int64
	ContainerID         int64
	Name                string
	AssumedName         string
	Address             string
	Address2            string
	City                string
	State               string
	Zip                 string
	Country             string
	Telephone           string
	NormalizedKey       string
	OrganizationContact Contact
	TechnicalContact    *Contact
	IsActive            bool
	CreatedAt           time.Time
}

// Validation is the state of one validation type (such as "ds") of an organization.
type Validation struct {
	ID             int64
	OrganizationID int64
	Type           string
	Status         string // "pending" until the operator completes it, then "active"
	VerifiedUsers  json.RawMessage
	DateCreated    time.Time
	ValidatedUntil time.Time
}

// Validation statuses.
const (
	ValidationPending = "pending"
	ValidationActive  = "active"
)

const orgColumns = `id, account_id, container_id, name, assumed_name, address, address2, city, state, zip, country,
	telephone, normalized_key, organization_contact, technical_contact, is_active, created_at`

func scanOrganization(row interface{ Scan(...any) error }) (*Organization, error) {
	var o Organization
	var contact string
	var technical sql.NullString
	var created string
	err := row.Scan(&o.ID, &o.AccountID, &o.ContainerID, &o.Name, &o.AssumedName, &o.Address, &o.Address2,
		&o.City, &o.State, &o.Zip, &o.Country, &o.Telephone, &o.NormalizedKey, &contact, &technical,
		&o.IsActive, &created)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(contact), &o.OrganizationContact); err != nil {
		return nil, fmt.Errorf("decode organization_contact of organization %d: %w", o.ID, err)
	}
	if technical.Valid {
		o.TechnicalContact = new(Contact)
		if err := json.Unmarshal([]byte(technical.String), o.TechnicalContact); err != nil {
			return nil, fmt.Errorf("decode technical_contact of organization %d: %w", o.ID, err)
		}
	}
	o.CreatedAt = parseTime(created)
	return &o, nil
}

// CreateOrganization inserts an organization. Unless skipDuplicateCheck is
// set, an existing organization of the account with the same normalized key
// is returned instead and created is false.
func (s *Store) CreateOrganization(ctx context.Context, o Organization, skipDuplicateCheck bool) (org *Organization, created bool, err error) {
	return s.CreateOrganizationInScope(ctx, o, skipDuplicateCheck, nil)
}

// CreateOrganizationInScope is CreateOrganization with the duplicate check
// limited to the organizations of scope, so that a caller is never handed
// an organization it may not see.
func (s *Store) CreateOrganizationInScope(ctx context.Context, o Organization, skipDuplicateCheck bool, scope *Scope) (org *Organization, created bool, err error) {
	err = s.withTx(ctx, func(tx *sql.Tx) error {
		org, created, err = createOrganizationTx(ctx, tx, o, skipDuplicateCheck, scope)
		return err
	})
	return org, created, err
}

func createOrganizationTx(ctx context.Context, tx *sql.Tx, o Organization, skipDuplicateCheck bool, scope *Scope) (*Organization, bool, error) {
	if !skipDuplicateCheck {
		q := organizationKeyQuery(o.AccountID, o.NormalizedKey, scope)
		row := tx.QueryRowContext(ctx, `SELECT `+orgColumns+` FROM organizations`+q.whereSQL()+` ORDER BY id LIMIT 1`, q.args...)
		existing, err := scanOrganization(row)
		if err == nil {
			return existing, false, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return nil, false, fmt.Errorf("look up duplicate organization: %w", err)
		}
	}

	contact, err := json.Marshal(o.OrganizationContact)
	if err != nil {
		return nil, false, err
	}
	var technical any
	if o.TechnicalContact != nil {
		b, err := json.Marshal(o.TechnicalContact)
		if err != nil {
			return nil, false, err
		}
		technical = string(b)
	}

	t := now()
	err = insertID(ctx, tx, &o.ID,
		`INSERT INTO organizations (account_id, container_id, name, assumed_name, address, address2, city, state, zip,
		   country, telephone, normalized_key, organization_contact, technical_contact, is_active, created_at)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)`,
		o.AccountID, o.ContainerID, o.Name, o.AssumedName, o.Address, o.Address2, o.City, o.State, o.Zip,
		o.Country, o.Telephone, o.NormalizedKey, string(contact), technical, formatTime(t))
	if err != nil {
		return nil, false, fmt.Errorf("insert organization: %w", err)
	}
	o.IsActive = true
	o.CreatedAt = t
	if err := appendAudit(ctx, tx, organizationCreatedEvent(o)); err != nil {
		return nil, false, err
	}
	return &o, true, nil
}

// organizationKeyQuery selects the organizations of the account and scope
// with a normalized key.
func organizationKeyQuery(accountID int64, key string, scope *Scope) *listQuery {
	q := &listQuery{}
	q.where("account_id = ?", accountID)
	q.where("normalized_key = ?", key)
	scope.addOrganizationConditions(q, "container_id")
	return q
}

// FindOrganizationByKey returns the oldest organization of the account and
// scope with the normalized key, or ErrNotFound. A nil scope searches the
// whole account.
func (s *Store) FindOrganizationByKey(ctx context.Context, accountID int64, key string, scope *Scope) (*Organization, error) {
	q := organizationKeyQuery(accountID, key, scope)
	row := s.db.QueryRowContext(ctx, `SELECT `+orgColumns+` FROM organizations`+q.whereSQL()+` ORDER BY id LIMIT 1`, q.args...)
	o, err := scanOrganization(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return o, err
}

// Organization returns an organization of the account, or ErrNotFound.
func (s *Store) Organization(ctx context.Context, accountID, id int64) (*Organization, error) {
	row := s.db.QueryRowContext(ctx, `SELECT `+orgColumns+` FROM organizations WHERE id = ? AND account_id = ?`, id, accountID)
	o, err := scanOrganization(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read organization %d: %w", id, err)
	}
	return o, nil
}

// OrganizationByID returns an organization of any account. It is for
// operator commands, which act for the CA rather than for a tenant.
func (s *Store) OrganizationByID(ctx context.Context, id int64) (*Organization, error) {
	row := s.db.QueryRowContext(ctx, `SELECT `+orgColumns+` FROM organizations WHERE id = ?`, id)
	o, err := scanOrganization(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read organization %d: %w", id, err)
	}
	return o, nil
}

// SubmitValidations records a validation request of each type for the
// organization. A type that is already pending or active is left as it is.
func (s *Store) SubmitValidations(ctx context.Context, orgID int64, types []string, verifiedUsers json.RawMessage) error {
	if len(verifiedUsers) == 0 {
		verifiedUsers = json.RawMessage("[]")
	}
	t := now()
	return s.withTx(ctx, func(tx *sql.Tx) error {
		for _, typ := range types {
			res, err := tx.ExecContext(ctx,
				`INSERT INTO validations (organization_id, type, status, verified_users, date_created)
				 VALUES (?, ?, ?, ?, ?)
				 ON CONFLICT (organization_id, type) DO NOTHING`,
				orgID, typ, ValidationPending, string(verifiedUsers), formatTime(t))
			if err != nil {
				return fmt.Errorf("insert validation %s for organization %d: %w", typ, orgID, err)
			}
			if n, _ := res.RowsAffected(); n == 1 {
				if err := validationEventTx(ctx, tx, AuditValidationSubmitted, orgID, typ, time.Time{}); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// CompleteValidation marks a validation active until validatedUntil. It
// creates the validation when none was submitted, since the operator's word
// is what counts.
func (s *Store) CompleteValidation(ctx context.Context, orgID int64, typ string, validatedUntil time.Time) error {
	t := now()
	return s.withTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx,
			`INSERT INTO validations (organization_id, type, status, date_created, validated_until)
			 VALUES (?, ?, ?, ?, ?)
			 ON CONFLICT (organization_id, type) DO UPDATE SET status = excluded.status, validated_until = excluded.validated_until`,
			orgID, typ, ValidationActive, formatTime(t), formatTime(validatedUntil))
		if err != nil {
			return fmt.Errorf("complete validation %s for organization %d: %w", typ, orgID, err)
		}
		return validationEventTx(ctx, tx, AuditValidationCompleted, orgID, typ, validatedUntil)
	})
}

// Validations lists an organization's validations.
func (s *Store) Validations(ctx context.Context, orgID int64) ([]Validation, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT id, organization_id, type, status, verified_users, date_created, validated_until
		   FROM validations WHERE organization_id = ? ORDER BY id`, orgID)
	if err != nil {
		return nil, fmt.Errorf("list validations of organization %d: %w", orgID, err)
	}
	defer rows.Close()

	var out []Validation
	for rows.Next() {
		var v Validation
		var users, created string
		var until sql.NullString
		if err := rows.Scan(&v.ID, &v.OrganizationID, &v.Type, &v.Status, &users, &created, &until); err != nil {
			return nil, err
		}
		v.VerifiedUsers = json.RawMessage(users)
		v.DateCreated = parseTime(created)
		v.ValidatedUntil = nullTime(until)
		out = append(out, v)
	}
	return out, rows.Err()
}
