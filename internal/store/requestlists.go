package store

import (
	"context"
	"database/sql"
	"fmt"
)

// RequestFilter selects requests. Zero fields select everything, and the
// fields that are set must all match.
type RequestFilter struct {
	Type   string
	Status string
	// OrderPending, when set, requires the request's order to be pending
	// or waiting_pickup (true), or neither (false). The API shows an
	// approved request of such an order as "submitted", and filters on that
	// status with it.
	OrderPending *bool
	// Submitted matches what the API shows as "submitted": a revoke request
	// waiting for approval, or an approved request of a pending order.
	Submitted   bool
	ContainerID int64
	// Search matches the common name of the request's order, which is the
	// organization's name.
	Search *TextMatch
	// Scope limits the list to the requests of the orders one caller may
	// see; nil lists the whole account.
	Scope *Scope
}

// RequestListQuery is one page of a filtered, sorted request list.
type RequestListQuery struct {
	Filter RequestFilter
	Sort   []SortKey
	Page   Page
}

// RequestSummary is a request with the parts of its order and users that
// the request list shows.
type RequestSummary struct {
	Request
	OrderStatus      string
	OrganizationID   int64
	OrganizationName string
	ContainerID      int64
	ContainerName    string
	ProductNameID    string
	Requester        User
	// Processor is the user who approved or rejected the request. Its ID is
	// 0 while no user has decided the request.
	Processor User
}

var requestSortColumns = sortColumns{
	"id":             "r.id",
	"date":           "r.date",
	"date_processed": "r.date_processed",
	"type":           "r.type",
	"status":         "r.status",
	"order_id":       "r.order_id",
}

// RequestSortFields lists the sortable fields of the request list.
func RequestSortFields() []string { return requestSortColumns.fields() }

const requestListFrom = ` FROM requests r
	JOIN orders o ON o.id = r.order_id
	JOIN organizations org ON org.id = o.organization_id
	JOIN containers ct ON ct.id = o.container_id
	JOIN users u ON u.id = r.requester_id
	LEFT JOIN users p ON p.id = r.processor_id`

const requestSummaryColumns = `r.id, r.account_id, r.order_id, r.type, r.status, r.requester_id, r.processor_id, r.comments,
	r.processor_comment, r.date, r.date_processed,
	o.status, o.organization_id, org.name, o.container_id, ct.name, o.product_name_id,
	u.first_name, u.last_name, u.email,
	p.first_name, p.last_name, p.email`

func buildRequestFilter(accountID int64, f RequestFilter) *listQuery {
	q := &listQuery{}
	q.where("r.account_id = ?", accountID)
	f.Scope.addOrderConditions(q, "o.container_id", "o.user_id")
	if f.Type != "" {
		q.where("r.type = ?", f.Type)
	}
	if f.Status != "" {
		q.where("r.status = ?", f.Status)
	}
	if f.Submitted {
		q.where("(r.status = ? OR (r.status = ? AND o.status IN (?, ?)))", RequestSubmitted, RequestApproved, OrderPending, OrderWaitingPickup)
	}
	if f.OrderPending != nil {
		if *f.OrderPending {
			q.where("o.status IN (?, ?)", OrderPending, OrderWaitingPickup)
		} else {
			q.where("o.status NOT IN (?, ?)", OrderPending, OrderWaitingPickup)
		}
	}
	if f.ContainerID != 0 {
		q.where("o.container_id = ?", f.ContainerID)
	}
	if f.Search != nil {
		q.whereText(*f.Search, "org.name")
	}
	return q
}

// ListRequests returns one page of the account's requests and the number
// of requests that match the filter on all pages.
func (s *Store) ListRequests(ctx context.Context, accountID int64, in RequestListQuery) ([]RequestSummary, int64, error) {
	q := buildRequestFilter(accountID, in.Filter)
	order, err := orderBySQL(in.Sort, requestSortColumns, "r.id")
	if err != nil {
		return nil, 0, err
	}
	limit, limitArgs := pageSQL(in.Page)

	var out []RequestSummary
	var total int64
	err = s.withReadTx(ctx, func(tx *sql.Tx) error {
		var err error
		total, err = countRows(ctx, tx, `SELECT COUNT(*)`+requestListFrom+q.whereSQL(), q.args)
		if err != nil {
			return fmt.Errorf("count requests: %w", err)
		}

		rows, err := tx.QueryContext(ctx, `SELECT `+requestSummaryColumns+requestListFrom+q.whereSQL()+order+limit,
			append(append([]any{}, q.args...), limitArgs...)...)
		if err != nil {
			return fmt.Errorf("list requests: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			r, err := scanRequestSummary(rows)
			if err != nil {
				return fmt.Errorf("read request list row: %w", err)
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

// RequestSummaryByID returns one request of the account in its list form,
// or ErrNotFound.
func (s *Store) RequestSummaryByID(ctx context.Context, accountID, id int64) (*RequestSummary, error) {
	q := buildRequestFilter(accountID, RequestFilter{})
	q.where("r.id = ?", id)
	rows, err := s.db.QueryContext(ctx, `SELECT `+requestSummaryColumns+requestListFrom+q.whereSQL(), q.args...)
	if err != nil {
		return nil, fmt.Errorf("read request %d: %w", id, err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("read request %d: %w", id, err)
		}
		return nil, ErrNotFound
	}
	r, err := scanRequestSummary(rows)
	if err != nil {
		return nil, fmt.Errorf("read request %d: %w", id, err)
	}
	return &r, nil
}

func scanRequestSummary(rows *sql.Rows) (RequestSummary, error) {
	var r RequestSummary
	var processorID sql.NullInt64
	var date string
	var processed sql.NullString
	var processorFirst, processorLast, processorEmail sql.NullString
	err := rows.Scan(&r.ID, &r.AccountID, &r.OrderID, &r.Type, &r.Status, &r.RequesterID, &processorID, &r.Comments,
		&r.ProcessorComment, &date, &processed,
		&r.OrderStatus, &r.OrganizationID, &r.OrganizationName, &r.ContainerID, &r.ContainerName, &r.ProductNameID,
		&r.Requester.FirstName, &r.Requester.LastName, &r.Requester.Email,
		&processorFirst, &processorLast, &processorEmail)
	if err != nil {
		return r, err
	}
	r.ProcessorID = processorID.Int64
	r.Date = parseTime(date)
	r.DateProcessed = nullTime(processed)
	r.Requester.ID = r.RequesterID
	if processorID.Valid {
		r.Processor = User{ID: processorID.Int64, FirstName: processorFirst.String, LastName: processorLast.String, Email: processorEmail.String}
	}
	return r, nil
}
