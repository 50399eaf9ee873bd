package console

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"unicode"

	"github.com/docsign-ca/docsign-ca/internal/errs"
	"github.com/docsign-ca/docsign-ca/internal/order"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

type organizationsView struct {
	Organizations []store.Organization
	Validations   map[int64][]store.Validation
	Pager         pager
}

func (h *Handler) organizationsPage(w http.ResponseWriter, r *http.Request, sess *session) {
	q := &order.OrganizationListQuery{IncludeValidation: true}
	q.Page = pageOf(r, requestsPerPage)
	q.Sort = []store.SortKey{{Field: "id", Descending: true}}
	list, err := h.cfg.Orders.ListOrganizations(r.Context(), &sess.caller, q)
	if err != nil {
		h.renderError(w, r, sess, err)
		return
	}
	view := organizationsView{Organizations: list.Organizations, Validations: list.Validations, Pager: newPager(r, q.Page, list.Total)}
	h.render(w, r, http.StatusOK, "organizations.html", sess, "Organizations", view)
}

type organizationView struct {
	Organization *store.Organization
	Validations  []store.Validation
	IsAdmin      bool
	Types        []string
}

func (h *Handler) organizationPage(w http.ResponseWriter, r *http.Request, sess *session) {
	id, err := pathID(r, "organization")
	if err != nil {
		h.renderError(w, r, sess, err)
		return
	}
	org, validations, err := h.cfg.Orders.Organization(r.Context(), &sess.caller, id)
	if err != nil {
		h.renderError(w, r, sess, err)
		return
	}
	view := organizationView{Organization: org, Validations: validations, IsAdmin: sess.IsAdministrator(), Types: order.ValidationTypes}
	h.renderNotice(w, r, http.StatusOK, "organization.html", sess, org.Name, noticeOf(r), view)
}

// completeValidation completes an organization's validation, as
// `docsign-ca validation approve` does, after checking that the
// organization belongs to the administrator's account. Orders that waited
// only for it are then issued.
func (h *Handler) completeValidation(w http.ResponseWriter, r *http.Request, sess *session) {
	id, err := pathID(r, "organization")
	if err != nil {
		h.renderError(w, r, sess, err)
		return
	}
	if _, _, err := h.cfg.Orders.Organization(r.Context(), &sess.caller, id); err != nil {
		h.renderError(w, r, sess, err)
		return
	}
	typ := r.PostForm.Get("type")
	if typ != "ds" {
		h.renderError(w, r, sess, errs.New(errs.BadRequest, "invalid_value:type",
			"validation type %q is not performed by docsign-ca; allowed: %s", typ, strings.Join(order.ValidationTypes, ", ")))
		return
	}
	if err := h.cfg.Orders.CompleteValidation(r.Context(), id, typ); err != nil {
		h.renderError(w, r, sess, err)
		return
	}
	h.cfg.Log.Info("organization validation completed in the console", "organization_id", id, "user_id", sess.caller.User.ID)
	h.cfg.Orders.IssueReady(r.Context())
	redirectNotice(w, r, "/console/organizations/"+strconv.FormatInt(id, 10), "validated")
}

// operatorAuditRows is how many audit events the operator page shows.
const operatorAuditRows = 50

type caRow struct {
	CA       store.CA
	NotAfter string
}

type operatorView struct {
	Tokens []store.TokenOrder
	CAs    []caRow
	Audit  []store.AuditRecord
}

// operatorPage shows the token fulfilment queue and the audit events of
// the administrator's account, and every CA with its state.
func (h *Handler) operatorPage(w http.ResponseWriter, r *http.Request, sess *session) {
	tokens, err := h.accountTokenOrders(r.Context(), sess.caller.Account.ID)
	if err != nil {
		h.renderError(w, r, sess, errs.Wrap(err, "list token orders"))
		return
	}
	cas, err := h.cfg.Store.CAs(r.Context())
	if err != nil {
		h.renderError(w, r, sess, errs.Wrap(err, "list CAs"))
		return
	}
	audit, err := h.cfg.Store.RecentAuditRecords(r.Context(), sess.caller.Account.ID, operatorAuditRows)
	if err != nil {
		h.renderError(w, r, sess, errs.Wrap(err, "read audit log"))
		return
	}

	view := operatorView{Tokens: tokens, Audit: audit}
	for _, c := range cas {
		row := caRow{CA: c}
		if cert, err := x509.ParseCertificate(c.CertDER); err == nil {
			row.NotAfter = cert.NotAfter.UTC().Format("2006-01-02")
		}
		view.CAs = append(view.CAs, row)
	}
	h.renderNotice(w, r, http.StatusOK, "operator.html", sess, "Operator", noticeOf(r), view)
}

// accountTokenOrders returns the ship_token orders of one account that
// wait for their token or its shipment.
func (h *Handler) accountTokenOrders(ctx context.Context, accountID int64) ([]store.TokenOrder, error) {
	all, err := h.cfg.Store.TokenOrders(ctx)
	if err != nil {
		return nil, err
	}
	var out []store.TokenOrder
	for _, t := range all {
		if t.Order.AccountID == accountID {
			out = append(out, t)
		}
	}
	return out, nil
}

// shipToken records a provisioned token's shipment and queues the two
// e-mails, the tracking number and the PIN apart, as `docsign-ca tokens
// ship` does. Generating the key needs the token at hand, so only the CLI
// provisions.
func (h *Handler) shipToken(w http.ResponseWriter, r *http.Request, sess *session) {
	id, err := pathID(r, "order")
	if err != nil {
		h.renderError(w, r, sess, err)
		return
	}
	if _, err := h.cfg.Orders.Order(r.Context(), &sess.caller, id); err != nil {
		h.renderError(w, r, sess, err)
		return
	}

	var problems errs.List
	carrier := checkShipmentField(&problems, "carrier", r.PostForm.Get("carrier"))
	tracking := checkShipmentField(&problems, "tracking", r.PostForm.Get("tracking"))
	pin := r.PostForm.Get("pin")
	if pin == "" {
		problems.Required("pin", "enter the token's user PIN, which the requester receives in a separate e-mail")
	}
	if err := problems.Err(); err != nil {
		h.renderError(w, r, sess, err)
		return
	}

	shipment, err := h.cfg.Store.Shipment(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		h.renderError(w, r, sess, errs.New(errs.BadRequest, "token_not_provisioned",
			"order %d has no provisioned token; run `docsign-ca tokens provision --order %d` first", id, id))
		return
	}
	if err != nil {
		h.renderError(w, r, sess, errs.Wrap(err, "read shipment"))
		return
	}
	notices := []store.Notification{
		{Kind: store.NoticeTokenShipped},
		{Kind: store.NoticeTokenPIN, Payload: map[string]string{"pin": pin, "token_serial": shipment.TokenSerial}},
	}
	if err := h.cfg.Store.ShipToken(r.Context(), id, carrier, tracking, notices); err != nil {
		var se *store.StateError
		if errors.As(err, &se) {
			h.renderError(w, r, sess, errs.New(errs.BadRequest, "invalid_shipment_state",
				"the token of order %d is %s, so its shipment cannot be recorded; only a provisioned token ships", id, se.Status))
			return
		}
		h.renderError(w, r, sess, errs.Wrap(err, "record shipment"))
		return
	}
	h.cfg.Log.Info("token shipped from the console", "order_id", id, "carrier", carrier, "user_id", sess.caller.User.ID)
	redirectNotice(w, r, "/console/operator", "shipped")
}

// checkShipmentField accepts one line of printable text of at most 64
// characters, the CLI's rule for --carrier and --tracking.
func checkShipmentField(problems *errs.List, name, value string) string {
	value = strings.TrimSpace(value)
	switch {
	case value == "":
		problems.Required(name, "enter the %s", name)
	case len([]rune(value)) > 64:
		problems.Invalid(name, "the %s is longer than 64 characters", name)
	case strings.IndexFunc(value, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0:
		problems.Invalid(name, "the %s contains a control character; enter one line of text", name)
	}
	return value
}
