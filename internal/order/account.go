package order

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"

	"github.com/docsign-ca/docsign-ca/internal/errs"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

// organizationFilters are the filters of GET organization. The status
// filter takes active or inactive, and is_active takes true, false, 1 or 0.
var organizationFilters = []string{"container_id", "country", "id", "is_active", "name", "search", "status"}

// OrganizationListQuery is GET organization's query: a page of
// organizations, and whether each carries its validations.
type OrganizationListQuery struct {
	store.OrganizationListQuery
	IncludeValidation bool
}

// OrganizationList is one page of organizations. Validations is nil unless
// the query asked for them.
type OrganizationList struct {
	Organizations []store.Organization
	Validations   map[int64][]store.Validation
	Total         int64
	Page          store.Page
}

// ParseOrganizationListQuery reads the query parameters of GET organization
// and GET container/{id}/order/organization.
func ParseOrganizationListQuery(values url.Values) (*OrganizationListQuery, error) {
	r := newQueryReader(values)
	q := &OrganizationListQuery{}
	q.Page = r.page()
	q.Sort = r.sort(store.OrganizationSortFields())
	if raw, ok := r.single("include_validation"); ok {
		if v := r.boolean("include_validation", raw); v != nil {
			q.IncludeValidation = *v
		}
	}

	f := &q.Filter
	for name, raw := range r.filters(organizationFilters) {
		path := filterPath(name)
		switch name {
		case "id":
			f.ID = r.id(path, raw)
		case "container_id":
			f.ContainerID = r.id(path, raw)
		case "name":
			f.Name = r.textMatch(path, raw)
		case "search":
			f.Search = r.textMatch(path, raw)
		case "country":
			f.Country = r.country(path, raw)
		case "is_active":
			f.Active = r.boolean(path, raw)
		case "status":
			active := r.enum(path, raw, []string{"active", "inactive"}) == "active"
			f.Active = &active
		}
	}
	if err := r.problems.Err(); err != nil {
		return nil, err
	}
	return q, nil
}

// country reads an assigned ISO 3166-1 alpha-2 code in any case.
func (r *queryReader) country(path, raw string) string {
	code := strings.ToUpper(strings.TrimSpace(raw))
	if !assignedCountries[code] {
		r.problems.Invalid(path, "%s %q is not an assigned ISO 3166-1 alpha-2 country code, such as us or de", path, raw)
		return ""
	}
	return code
}

// ListOrganizations returns one page of the organizations of the caller's
// scope. The total counts only those organizations.
func (s *Service) ListOrganizations(ctx context.Context, caller *store.Caller, q *OrganizationListQuery) (*OrganizationList, error) {
	sc, err := s.scope(ctx, caller)
	if err != nil {
		return nil, err
	}
	scoped := q.OrganizationListQuery
	scoped.Filter.Scope = sc

	orgs, total, err := s.store.ListOrganizations(ctx, caller.Account.ID, scoped)
	if err != nil {
		return nil, internal(err, "list organizations")
	}
	list := &OrganizationList{Organizations: orgs, Total: total, Page: q.Page}
	if !q.IncludeValidation {
		return list, nil
	}

	ids := make([]int64, 0, len(orgs))
	for _, o := range orgs {
		ids = append(ids, o.ID)
	}
	if list.Validations, err = s.store.ValidationsOf(ctx, ids); err != nil {
		return nil, internal(err, "read validations")
	}
	return list, nil
}

// ContainerOrganizations lists the organizations that orders placed in a
// container of the caller's subtree may name.
func (s *Service) ContainerOrganizations(ctx context.Context, caller *store.Caller, containerID int64, q *OrganizationListQuery) (*OrganizationList, error) {
	if _, err := s.visibleContainer(ctx, caller, containerID); err != nil {
		return nil, err
	}
	scoped := *q
	scoped.Filter.UsableInContainer = containerID
	return s.ListOrganizations(ctx, caller, &scoped)
}

// UserList is one page of users with the containers they belong to.
type UserList struct {
	Users      []store.User
	Containers map[int64]store.Container
	Total      int64
	Page       store.Page
}

// ParseUserListQuery reads the query parameters of GET user. container_id
// is accepted as a plain parameter, as CertCentral's own example sends it,
// and as filters[container_id].
func ParseUserListQuery(values url.Values) (*store.UserListQuery, error) {
	r := newQueryReader(values)
	q := &store.UserListQuery{Page: r.page(), Sort: r.sort(store.UserSortFields())}
	if raw, ok := r.single("container_id"); ok {
		q.Filter.ContainerID = r.id("container_id", raw)
	}
	for name, raw := range r.filters([]string{"container_id", "search"}) {
		switch name {
		case "container_id":
			q.Filter.ContainerID = r.id(filterPath(name), raw)
		case "search":
			q.Filter.Search = r.textMatch(filterPath(name), raw)
		}
	}
	if err := r.problems.Err(); err != nil {
		return nil, err
	}
	return q, nil
}

// requireUserViewer lets administrators and managers see other users.
// Every user may see their own record.
func requireUserViewer(caller *store.Caller) error {
	if caller.User.Role == store.RoleAdministrator || caller.User.Role == store.RoleManager {
		return nil
	}
	return errs.New(errs.Forbidden, "access_denied|missing_permission",
		"only administrators and managers may view other users; user %d has role %s (GET user/me shows your own record)",
		caller.User.ID, caller.User.Role)
}

// ListUsers returns one page of the caller's account's users.
func (s *Service) ListUsers(ctx context.Context, caller *store.Caller, q *store.UserListQuery) (*UserList, error) {
	if err := requireUserViewer(caller); err != nil {
		return nil, err
	}
	if id := q.Filter.ContainerID; id != 0 {
		if _, err := s.store.Container(ctx, caller.Account.ID, id); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return nil, errs.New(errs.BadRequest, "invalid_value:container_id",
					"container %d is not a container of this account; list yours with GET /services/v2/container", id)
			}
			return nil, internal(err, "read container")
		}
	}

	within, err := s.subtree(ctx, caller)
	if err != nil {
		return nil, err
	}
	scoped := *q
	scoped.Filter.WithinContainers = within
	users, total, err := s.store.ListUsers(ctx, caller.Account.ID, scoped)
	if err != nil {
		return nil, internal(err, "list users")
	}
	containers, err := s.containersByID(ctx, caller)
	if err != nil {
		return nil, err
	}
	return &UserList{Users: users, Containers: containers, Total: total, Page: q.Page}, nil
}

// UserInfo is a user with the container they belong to.
type UserInfo struct {
	User      store.User
	Container store.Container
}

// User returns a user of the caller's account. A userID of 0 means the caller.
func (s *Service) User(ctx context.Context, caller *store.Caller, userID int64) (*UserInfo, error) {
	if userID == 0 {
		userID = caller.User.ID
	}
	if userID != caller.User.ID {
		if err := Authorize(caller, ActionUserView); err != nil {
			return nil, err
		}
	}

	u, err := s.visibleUser(ctx, caller, userID)
	if err != nil {
		return nil, err
	}
	c, err := s.store.Container(ctx, caller.Account.ID, u.ContainerID)
	if err != nil {
		return nil, internal(err, "read container of user "+fmtID(userID))
	}
	return &UserInfo{User: *u, Container: *c}, nil
}

func (s *Service) containersByID(ctx context.Context, caller *store.Caller) (map[int64]store.Container, error) {
	list, err := s.store.Containers(ctx, caller.Account.ID)
	if err != nil {
		return nil, internal(err, "list containers")
	}
	out := make(map[int64]store.Container, len(list))
	for _, c := range list {
		out[c.ID] = c
	}
	return out, nil
}

// ContainerInfo is a container with the users and organizations assigned to it.
type ContainerInfo struct {
	Container     store.Container
	UserIDs       []int64
	Organizations []store.Organization
}

// Containers lists the containers of the caller's subtree, oldest first.
func (s *Service) Containers(ctx context.Context, caller *store.Caller) ([]ContainerInfo, error) {
	list, err := s.store.Containers(ctx, caller.Account.ID)
	if err != nil {
		return nil, internal(err, "list containers")
	}
	within, err := s.subtree(ctx, caller)
	if err != nil {
		return nil, err
	}
	out := make([]ContainerInfo, 0, len(list))
	for _, c := range list {
		if !slices.Contains(within, c.ID) {
			continue
		}
		info, err := s.containerInfo(ctx, caller, c)
		if err != nil {
			return nil, err
		}
		out = append(out, *info)
	}
	return out, nil
}

// Container returns a container of the caller's subtree.
func (s *Service) Container(ctx context.Context, caller *store.Caller, id int64) (*ContainerInfo, error) {
	c, err := s.visibleContainer(ctx, caller, id)
	if err != nil {
		return nil, err
	}
	return s.containerInfo(ctx, caller, *c)
}

func (s *Service) containerInfo(ctx context.Context, caller *store.Caller, c store.Container) (*ContainerInfo, error) {
	userIDs, orgs, err := s.store.ContainerMembers(ctx, caller.Account.ID, c.ID)
	if err != nil {
		return nil, internal(err, "read members of container "+fmtID(c.ID))
	}
	return &ContainerInfo{Container: c, UserIDs: userIDs, Organizations: orgs}, nil
}

// CheckBalanceQuery checks GET finance/balance's optional container_id,
// which must name a container of the caller's account. docsign-ca keeps no
// balance, so the container changes nothing else.
func (s *Service) CheckBalanceQuery(ctx context.Context, caller *store.Caller, values url.Values) error {
	r := newQueryReader(values)
	raw, ok := r.single("container_id")
	if !ok {
		return r.problems.Err()
	}
	id := r.id("container_id", raw)
	if err := r.problems.Err(); err != nil {
		return err
	}

	if _, err := s.store.Container(ctx, caller.Account.ID, id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return errs.New(errs.BadRequest, "invalid_value:container_id",
				"container %d is not a container of this account; list yours with GET /services/v2/container", id)
		}
		return internal(err, "read container")
	}
	return nil
}
