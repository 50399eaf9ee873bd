package order

import (
	"context"
	"net/url"

	"github.com/docsign-ca/docsign-ca/internal/store"
)

// Values of the request list's filters[type] and filters[status]. The
// status is the one the API shows: "submitted" is an approved request whose
// order still waits for validation or key material.
var (
	requestTypes    = []string{"new_request", "revoke", "duplicate", "reissue"}
	requestStatuses = []string{"submitted", "pending", "approved", "rejected", "canceled"}
	requestFilters  = []string{"container_id", "search", "status", "type"}
)

// RequestList is one page of requests and the number of matching requests
// on all pages.
type RequestList struct {
	Requests []store.RequestSummary
	Total    int64
	Page     store.Page
}

// ParseRequestListQuery reads the query parameters of GET request.
func ParseRequestListQuery(values url.Values) (*store.RequestListQuery, error) {
	r := newQueryReader(values)
	q := &store.RequestListQuery{Page: r.page(), Sort: r.sort(store.RequestSortFields())}

	f := &q.Filter
	for name, raw := range r.filters(requestFilters) {
		path := filterPath(name)
		switch name {
		case "type":
			f.Type = r.enum(path, raw, requestTypes)
		case "status":
			setRequestStatusFilter(f, r.enum(path, raw, requestStatuses))
		case "container_id":
			f.ContainerID = r.id(path, raw)
		case "search":
			f.Search = r.textMatch(path, raw)
		}
	}
	if err := r.problems.Err(); err != nil {
		return nil, err
	}
	return q, nil
}

// setRequestStatusFilter translates a status as the API shows it into the
// stored request status and the state of the order.
func setRequestStatusFilter(f *store.RequestFilter, status string) {
	notPending := false
	switch status {
	case "":
	case "submitted":
		f.Submitted = true
	case store.RequestApproved:
		f.Status, f.OrderPending = store.RequestApproved, &notPending
	default:
		f.Status = status
	}
}

// ListRequests returns one page of the requests of the orders of the
// caller's scope. The total counts only those requests.
func (s *Service) ListRequests(ctx context.Context, caller *store.Caller, q *store.RequestListQuery) (*RequestList, error) {
	sc, err := s.scope(ctx, caller)
	if err != nil {
		return nil, err
	}
	scoped := *q
	scoped.Filter.Scope = sc

	rows, total, err := s.store.ListRequests(ctx, caller.Account.ID, scoped)
	if err != nil {
		return nil, internal(err, "list requests")
	}
	if rows == nil {
		rows = []store.RequestSummary{}
	}
	return &RequestList{Requests: rows, Total: total, Page: q.Page}, nil
}

// RequestInfo is a request with its order as order info shows it.
type RequestInfo struct {
	Request *store.RequestSummary
	Order   *OrderInfo
}

// RequestInfo returns a request of an order of the caller's scope with its order.
func (s *Service) RequestInfo(ctx context.Context, caller *store.Caller, id int64) (*RequestInfo, error) {
	if _, err := s.visibleRequest(ctx, caller, id); err != nil {
		return nil, err
	}
	r, err := s.store.RequestSummaryByID(ctx, caller.Account.ID, id)
	if err != nil {
		return nil, notFound(err, "request", id)
	}
	info, err := s.Order(ctx, caller, r.OrderID)
	if err != nil {
		return nil, internal(err, "read order of request "+fmtID(id))
	}
	return &RequestInfo{Request: r, Order: info}, nil
}
