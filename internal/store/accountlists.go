package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// OrganizationFilter selects organizations. Zero fields select everything,
// and the fields that are set must all match.
type OrganizationFilter struct {
	ID          int64
	Name        *TextMatch
	Active      *bool
	Country     string // ISO 3166-1 alpha-2, any case
	ContainerID int64
	// UsableInContainer selects the organizations that orders placed in
	// that container may name: those of the container and of its ancestors.
	UsableInContainer int64
	// Search matches the name and the assumed name.
	Search *TextMatch
	// Scope limits the list to the organizations one caller may see; nil
	// lists the whole account.
	Scope *Scope
}

// OrganizationListQuery is one page of a filtered, sorted organization list.
type OrganizationListQuery struct {
	Filter OrganizationFilter
	Sort   []SortKey
	Page   Page
}

var organizationSortColumns = sortColumns{
	"id":           "id",
	"name":         "name COLLATE NOCASE",
	"status":       "CASE is_active WHEN 1 THEN 'active' ELSE 'inactive' END",
	"country":      "country",
	"date_created": "created_at",
	"container_id": "container_id",
}

// OrganizationSortFields lists the sortable fields of the organization list.
func OrganizationSortFields() []string { return organizationSortColumns.fields() }

// containerAncestors lists a container and every container above it.
const containerAncestors = `WITH RECURSIVE ancestors (id) AS (
		SELECT id FROM containers WHERE id = ?
		UNION
		SELECT c.parent_id FROM containers c JOIN ancestors a ON c.id = a.id WHERE c.parent_id IS NOT NULL
	) SELECT id FROM ancestors`

func buildOrganizationFilter(accountID int64, f OrganizationFilter) *listQuery {
	q := &listQuery{}
	q.where("account_id = ?", accountID)
	f.Scope.addOrganizationConditions(q, "container_id")
	if f.ID != 0 {
		q.where("id = ?", f.ID)
	}
	if f.Name != nil {
		q.whereText(*f.Name, "name")
	}
	if f.Active != nil {
		q.where("is_active = ?", boolInt(*f.Active))
	}
	if f.Country != "" {
		q.where("country = ? COLLATE NOCASE", f.Country)
	}
	if f.ContainerID != 0 {
		q.where("container_id = ?", f.ContainerID)
	}
	if f.UsableInContainer != 0 {
		q.where("container_id IN ("+containerAncestors+")", f.UsableInContainer)
	}
	if f.Search != nil {
		q.whereText(*f.Search, "name", "assumed_name")
	}
	return q
}

// ListOrganizations returns one page of the account's organizations and
// the number that match the filter on all pages.
func (s *Store) ListOrganizations(ctx context.Context, accountID int64, in OrganizationListQuery) ([]Organization, int64, error) {
	q := buildOrganizationFilter(accountID, in.Filter)
	order, err := orderBySQL(in.Sort, organizationSortColumns, "id")
	if err != nil {
		return nil, 0, err
	}
	limit, limitArgs := pageSQL(in.Page)

	var out []Organization
	var total int64
	err = s.withReadTx(ctx, func(tx *sql.Tx) error {
		var err error
		total, err = countRows(ctx, tx, `SELECT COUNT(*) FROM organizations`+q.whereSQL(), q.args)
		if err != nil {
			return fmt.Errorf("count organizations: %w", err)
		}

		rows, err := tx.QueryContext(ctx, `SELECT `+orgColumns+` FROM organizations`+q.whereSQL()+order+limit,
			append(append([]any{}, q.args...), limitArgs...)...)
		if err != nil {
			return fmt.Errorf("list organizations: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			o, err := scanOrganization(rows)
			if err != nil {
				return fmt.Errorf("read organization list row: %w", err)
			}
			out = append(out, *o)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

// ValidationsOf returns the validations of several organizations, keyed by
// organization id, in one query.
func (s *Store) ValidationsOf(ctx context.Context, orgIDs []int64) (map[int64][]Validation, error) {
	out := make(map[int64][]Validation, len(orgIDs))
	if len(orgIDs) == 0 {
		return out, nil
	}
	args := make([]any, len(orgIDs))
	for i, id := range orgIDs {
		args[i] = id
	}

	rows, err := s.db.QueryContext(ctx,
		`SELECT id, organization_id, type, status, verified_users, date_created, validated_until
		   FROM validations WHERE organization_id IN (`+placeholders(len(orgIDs))+`) ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("list validations of %d organizations: %w", len(orgIDs), err)
	}
	defer rows.Close()
	for rows.Next() {
		var v Validation
		var users, created string
		var until sql.NullString
		if err := rows.Scan(&v.ID, &v.OrganizationID, &v.Type, &v.Status, &users, &created, &until); err != nil {
			return nil, fmt.Errorf("read validation: %w", err)
		}
		v.VerifiedUsers = json.RawMessage(users)
		v.DateCreated = parseTime(created)
		v.ValidatedUntil = nullTime(until)
		out[v.OrganizationID] = append(out[v.OrganizationID], v)
	}
	return out, rows.Err()
}

// UserFilter selects users. Zero fields select everything.
type UserFilter struct {
	ContainerID int64
	// WithinContainers, when not empty, keeps only users whose container
	// is one of these ids, such as the caller's container subtree.
	WithinContainers []int64
	// Search matches the username, first name, last name and e-mail address.
	Search *TextMatch
}

// UserListQuery is one page of a filtered, sorted user list.
type UserListQuery struct {
	Filter UserFilter
	Sort   []SortKey
	Page   Page
}

var userSortColumns = sortColumns{
	"id":           "u.id",
	"username":     "u.username COLLATE NOCASE",
	"first_name":   "u.first_name COLLATE NOCASE",
	"last_name":    "u.last_name COLLATE NOCASE",
	"email":        "u.email COLLATE NOCASE",
	"date_created": "u.created_at",
}

// UserSortFields lists the sortable fields of the user list.
func UserSortFields() []string { return userSortColumns.fields() }

// ListUsers returns one page of the account's users and the number that
// match the filter on all pages.
func (s *Store) ListUsers(ctx context.Context, accountID int64, in UserListQuery) ([]User, int64, error) {
	q := &listQuery{}
	q.where("u.account_id = ?", accountID)
	q.where("u.deleted_at IS NULL")
	if in.Filter.ContainerID != 0 {
		q.where("u.container_id = ?", in.Filter.ContainerID)
	}
	if ids := in.Filter.WithinContainers; len(ids) > 0 {
		args := make([]any, len(ids))
		for i, id := range ids {
			args[i] = id
		}
		q.where("u.container_id IN (?"+strings.Repeat(", ?", len(ids)-1)+")", args...)
	}
	if in.Filter.Search != nil {
		q.whereText(*in.Filter.Search, "u.username", "u.first_name", "u.last_name", "u.email")
	}
	order, err := orderBySQL(in.Sort, userSortColumns, "u.id")
	if err != nil {
		return nil, 0, err
	}
	limit, limitArgs := pageSQL(in.Page)

	var out []User
	var total int64
	err = s.withReadTx(ctx, func(tx *sql.Tx) error {
		var err error
		total, err = countRows(ctx, tx, `SELECT COUNT(*) FROM users u`+q.whereSQL(), q.args)
		if err != nil {
			return fmt.Errorf("count users: %w", err)
		}

		rows, err := tx.QueryContext(ctx, `SELECT `+userColumns+` FROM users u`+q.whereSQL()+order+limit,
			append(append([]any{}, q.args...), limitArgs...)...)
		if err != nil {
			return fmt.Errorf("list users: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			u, err := scanUser(rows)
			if err != nil {
				return fmt.Errorf("read user list row: %w", err)
			}
			out = append(out, u)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

// Container is a division of an account. The root container has ParentID 0.
type Container struct {
	ID        int64
	AccountID int64
	ParentID  int64
	Name      string
	CreatedAt time.Time
}

const containerColumns = `id, account_id, parent_id, name, created_at`

func scanContainer(row interface{ Scan(...any) error }) (Container, error) {
	var c Container
	var parent sql.NullInt64
	var created string
	err := row.Scan(&c.ID, &c.AccountID, &parent, &c.Name, &created)
	c.ParentID = parent.Int64
	c.CreatedAt = parseTime(created)
	return c, err
}

// Containers lists the account's containers, oldest first.
func (s *Store) Containers(ctx context.Context, accountID int64) ([]Container, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+containerColumns+` FROM containers WHERE account_id = ? ORDER BY id`, accountID)
	if err != nil {
		return nil, fmt.Errorf("list containers of account %d: %w", accountID, err)
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

// Container returns a container of the account, or ErrNotFound.
func (s *Store) Container(ctx context.Context, accountID, id int64) (*Container, error) {
	row := s.db.QueryRowContext(ctx, `SELECT `+containerColumns+` FROM containers WHERE id = ? AND account_id = ?`, id, accountID)
	c, err := scanContainer(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read container %d: %w", id, err)
	}
	return &c, nil
}

// ContainerMembers returns the ids of the users whose home is the
// container and the organizations assigned to it.
func (s *Store) ContainerMembers(ctx context.Context, accountID, containerID int64) ([]int64, []Organization, error) {
	var userIDs []int64
	var orgs []Organization
	err := s.withReadTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id FROM users WHERE account_id = ? AND container_id = ? ORDER BY id`, accountID, containerID)
		if err != nil {
			return fmt.Errorf("list users of container %d: %w", containerID, err)
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return fmt.Errorf("read user id: %w", err)
			}
			userIDs = append(userIDs, id)
		}
		if err := rows.Err(); err != nil {
			return err
		}

		orgRows, err := tx.QueryContext(ctx,
			`SELECT `+orgColumns+` FROM organizations WHERE account_id = ? AND container_id = ? ORDER BY id`, accountID, containerID)
		if err != nil {
			return fmt.Errorf("list organizations of container %d: %w", containerID, err)
		}
		defer orgRows.Close()
		for orgRows.Next() {
			o, err := scanOrganization(orgRows)
			if err != nil {
				return fmt.Errorf("read organization: %w", err)
			}
			orgs = append(orgs, *o)
		}
		return orgRows.Err()
	})
	if err != nil {
		return nil, nil, err
	}
	return userIDs, orgs, nil
}
