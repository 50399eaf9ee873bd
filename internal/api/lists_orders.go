package api

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/docsign-ca/docsign-ca/internal/order"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

// orderListItemView is an order in CertCentral's order list shape.
type orderListItemView struct {
	ID                          int64                    `json:"id"`
	Certificate                 orderListCertificateView `json:"certificate"`
	Status                      string                   `json:"status"`
	IsRenewed                   bool                     `json:"is_renewed"`
	DateCreated                 string                   `json:"date_created"`
	Organization                namedRef                 `json:"organization"`
	ValidityYears               int                      `json:"validity_years"`
	DisableRenewalNotifications bool                     `json:"disable_renewal_notifications"`
	Container                   namedRef                 `json:"container"`
	Product                     productRefView           `json:"product"`
	HasDuplicates               bool                     `json:"has_duplicates"`
	ProductNameID               string                   `json:"product_name_id"`
}

// orderListCertificateView is the certificate of an order list entry. The
// validity fields appear once the certificate is issued.
type orderListCertificateView struct {
	ID            int64    `json:"id"`
	CommonName    string   `json:"common_name"`
	DNSNames      []string `json:"dns_names"`
	SerialNumber  string   `json:"serial_number,omitempty"`
	ValidFrom     string   `json:"valid_from,omitempty"`
	ValidTill     string   `json:"valid_till,omitempty"`
	DaysRemaining *int     `json:"days_remaining,omitempty"`
	SignatureHash string   `json:"signature_hash"`
}

type productRefView struct {
	NameID string `json:"name_id"`
	Name   string `json:"name"`
	Type   string `json:"type"`
}

type orderListView struct {
	Orders []orderListItemView `json:"orders"`
	Page   pageView            `json:"page"`
}

func (s *Server) listOrders(w http.ResponseWriter, r *http.Request, caller *store.Caller) {
	values, err := queryValues(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q, err := order.ParseOrderListQuery(values)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, err := s.orders.ListOrders(r.Context(), caller, q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}

	items := make([]orderListItemView, 0, len(list.Orders))
	for _, o := range list.Orders {
		items = append(items, s.viewOrderListItem(o))
	}
	if wantsCSV(r.Header.Get("Accept")) {
		writeCSV(w, "orders.csv", orderCSVHeader, orderCSVRows(items))
		return
	}
	writeJSON(w, http.StatusOK, orderListView{Orders: items, Page: viewPage(list.Total, list.Page)})
}

func (s *Server) viewOrderListItem(o order.OrderListEntry) orderListItemView {
	product := s.productRef(o.ProductNameID)
	v := orderListItemView{
		ID: o.ID,
		Certificate: orderListCertificateView{
			ID:            o.Certificate.ID,
			CommonName:    o.OrganizationName,
			DNSNames:      []string{},
			SignatureHash: o.SignatureHash,
		},
		Status:                      o.Status,
		IsRenewed:                   o.IsRenewed,
		DateCreated:                 formatDateTime(o.DateCreated),
		Organization:                namedRef{ID: o.OrganizationID, Name: o.OrganizationName},
		ValidityYears:               o.ValidityYears,
		DisableRenewalNotifications: o.DisableRenewalNotifications,
		Container:                   namedRef{ID: o.ContainerID, Name: o.ContainerName},
		Product:                     product,
		HasDuplicates:               o.HasDuplicates,
		ProductNameID:               o.ProductNameID,
	}
	if o.Certificate.Status != "" && o.Certificate.Status != store.CertificatePending {
		c := &v.Certificate
		c.SerialNumber = o.Certificate.SerialNumber
		c.ValidFrom = formatDate(o.Certificate.ValidFrom)
		c.ValidTill = formatDate(o.Certificate.ValidTill)
		days := daysRemaining(o.Certificate.ValidTill, s.orders.Now())
		c.DaysRemaining = &days
	}
	return v
}

// productRef names a product for list entries. An order of a product that
// docsign-ca no longer sells keeps its name_id.
func (s *Server) productRef(nameID string) productRefView {
	p, err := s.orders.Product(nameID)
	if err != nil {
		return productRefView{NameID: nameID, Name: nameID}
	}
	return productRefView{NameID: p.NameID, Name: p.Name, Type: p.Type}
}

var orderCSVHeader = []string{
	"id", "status", "date_created", "common_name", "certificate_id", "serial_number", "valid_from", "valid_till",
	"days_remaining", "signature_hash", "organization_id", "organization_name", "container_id", "container_name",
	"product_name_id", "product_name", "validity_years", "is_renewed", "has_duplicates", "disable_renewal_notifications",
}

func orderCSVRows(items []orderListItemView) [][]string {
	rows := make([][]string, 0, len(items))
	for _, o := range items {
		days := ""
		if o.Certificate.DaysRemaining != nil {
			days = strconv.Itoa(*o.Certificate.DaysRemaining)
		}
		rows = append(rows, []string{
			csvInt(o.ID), o.Status, o.DateCreated, csvText(o.Certificate.CommonName), csvInt(o.Certificate.ID),
			o.Certificate.SerialNumber, o.Certificate.ValidFrom, o.Certificate.ValidTill, days, o.Certificate.SignatureHash,
			csvInt(o.Organization.ID), csvText(o.Organization.Name), csvInt(o.Container.ID), csvText(o.Container.Name),
			o.ProductNameID, o.Product.Name, strconv.Itoa(o.ValidityYears), csvBool(o.IsRenewed), csvBool(o.HasDuplicates),
			csvBool(o.DisableRenewalNotifications),
		})
	}
	return rows
}

// statusChangeView is one order status transition.
type statusChangeView struct {
	OrderID           int64  `json:"order_id"`
	CertificateID     int64  `json:"certificate_id"`
	Status            string `json:"status"`
	StatusLastUpdated string `json:"status_last_updated"`
}

// listStatusChanges sends {} when nothing changed, as CertCentral does, and
// otherwise {"orders":[...]} with one entry per transition.
func (s *Server) listStatusChanges(w http.ResponseWriter, r *http.Request, caller *store.Caller) {
	values, err := queryValues(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q, err := order.ParseStatusChangeQuery(values)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	changes, err := s.orders.StatusChanges(r.Context(), caller, q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}

	if len(changes) == 0 {
		writeJSON(w, http.StatusOK, struct{}{})
		return
	}
	views := make([]statusChangeView, 0, len(changes))
	for _, c := range changes {
		views = append(views, statusChangeView{
			OrderID:           c.OrderID,
			CertificateID:     c.CertificateID,
			Status:            c.Status,
			StatusLastUpdated: formatDateTime(c.ChangedAt),
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"orders": views})
}

// orderValidationView is CertCentral's order validation status. Its ids
// are strings, as CertCentral sends them on this endpoint.
type orderValidationView struct {
	OrderID                 string                       `json:"order_id"`
	OrderStatus             string                       `json:"order_status"`
	OrganizationID          string                       `json:"organization_id"`
	OrganizationName        string                       `json:"organization_name"`
	OrganizationValidations []organizationValidationView `json:"organization_validations"`
	DNSNameValidations      []any                        `json:"dns_name_validations"`
}

type organizationValidationView struct {
	Type             string                `json:"type"`
	Name             string                `json:"name"`
	Description      string                `json:"description"`
	DateCreated      string                `json:"date_created"`
	ValidatedUntil   string                `json:"validated_until,omitempty"`
	Status           string                `json:"status"`
	VerifiedContacts []verifiedContactView `json:"verified_contacts"`
}

// verifiedContactView is a verified contact. Its user_id is "0" for a
// person who is not a user of the account.
type verifiedContactView struct {
	UserID    string `json:"user_id"`
	Name      string `json:"name"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	JobTitle  string `json:"job_title"`
	Telephone string `json:"telephone"`
	Email     string `json:"email"`
	Status    string `json:"status"`
}

func (s *Server) getOrderValidation(w http.ResponseWriter, r *http.Request, caller *store.Caller) {
	id, err := pathID(r, "order")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	v, err := s.orders.OrderValidation(r.Context(), caller, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, viewOrderValidation(v))
}

func viewOrderValidation(v *order.OrderValidation) orderValidationView {
	out := orderValidationView{
		OrderID:                 strconv.FormatInt(v.Order.ID, 10),
		OrderStatus:             v.Order.Status,
		OrganizationID:          strconv.FormatInt(v.Organization.ID, 10),
		OrganizationName:        v.Organization.Name,
		OrganizationValidations: make([]organizationValidationView, 0, len(v.Validations)),
		DNSNameValidations:      []any{},
	}
	for _, val := range v.Validations {
		view := organizationValidationView{
			Type:             val.Type,
			Name:             strings.ToUpper(val.Type),
			Description:      "Document Signing Organization Validation",
			DateCreated:      formatDateTime(val.DateCreated),
			ValidatedUntil:   formatDateTime(val.ValidatedUntil),
			Status:           val.Status,
			VerifiedContacts: make([]verifiedContactView, 0, len(val.VerifiedContacts)),
		}
		for _, c := range val.VerifiedContacts {
			view.VerifiedContacts = append(view.VerifiedContacts, verifiedContactView{
				UserID:    strconv.FormatInt(c.UserID, 10),
				Name:      strings.TrimSpace(c.FirstName + " " + c.LastName),
				FirstName: c.FirstName,
				LastName:  c.LastName,
				JobTitle:  c.JobTitle,
				Telephone: c.Telephone,
				Email:     c.Email,
				Status:    val.Status,
			})
		}
		out.OrganizationValidations = append(out.OrganizationValidations, view)
	}
	return out
}
