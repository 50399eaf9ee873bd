package api

import (
	"net/http"
	"strings"

	"github.com/docsign-ca/docsign-ca/internal/order"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

// userRefView names a user in requests: the requester or the processor.
type userRefView struct {
	ID        int64  `json:"id"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Email     string `json:"email"`
}

func viewUserRef(u store.User) userRefView {
	return userRefView{ID: u.ID, FirstName: u.FirstName, LastName: u.LastName, Email: u.Email}
}

// requestListItemView is a request in CertCentral's request list shape.
// date_processed and processor appear once the request is approved or rejected.
type requestListItemView struct {
	ID            int64               `json:"id"`
	Date          string              `json:"date"`
	Type          string              `json:"type"`
	Status        string              `json:"status"`
	DateProcessed string              `json:"date_processed,omitempty"`
	Requester     userRefView         `json:"requester"`
	Processor     *userRefView        `json:"processor,omitempty"`
	Order         requestOrderRefView `json:"order"`
}

type requestOrderRefView struct {
	ID           int64          `json:"id"`
	Certificate  commonNameView `json:"certificate"`
	Organization namedRef       `json:"organization"`
	Container    namedRef       `json:"container"`
	Product      productRefView `json:"product"`
}

type commonNameView struct {
	CommonName string `json:"common_name"`
}

type requestListView struct {
	Requests []requestListItemView `json:"requests"`
	Page     pageView              `json:"page"`
}

func (s *Server) listRequests(w http.ResponseWriter, r *http.Request, caller *store.Caller) {
	values, err := queryValues(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q, err := order.ParseRequestListQuery(values)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, err := s.orders.ListRequests(r.Context(), caller, q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}

	items := make([]requestListItemView, 0, len(list.Requests))
	for _, req := range list.Requests {
		items = append(items, s.viewRequestListItem(req))
	}
	if wantsCSV(r.Header.Get("Accept")) {
		writeCSV(w, "requests.csv", requestCSVHeader, requestCSVRows(items))
		return
	}
	writeJSON(w, http.StatusOK, requestListView{Requests: items, Page: viewPage(list.Total, list.Page)})
}

func (s *Server) viewRequestListItem(r store.RequestSummary) requestListItemView {
	v := requestListItemView{
		ID:            r.ID,
		Date:          formatDateTime(r.Date),
		Type:          r.Type,
		Status:        wireRequestStatus(r.Request, &store.Order{Status: r.OrderStatus}),
		DateProcessed: formatDateTime(r.DateProcessed),
		Requester:     viewUserRef(r.Requester),
		Order: requestOrderRefView{
			ID:           r.OrderID,
			Certificate:  commonNameView{CommonName: r.OrganizationName},
			Organization: namedRef{ID: r.OrganizationID, Name: r.OrganizationName},
			Container:    namedRef{ID: r.ContainerID, Name: r.ContainerName},
			Product:      s.productRef(r.ProductNameID),
		},
	}
	if r.Processor.ID != 0 {
		p := viewUserRef(r.Processor)
		v.Processor = &p
	}
	return v
}

var requestCSVHeader = []string{
	"id", "date", "type", "status", "date_processed", "requester_id", "requester_email", "processor_id",
	"order_id", "common_name", "organization_id", "organization_name", "container_id", "container_name", "product_name_id",
}

func requestCSVRows(items []requestListItemView) [][]string {
	rows := make([][]string, 0, len(items))
	for _, r := range items {
		processor := ""
		if r.Processor != nil {
			processor = csvInt(r.Processor.ID)
		}
		rows = append(rows, []string{
			csvInt(r.ID), r.Date, r.Type, r.Status, r.DateProcessed, csvInt(r.Requester.ID), csvText(r.Requester.Email), processor,
			csvInt(r.Order.ID), csvText(r.Order.Certificate.CommonName), csvInt(r.Order.Organization.ID), csvText(r.Order.Organization.Name),
			csvInt(r.Order.Container.ID), csvText(r.Order.Container.Name), r.Order.Product.NameID,
		})
	}
	return rows
}

// requestInfoView is CertCentral's request info: the request, who placed
// and who decided it, and a snapshot of its order.
type requestInfoView struct {
	ID               int64                    `json:"id"`
	Date             string                   `json:"date"`
	Type             string                   `json:"type"`
	Status           string                   `json:"status"`
	DateProcessed    string                   `json:"date_processed,omitempty"`
	Requester        userRefView              `json:"requester"`
	Processor        *userRefView             `json:"processor,omitempty"`
	Order            requestOrderSnapshotView `json:"order"`
	Comments         string                   `json:"comments"`
	ProcessorComment string                   `json:"processor_comment"`
}

// requestOrderSnapshotView is the order as request info shows it: the
// certificate, organization and product parts of order info.
type requestOrderSnapshotView struct {
	ID                   int64                 `json:"id"`
	Status               string                `json:"status"`
	DateCreated          string                `json:"date_created"`
	OrderValidTill       string                `json:"order_valid_till"`
	Certificate          orderCertificateView  `json:"certificate"`
	Organization         orderOrganizationView `json:"organization"`
	Container            namedRef              `json:"container"`
	Product              productView           `json:"product"`
	CSProvisioningMethod string                `json:"cs_provisioning_method"`
}

func (s *Server) getRequest(w http.ResponseWriter, r *http.Request, caller *store.Caller) {
	id, err := pathID(r, "request")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	info, err := s.orders.RequestInfo(r.Context(), caller, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}

	item := s.viewRequestListItem(*info.Request)
	o, org := info.Order.Order, info.Order.Organization
	product := s.productRef(o.ProductNameID)
	writeJSON(w, http.StatusOK, requestInfoView{
		ID:            item.ID,
		Date:          item.Date,
		Type:          item.Type,
		Status:        item.Status,
		DateProcessed: item.DateProcessed,
		Requester:     item.Requester,
		Processor:     item.Processor,
		Order: requestOrderSnapshotView{
			ID:             o.ID,
			Status:         o.Status,
			DateCreated:    formatDateTime(o.DateCreated),
			OrderValidTill: formatDate(o.NotAfter),
			Certificate:    viewOrderCertificate(info.Order),
			Organization: orderOrganizationView{
				ID: org.ID, Name: org.Name, DisplayName: displayName(org), IsActive: org.IsActive,
				City: org.City, State: org.State, Country: strings.ToLower(org.Country),
			},
			Container:            item.Order.Container,
			Product:              productView{NameID: product.NameID, Name: product.Name, Type: product.Type, ValidationType: "ds"},
			CSProvisioningMethod: o.ProvisioningMethod,
		},
		Comments:         info.Request.Comments,
		ProcessorComment: info.Request.ProcessorComment,
	})
}
