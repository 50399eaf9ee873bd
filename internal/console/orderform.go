package console

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/docsign-ca/docsign-ca/internal/errs"
	"github.com/docsign-ca/docsign-ca/internal/jsonbody"
	"github.com/docsign-ca/docsign-ca/internal/order"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

// maxFormOrganizations bounds the organization choices of the order form.
// TODO: an account with more organizations needs a search field here; the
// form lists the first 200 by id.
const maxFormOrganizations = 200

// orderFormFields maps each field of the order form to the JSON path of
// the ds_org body it fills. A problem whose path is the field's path, or
// lies below it, is shown beside that field.
var orderFormFields = map[string]string{
	"organization_id":     "organization",
	"provisioning_method": "cs_provisioning_method",
	"csr":                 "certificate.csr",
	"key_type":            "certificate.csr_key_type",
	"key_size":            "certificate.key_size",
	"signature_hash":      "certificate.signature_hash",
	"validity_years":      "order_validity",
	"comments":            "comments",
	"ship_name":           "ship_info.name",
	"ship_addr1":          "ship_info.addr1",
	"ship_addr2":          "ship_info.addr2",
	"ship_city":           "ship_info.city",
	"ship_state":          "ship_info.state",
	"ship_zip":            "ship_info.zip",
	"ship_country":        "ship_info.country",
	"ship_method":         "ship_info.method",
	"skip_approval":       "skip_approval",
}

type orderFormView struct {
	Organizations []store.Organization
	Values        map[string]string
	FieldErrors   map[string][]string
	Problems      []errs.Problem
	IsAdmin       bool
}

func (h *Handler) orderFormPage(w http.ResponseWriter, r *http.Request, sess *session) {
	view, err := h.newOrderFormView(r, sess, map[string]string{
		"provisioning_method": "email", "signature_hash": "sha256", "validity_years": "1", "key_type": "rsa", "key_size": "3072",
		"ship_method": "STANDARD",
	})
	if err != nil {
		h.renderError(w, r, sess, err)
		return
	}
	h.render(w, r, http.StatusOK, "orderform.html", sess, "New order", view)
}

func (h *Handler) newOrderFormView(r *http.Request, sess *session, values map[string]string) (*orderFormView, error) {
	q := &order.OrganizationListQuery{}
	q.Page = store.Page{Limit: maxFormOrganizations}
	q.Sort = []store.SortKey{{Field: "id"}}
	list, err := h.cfg.Orders.ListOrganizations(r.Context(), &sess.caller, q)
	if err != nil {
		return nil, err
	}
	return &orderFormView{
		Organizations: list.Organizations, Values: values, FieldErrors: map[string][]string{},
		IsAdmin: sess.caller.User.Role == store.RoleAdministrator,
	}, nil
}

// placeOrder builds a ds_org body from the form and sends it through the
// API's validator and order.Service, so the form accepts and rejects
// exactly what the API does, with the same messages.
func (h *Handler) placeOrder(w http.ResponseWriter, r *http.Request, sess *session) {
	values := map[string]string{}
	for field := range orderFormFields {
		values[field] = r.PostForm.Get(field)
	}

	placed, err := h.submitOrder(r, sess, values)
	if err == nil {
		redirectNotice(w, r, "/console/orders/"+strconv.FormatInt(placed.OrderID, 10), "placed")
		return
	}
	e := errs.As(err)
	if e == nil || e.Kind != errs.BadRequest {
		h.renderError(w, r, sess, err)
		return
	}

	view, viewErr := h.newOrderFormView(r, sess, values)
	if viewErr != nil {
		h.renderError(w, r, sess, viewErr)
		return
	}
	view.Problems = e.Problems
	for _, p := range e.Problems {
		if field := fieldOf(p); field != "" {
			view.FieldErrors[field] = append(view.FieldErrors[field], p.Message)
		}
	}
	h.render(w, r, http.StatusBadRequest, "orderform.html", sess, "New order", view)
}

func (h *Handler) submitOrder(r *http.Request, sess *session, values map[string]string) (*order.PlacedOrder, error) {
	body, err := json.Marshal(orderBody(values))
	if err != nil {
		return nil, errs.Wrap(err, "encode order form")
	}
	tree, err := jsonbody.Decode(body)
	if err != nil {
		return nil, err
	}
	req, parseErr := order.ParseDSOrg(tree, h.cfg.Orders.Now())
	if req == nil {
		return nil, parseErr
	}
	return h.cfg.Orders.PlaceDSOrder(r.Context(), &sess.caller, req, parseErr)
}

// orderBody turns the form's values into a ds_org body. Numbers that do
// not parse are sent as the text typed, so the validator names them.
func orderBody(v map[string]string) map[string]any {
	certificate := map[string]any{
		"usage_designation": map[string]any{"primary_usage": "signing"},
		"signature_hash":    v["signature_hash"],
	}
	method := v["provisioning_method"]
	if method == "email" || strings.TrimSpace(v["csr"]) != "" {
		certificate["csr"] = v["csr"]
	}
	if method != "email" {
		certificate["csr_key_type"] = v["key_type"]
		certificate["key_size"] = numberOrText(v["key_size"])
	}

	body := map[string]any{
		"certificate":            certificate,
		"cs_provisioning_method": method,
		"order_validity":         map[string]any{"years": numberOrText(v["validity_years"])},
		"payment_method":         "balance",
	}
	if id := strings.TrimSpace(v["organization_id"]); id != "" {
		body["organization"] = map[string]any{"id": numberOrText(id)}
	}
	if strings.TrimSpace(v["comments"]) != "" {
		body["comments"] = v["comments"]
	}
	if v["skip_approval"] == "true" {
		body["skip_approval"] = true
	}
	if method == "ship_token" {
		ship := map[string]any{}
		for _, key := range []string{"name", "addr1", "addr2", "city", "state", "zip", "country", "method"} {
			if value := v["ship_"+key]; value != "" {
				ship[key] = value
			}
		}
		body["ship_info"] = ship
	}
	return body
}

func numberOrText(s string) any {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n
	}
	return s
}

// fieldOf returns the form field a problem belongs to, or "" for a
// problem of the whole order. Codes such as invalid_value:certificate.csr
// carry the path; csr_invalid_cannot_parse starts its message with it.
func fieldOf(p errs.Problem) string {
	path := ""
	if _, after, ok := strings.Cut(p.Code, ":"); ok {
		path = after
	} else if before, _, ok := strings.Cut(p.Message, ":"); ok {
		path = before
	}
	if path == "" {
		return ""
	}

	best, bestLen := "", 0
	for field, prefix := range orderFormFields {
		under := path == prefix || strings.HasPrefix(path, prefix+".") || strings.HasPrefix(path, prefix+"[")
		if under && len(prefix) > bestLen {
			best, bestLen = field, len(prefix)
		}
	}
	return best
}
