package api

import (
	"github.com/docsign-ca/docsign-ca/internal/errs"
	"github.com/docsign-ca/docsign-ca/internal/order"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

// actionPublic marks a route that needs no API key: health, metrics,
// revocation status and the pickup flow, which a pickup code guards.
const actionPublic order.Action = "public"

// routeActions maps every registered route to the action of
// order.PermissionTable that it performs. TestEveryRouteHasAction fails
// when a route is registered without an entry. An authenticated route
// missing here is still served, but only to administrators with an
// unrestricted key (see authorize).
var routeActions = map[string]order.Action{
	"GET /healthz":                         actionPublic,
	"GET /metrics":                         actionPublic,
	"GET /crl/{file}":                      actionPublic,
	"GET /ca/{file}":                       actionPublic,
	"POST /ocsp":                           actionPublic,
	"GET /ocsp/{request...}":               actionPublic,
	"POST /services/v2/pickup/info":        actionPublic,
	"POST /services/v2/pickup":             actionPublic,
	"POST /services/v2/pickup/certificate": actionPublic,

	"GET /services/v2/account":                   order.ActionAccountView,
	"GET /services/v2/product":                   order.ActionProductView,
	"GET /services/v2/product/{name_id}":         order.ActionProductView,
	"GET /services/v2/certificate/intermediates": order.ActionProductView,

	"POST /services/v2/order/certificate/ds_org":           order.ActionOrderPlace,
	"GET /services/v2/order/certificate":                   order.ActionOrderView,
	"GET /services/v2/order/certificate/status-changes":    order.ActionOrderView,
	"GET /services/v2/order/certificate/{id}":              order.ActionOrderView,
	"GET /services/v2/order/certificate/{id}/validation":   order.ActionOrderView,
	"PUT /services/v2/order/certificate/{id}/status":       order.ActionOrderChange,
	"POST /services/v2/order/certificate/{id}/csr":         order.ActionOrderChange,
	"POST /services/v2/order/certificate/{id}/reissue":     order.ActionOrderChange,
	"POST /services/v2/order/certificate/{id}/duplicate":   order.ActionOrderChange,
	"POST /services/v2/order/certificate/{id}/pickup-code": order.ActionPickupCodeIssue,
	"PUT /services/v2/order/certificate/{id}/revoke":       order.ActionCertificateRevoke,
	"PUT /services/v2/certificate/{id}/revoke":             order.ActionCertificateRevoke,

	"GET /services/v2/certificate/{id}/download/format/{format}":       order.ActionCertificateView,
	"GET /services/v2/certificate/download/order/{id}/format/{format}": order.ActionCertificateView,
	"GET /services/v2/certificate/{id}/chain":                          order.ActionCertificateView,

	"GET /services/v2/request":             order.ActionRequestView,
	"GET /services/v2/request/{id}":        order.ActionRequestView,
	"PUT /services/v2/request/{id}/status": order.ActionRequestDecide,

	"GET /services/v2/organization":                      order.ActionOrganizationView,
	"GET /services/v2/organization/{id}":                 order.ActionOrganizationView,
	"GET /services/v2/organization/{id}/validation":      order.ActionOrganizationView,
	"GET /services/v2/container/{id}/order/organization": order.ActionOrganizationView,
	"POST /services/v2/organization":                     order.ActionOrganizationEdit,
	"POST /services/v2/organization/{id}/validation":     order.ActionOrganizationEdit,

	"GET /services/v2/user": order.ActionUserView,
	// Everyone may read their own record, so this route needs only the
	// account view; the order package lets user viewers read others.
	"GET /services/v2/user/{id}": order.ActionAccountView,

	"POST /services/v2/user":        order.ActionUserManage,
	"PUT /services/v2/user/{id}":    order.ActionUserManage,
	"DELETE /services/v2/user/{id}": order.ActionUserManage,

	"GET /services/v2/container":               order.ActionContainerView,
	"GET /services/v2/container/{id}/children": order.ActionContainerView,
	"POST /services/v2/container":              order.ActionContainerManage,

	"POST /services/v2/key":           order.ActionAPIKeyManage,
	"GET /services/v2/key":            order.ActionAPIKeyView,
	"DELETE /services/v2/key/{id}":    order.ActionAPIKeyManage,
	"GET /services/v2/container/{id}": order.ActionContainerView,

	"GET /services/v2/finance/balance":         order.ActionFinanceView,
	"GET /services/v2/finance/payment-profile": order.ActionFinanceView,
}

// actionUnmapped is the action of an authenticated route that routeActions
// does not list.
const actionUnmapped order.Action = "unmapped"

// authorize checks the caller's role and key restriction against the
// permission table. A route without an entry is open only to administrators
// calling with an unrestricted key, so a forgotten entry never widens
// access.
func authorize(caller *store.Caller, action order.Action) error {
	if action != actionUnmapped {
		return order.Authorize(caller, action)
	}
	if caller.User.Role == store.RoleAdministrator && caller.KeyRestriction == order.KeyRestrictionNone {
		return nil
	}
	return errs.New(errs.Forbidden, "access_denied|missing_permission",
		"this route has no entry in the permission table, so only an administrator with an unrestricted key may call it")
}
