package store

import (
	"context"
	"fmt"
	"slices"
)

// Scope limits the orders, requests, certificates and organizations that a
// read returns to those one caller may see. A nil *Scope reads the whole
// account. The order package passes nil for a caller at the account's root
// container who is not a limited user, because that caller's subtree is
// every container of the account.
type Scope struct {
	// Containers are the caller's container and every container below it.
	// An order, and with it its requests and certificates, is visible when
	// its container is one of them.
	Containers []int64
	// OrganizationContainers are Containers and the containers above the
	// caller's. An organization assigned to a container above is visible,
	// because orders placed below that container may name it.
	OrganizationContainers []int64
	// OrderedBy, when not 0, also requires an order to have been placed by
	// this user. It is set for a limited user.
	OrderedBy int64
}

// AllowsOrder reports whether the scope contains an order of the container
// placed by the user.
func (sc *Scope) AllowsOrder(containerID, userID int64) bool {
	if sc == nil {
		return true
	}
	if sc.OrderedBy != 0 && userID != sc.OrderedBy {
		return false
	}
	return slices.Contains(sc.Containers, containerID)
}

// AllowsOrganization reports whether the scope contains an organization
// assigned to the container.
func (sc *Scope) AllowsOrganization(containerID int64) bool {
	return sc == nil || slices.Contains(sc.OrganizationContainers, containerID)
}

// addOrderConditions restricts q to the orders of the scope. The caller
// names the columns that hold the order's container and user.
func (sc *Scope) addOrderConditions(q *listQuery, containerColumn, userColumn string) {
	if sc == nil {
		return
	}
	addInCondition(q, containerColumn, sc.Containers)
	if sc.OrderedBy != 0 {
		q.where(userColumn+" = ?", sc.OrderedBy)
	}
}

// addOrganizationConditions restricts q to the organizations of the scope.
func (sc *Scope) addOrganizationConditions(q *listQuery, containerColumn string) {
	if sc == nil {
		return
	}
	addInCondition(q, containerColumn, sc.OrganizationContainers)
}

// addInCondition adds "column IN (ids)". An empty list matches no row.
func addInCondition(q *listQuery, column string, ids []int64) {
	if len(ids) == 0 {
		q.where("1 = 0")
		return
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	q.where(column+" IN ("+placeholders(len(ids))+")", args...)
}

// ContainerAncestors returns the ids of the containers above a container.
// The root container has none.
func (s *Store) ContainerAncestors(ctx context.Context, id int64) ([]int64, error) {
	rows, err := s.db.QueryContext(ctx, containerAncestors, id)
	if err != nil {
		return nil, fmt.Errorf("read containers above container %d: %w", id, err)
	}
	defer rows.Close()

	var ids []int64
	for rows.Next() {
		var ancestor int64
		if err := rows.Scan(&ancestor); err != nil {
			return nil, fmt.Errorf("read container id: %w", err)
		}
		if ancestor != id {
			ids = append(ids, ancestor)
		}
	}
	return ids, rows.Err()
}
