package order

import (
	"fmt"
	"slices"
	"strings"

	"github.com/docsign-ca/docsign-ca/internal/errs"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

// Action is one thing an authenticated caller may do. Every authenticated
// route of the API maps to exactly one action (see internal/api), and the
// permission table below decides which roles and which API key
// restrictions allow it.
type Action string

// Actions of the permission table.
const (
	ActionAccountView       Action = "account.view"
	ActionProductView       Action = "product.view"
	ActionOrderView         Action = "order.view"
	ActionOrderPlace        Action = "order.place"
	ActionOrderChange       Action = "order.change"
	ActionPickupCodeIssue   Action = "pickup_code.issue"
	ActionRequestView       Action = "request.view"
	ActionRequestDecide     Action = "request.decide"
	ActionCertificateView   Action = "certificate.view"
	ActionCertificateRevoke Action = "certificate.revoke"
	ActionOrganizationView  Action = "organization.view"
	ActionOrganizationEdit  Action = "organization.edit"
	ActionUserView          Action = "user.view"
	ActionUserManage        Action = "user.manage"
	ActionContainerView     Action = "container.view"
	ActionContainerManage   Action = "container.manage"
	ActionAPIKeyView        Action = "api_key.view"
	ActionAPIKeyManage      Action = "api_key.manage"
	ActionFinanceView       Action = "finance.view"
	ActionValidationApprove Action = "validation.approve"
	ActionOperatorView      Action = "operator.view"
	ActionTokenShip         Action = "token.ship"
)

// Key restrictions use CertCentral's API key restriction ids.
const (
	KeyRestrictionNone                       = 0
	KeyRestrictionOrders                     = 100
	KeyRestrictionOrdersDomainsOrganizations = 101
	KeyRestrictionViewOnly                   = 102
	KeyRestrictionUserManagement             = 103
)

// KeyRestrictions lists the restriction ids in table order.
var KeyRestrictions = []int{
	KeyRestrictionNone,
	KeyRestrictionOrders,
	KeyRestrictionOrdersDomainsOrganizations,
	KeyRestrictionViewOnly,
	KeyRestrictionUserManagement,
}

// KeyRestrictionName returns CertCentral's name of a restriction id.
func KeyRestrictionName(id int) string {
	switch id {
	case KeyRestrictionNone:
		return "none"
	case KeyRestrictionOrders:
		return "orders"
	case KeyRestrictionOrdersDomainsOrganizations:
		return "orders, domains and organizations"
	case KeyRestrictionViewOnly:
		return "view only"
	case KeyRestrictionUserManagement:
		return "user management"
	}
	return fmt.Sprintf("unknown (%d)", id)
}

// ValidKeyRestriction reports whether id is one of KeyRestrictions.
func ValidKeyRestriction(id int) bool { return slices.Contains(KeyRestrictions, id) }

// Roles lists CertCentral's access roles in table order.
var Roles = []string{
	store.RoleAdministrator,
	store.RoleManager,
	store.RoleStandardUser,
	store.RoleLimitedUser,
	store.RoleFinanceManager,
}

// Permission is one row of the permission table.
type Permission struct {
	Action Action
	// Write marks an action that changes state. A view-only key
	// (restriction 102) never performs one.
	Write bool
	// Roles are the roles that may perform the action.
	Roles []string
	// Restrictions are the restricted API keys that allow the action. A
	// key without restriction (0) allows whatever its user's role allows.
	Restrictions []int
	Description  string
}

// Shorthands for the role and restriction columns below.
var (
	allRoles      = Roles
	orderRoles    = []string{store.RoleAdministrator, store.RoleManager, store.RoleStandardUser, store.RoleLimitedUser}
	readerRoles   = []string{store.RoleAdministrator, store.RoleManager, store.RoleStandardUser, store.RoleLimitedUser, store.RoleFinanceManager}
	userAdmins    = []string{store.RoleAdministrator, store.RoleManager}
	onlyAdmin     = []string{store.RoleAdministrator}
	financeRoles  = []string{store.RoleAdministrator, store.RoleFinanceManager}
	orderKeys     = []int{KeyRestrictionOrders, KeyRestrictionOrdersDomainsOrganizations}
	orderViewKeys = []int{KeyRestrictionOrders, KeyRestrictionOrdersDomainsOrganizations, KeyRestrictionViewOnly}
	orgKeys       = []int{KeyRestrictionOrdersDomainsOrganizations}
	orgViewKeys   = []int{KeyRestrictionOrdersDomainsOrganizations, KeyRestrictionViewOnly}
	userKeys      = []int{KeyRestrictionUserManagement}
	userViewKeys  = []int{KeyRestrictionUserManagement, KeyRestrictionViewOnly}
	anyViewKeys   = []int{KeyRestrictionOrders, KeyRestrictionOrdersDomainsOrganizations, KeyRestrictionViewOnly, KeyRestrictionUserManagement}
)

// PermissionTable is the one table of who may do what. docs/permissions.md
// is generated from it (TestPermissionsDoc fails when they differ), and
// internal/api's permission test calls every route with every role and
// key restriction against it.
//
// Rules enforced in the workflow on top of this table: a standard user's
// order always needs approval, and only an administrator approves or
// rejects requests, skips approval, or revokes without a request.
var PermissionTable = []Permission{
	{ActionAccountView, false, allRoles, anyViewKeys, "read the account and its settings"},
	{ActionProductView, false, allRoles, anyViewKeys, "list and read products"},
	{ActionOrderView, false, readerRoles, orderViewKeys, "list and read orders and their status changes"},
	{ActionOrderPlace, true, orderRoles, orderKeys, "place an order (needs approval unless an administrator skips it)"},
	{ActionOrderChange, true, orderRoles, orderKeys, "cancel, reissue or duplicate an order, or replace its CSR"},
	{ActionPickupCodeIssue, true, onlyAdmin, orderKeys, "issue a new pickup code for a client_app order"},
	{ActionRequestView, false, readerRoles, orderViewKeys, "list and read requests"},
	{ActionRequestDecide, true, onlyAdmin, orderKeys, "approve or reject a request"},
	{ActionCertificateView, false, orderRoles, orderViewKeys, "download a certificate or its chain"},
	{ActionCertificateRevoke, true, orderRoles, orderKeys, "revoke, or request revocation of, a certificate or order"},
	{ActionOrganizationView, false, readerRoles, orgViewKeys, "list and read organizations and their validation"},
	{ActionOrganizationEdit, true, userAdmins, orgKeys, "add an organization or submit it for validation"},
	{ActionUserView, false, userAdmins, userViewKeys, "list and read other users (everyone may read their own record)"},
	{ActionUserManage, true, userAdmins, userKeys, "add, change or delete users"},
	{ActionContainerView, false, allRoles, anyViewKeys, "list and read containers"},
	{ActionContainerManage, true, onlyAdmin, userKeys, "add containers"},
	{ActionAPIKeyView, false, allRoles, anyViewKeys, "list the caller's own API keys"},
	{ActionAPIKeyManage, true, allRoles, userKeys, "create or revoke the caller's own API keys"},
	{ActionFinanceView, false, financeRoles, []int{KeyRestrictionViewOnly}, "read the account balance and the saved payment profiles"},
	// The operator's work. No API route performs these actions (the operator
	// commands do), so no restricted API key allows them. The console checks
	// them for signed-in users.
	{ActionValidationApprove, true, onlyAdmin, nil, "complete an organization's validation"},
	{ActionOperatorView, false, onlyAdmin, nil, "read the operator page: token queue, issuing CAs, recent audit events"},
	{ActionTokenShip, true, onlyAdmin, nil, "record the shipment of a provisioned token"},
}

// PermissionFor returns the table row of an action.
func PermissionFor(a Action) (Permission, bool) {
	for _, p := range PermissionTable {
		if p.Action == a {
			return p, true
		}
	}
	return Permission{}, false
}

// Allowed reports whether a user of role, calling with a key of the given
// restriction, may perform a. An action missing from the table is denied.
func Allowed(role string, restriction int, a Action) bool {
	p, ok := PermissionFor(a)
	if !ok || !slices.Contains(p.Roles, role) {
		return false
	}
	if restriction == KeyRestrictionNone {
		return true
	}
	if restriction == KeyRestrictionViewOnly && p.Write {
		return false
	}
	return slices.Contains(p.Restrictions, restriction)
}

// Authorize returns the 403 access_denied|missing_permission error when the
// caller may not perform a, and nil otherwise.
func Authorize(caller *store.Caller, a Action) error {
	if Allowed(caller.User.Role, caller.KeyRestriction, a) {
		return nil
	}
	if caller.KeyRestriction != KeyRestrictionNone && slices.Contains(mustPermission(a).Roles, caller.User.Role) {
		return errs.New(errs.Forbidden, "access_denied|missing_permission",
			"the API key is restricted to %s and may not %s; use a key without that restriction",
			KeyRestrictionName(caller.KeyRestriction), a)
	}
	return errs.New(errs.Forbidden, "access_denied|missing_permission",
		"user %d has role %s, which may not %s; ask an administrator for a role that may",
		caller.User.ID, caller.User.Role, a)
}

func mustPermission(a Action) Permission {
	p, _ := PermissionFor(a)
	return p
}

// PermissionsMarkdown renders the permission table as the two Markdown
// tables of docs/permissions.md (roles, then key restrictions), separated
// by a blank line.
func PermissionsMarkdown() string {
	var b strings.Builder
	b.WriteString("| Action | Writes | " + strings.Join(Roles, " | ") + " | Description |\n")
	b.WriteString("|---|---|" + strings.Repeat("---|", len(Roles)) + "---|\n")
	for _, p := range PermissionTable {
		fmt.Fprintf(&b, "| `%s` | %s |", p.Action, yesNo(p.Write))
		for _, role := range Roles {
			fmt.Fprintf(&b, " %s |", yesNo(slices.Contains(p.Roles, role)))
		}
		fmt.Fprintf(&b, " %s |\n", p.Description)
	}

	b.WriteString("\n| Action |")
	for _, id := range KeyRestrictions[1:] {
		fmt.Fprintf(&b, " %d (%s) |", id, KeyRestrictionName(id))
	}
	b.WriteString("\n|---|" + strings.Repeat("---|", len(KeyRestrictions)-1) + "\n")
	for _, p := range PermissionTable {
		fmt.Fprintf(&b, "| `%s` |", p.Action)
		for _, id := range KeyRestrictions[1:] {
			allowed := slices.Contains(p.Restrictions, id) && !(id == KeyRestrictionViewOnly && p.Write)
			fmt.Fprintf(&b, " %s |", yesNo(allowed))
		}
		b.WriteString("\n")
	}
	return b.String()
}

func yesNo(v bool) string {
	if v {
		return "yes"
	}
	return "no"
}
