package order

import (
	"context"
	"encoding/json"
	"math"
	"net/url"
	"strings"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/errs"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

// orderStatuses are the values of filters[status] on the order list:
// CertCentral's documented statuses and needs_approval.
var orderStatuses = []string{"needs_approval", "pending", "waiting_pickup", "reissue_pending", "issued", "rejected", "canceled", "revoked"}

// orderFilters are the filters of GET order/certificate. CertCentral
// documents more (domain_name, metadata_id, email, origin ...), but they
// name data that docsign-ca does not keep, so they are rejected.
var orderFilters = []string{
	"certificate_id", "common_name", "container_id", "date_created", "id", "organization_id",
	"product_name_id", "search", "serial_number", "status", "user_id", "valid_till",
}

// OrderListEntry is an order of the order list with the values taken from
// its stored details.
type OrderListEntry struct {
	store.OrderSummary
	ValidityYears               int
	DisableRenewalNotifications bool
}

// OrderList is one page of orders and the number of matching orders on all pages.
type OrderList struct {
	Orders []OrderListEntry
	Total  int64
	Page   store.Page
}

// ParseOrderListQuery reads the query parameters of GET order/certificate.
func ParseOrderListQuery(values url.Values) (*store.OrderListQuery, error) {
	r := newQueryReader(values)
	q := &store.OrderListQuery{Page: r.page(), Sort: r.sort(store.OrderSortFields())}

	f := &q.Filter
	for name, raw := range r.filters(orderFilters) {
		path := filterPath(name)
		switch name {
		case "id":
			f.ID = r.id(path, raw)
		case "organization_id":
			f.OrganizationID = r.id(path, raw)
		case "certificate_id":
			f.CertificateID = r.id(path, raw)
		case "container_id":
			f.ContainerID = r.id(path, raw)
		case "user_id":
			f.UserID = r.id(path, raw)
		case "status":
			f.Status = r.enum(path, raw, orderStatuses)
		case "product_name_id":
			f.ProductNameID = strings.ToLower(strings.TrimSpace(raw))
		case "common_name":
			f.CommonName = r.textMatch(path, raw)
		case "search":
			f.Search = r.textMatch(path, raw)
		case "serial_number":
			f.SerialNumber = normalizeSerial(raw)
		case "date_created":
			f.DateCreated = r.timeRange(path, raw)
		case "valid_till":
			f.ValidTill = r.timeRange(path, raw)
		}
	}
	if err := r.problems.Err(); err != nil {
		return nil, err
	}
	return q, nil
}

// normalizeSerial accepts a serial number as hex with or without colon
// separators. Stored serials are upper-case hex without separators.
func normalizeSerial(raw string) string {
	return strings.ToUpper(strings.NewReplacer(":", "", " ", "").Replace(strings.TrimSpace(raw)))
}

// ListOrders returns one page of the orders of the caller's scope. The
// scope is a condition of the query, so the total counts only those orders.
func (s *Service) ListOrders(ctx context.Context, caller *store.Caller, q *store.OrderListQuery) (*OrderList, error) {
	sc, err := s.scope(ctx, caller)
	if err != nil {
		return nil, err
	}
	scoped := *q
	scoped.Filter.Scope = sc

	rows, total, err := s.store.ListOrders(ctx, caller.Account.ID, scoped)
	if err != nil {
		return nil, internal(err, "list orders")
	}

	list := &OrderList{Orders: make([]OrderListEntry, 0, len(rows)), Total: total, Page: q.Page}
	for _, row := range rows {
		entry := OrderListEntry{OrderSummary: row}
		d, err := Details(&store.Order{Details: row.Details})
		if err != nil {
			return nil, internal(err, "decode details of order "+fmtID(row.ID))
		}
		entry.ValidityYears = validityYears(d.Validity, row.DateCreated, row.NotAfter)
		entry.DisableRenewalNotifications = d.DisableRenewalNotifications
		list.Orders = append(list.Orders, entry)
	}
	return list, nil
}

// validityYears is the order's validity in whole years, as the order list
// shows it. An order placed with days or a custom expiration date counts
// every started year, so 400 days is 2 years. A validity of N years ends on
// the last second of the day N years after the order date, so that end
// still counts as N years.
func validityYears(v Validity, created, notAfter time.Time) int {
	if v.Years > 0 {
		return v.Years
	}
	day := created.UTC().Truncate(24 * time.Hour)
	years := 1
	for years < maxValidityYears && notAfter.After(day.AddDate(years, 0, 1)) {
		years++
	}
	return years
}

// Limits of GET order/certificate/status-changes: CertCentral accepts a
// window of at most 7 days (10080 minutes, 604800 seconds).
const (
	MaxStatusChangeWindow = 7 * 24 * time.Hour
	maxWindowMinutes      = int64(MaxStatusChangeWindow / time.Minute)
	maxWindowSeconds      = int64(MaxStatusChangeWindow / time.Second)
)

// StatusChangeQuery is the window of GET order/certificate/status-changes.
// Window (from minutes or seconds) reaches back from the time of the call,
// and Range comes from filters[status_last_updated]. When both are set, a
// change must lie in both.
type StatusChangeQuery struct {
	Window time.Duration
	Range  *store.TimeRange
}

// ParseStatusChangeQuery reads minutes, seconds and filters[status_last_updated].
func ParseStatusChangeQuery(values url.Values) (*StatusChangeQuery, error) {
	r := newQueryReader(values)
	q := &StatusChangeQuery{}

	minutes, hasMinutes := r.single("minutes")
	seconds, hasSeconds := r.single("seconds")
	switch {
	case hasMinutes && hasSeconds:
		r.problems.Invalid("seconds", "send minutes or seconds, not both")
	case hasMinutes:
		q.Window = r.window("minutes", minutes, maxWindowMinutes, time.Minute)
	case hasSeconds:
		q.Window = r.window("seconds", seconds, maxWindowSeconds, time.Second)
	}

	if raw, ok := r.filters([]string{"status_last_updated"})["status_last_updated"]; ok {
		q.Range = r.timeRange(filterPath("status_last_updated"), raw)
		if q.Range != nil && q.Range.From.IsZero() {
			r.problems.Invalid(filterPath("status_last_updated"),
				"filters[status_last_updated] %q has no start; send a range such as 2024-01-01...2024-01-07", raw)
		}
	}

	if r.problems.Len() == 0 && q.Window == 0 && q.Range == nil {
		r.problems.Required("minutes", "send minutes, seconds or filters[status_last_updated] to choose the time window")
	}
	if err := r.problems.Err(); err != nil {
		return nil, err
	}
	return q, nil
}

// window reads a positive count of units no larger than maxCount.
func (r *queryReader) window(name, raw string, maxCount int64, unit time.Duration) time.Duration {
	n, ok := parseCount(raw)
	if !ok || n <= 0 {
		r.problems.Invalid(name, "%s %q is not a positive whole number", name, raw)
		return 0
	}
	if n > maxCount {
		r.problems.Add("time_frame_too_long", "%s %d is longer than the maximum window of %d %s (7 days)", name, n, maxCount, name)
		return 0
	}
	return time.Duration(n) * unit
}

// StatusChanges returns the status transitions of the caller's account's
// orders within the query's window, oldest first.
func (s *Service) StatusChanges(ctx context.Context, caller *store.Caller, q *StatusChangeQuery) ([]store.StatusChange, error) {
	now := s.now().UTC().Truncate(time.Second)
	var rng store.TimeRange
	if q.Window > 0 {
		rng.From = now.Add(-q.Window)
	}
	if q.Range != nil {
		if err := checkRangeLength(*q.Range, now); err != nil {
			return nil, err
		}
		if q.Range.From.After(rng.From) {
			rng.From = q.Range.From
		}
		rng.Until = q.Range.Until
	}

	sc, err := s.scope(ctx, caller)
	if err != nil {
		return nil, err
	}
	changes, err := s.store.ListStatusChangesInScope(ctx, caller.Account.ID, rng, sc)
	if err != nil {
		return nil, internal(err, "list order status changes")
	}
	return changes, nil
}

// checkRangeLength limits filters[status_last_updated] to
// MaxStatusChangeWindow. An open end counts up to now.
func checkRangeLength(rng store.TimeRange, now time.Time) error {
	end := rng.Until
	if end.IsZero() || end.After(now) {
		end = now
	}
	if end.Sub(rng.From) <= MaxStatusChangeWindow {
		return nil
	}
	return errs.New(errs.BadRequest, "time_frame_too_long",
		"filters[status_last_updated] covers %s to %s, more than the maximum window of 7 days; send a shorter range",
		rng.From.Format(time.RFC3339), end.Format(time.RFC3339))
}

// OrderValidation is an order with the validation state of its organization.
type OrderValidation struct {
	Order        *store.Order
	Organization *store.Organization
	Validations  []ValidationState
}

// ValidationState is one validation of the organization and the people
// named as its verified contacts.
type ValidationState struct {
	store.Validation
	VerifiedContacts []VerifiedContact
}

// VerifiedContact is a verified contact of a validation. UserID is 0 for a
// person who is not a user of the account.
type VerifiedContact struct {
	UserID    int64
	FirstName string
	LastName  string
	JobTitle  string
	Telephone string
	Email     string
}

// OrderValidation returns the validation state of an order of the caller's scope.
func (s *Service) OrderValidation(ctx context.Context, caller *store.Caller, orderID int64) (*OrderValidation, error) {
	o, err := s.visibleOrder(ctx, caller, orderID)
	if err != nil {
		return nil, err
	}
	org, err := s.store.OrganizationByID(ctx, o.OrganizationID)
	if err != nil {
		return nil, internal(err, "read organization")
	}
	validations, err := s.store.Validations(ctx, o.OrganizationID)
	if err != nil {
		return nil, internal(err, "read validations")
	}

	out := &OrderValidation{Order: o, Organization: org}
	for _, v := range validations {
		out.Validations = append(out.Validations, ValidationState{
			Validation:       v,
			VerifiedContacts: s.verifiedContacts(ctx, caller, v.VerifiedUsers),
		})
	}
	return out, nil
}

// verifiedContacts resolves the verified_users sent with a validation
// request: an {"id"} names a user of the account, anything else is a
// person given by name. An id that names no user of the account keeps the
// id, with the names that were sent.
func (s *Service) verifiedContacts(ctx context.Context, caller *store.Caller, raw json.RawMessage) []VerifiedContact {
	var entries []map[string]any
	if err := json.Unmarshal(raw, &entries); err != nil {
		return nil
	}

	contacts := make([]VerifiedContact, 0, len(entries))
	for _, e := range entries {
		c := VerifiedContact{
			FirstName: stringField(e, "first_name"),
			LastName:  stringField(e, "last_name"),
			JobTitle:  stringField(e, "job_title"),
			Telephone: stringField(e, "telephone"),
			Email:     stringField(e, "email"),
		}
		if id, ok := idField(e["id"]); ok {
			c.UserID = id
			if u, err := s.store.UserInAccount(ctx, caller.Account.ID, id); err == nil {
				c.FirstName, c.LastName, c.JobTitle, c.Telephone, c.Email = u.FirstName, u.LastName, u.JobTitle, u.Telephone, u.Email
			}
		}
		contacts = append(contacts, c)
	}
	return contacts
}

func stringField(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

// idField reads an id sent as a JSON number or a decimal string.
func idField(v any) (int64, bool) {
	switch id := v.(type) {
	case float64:
		if id > 0 && id == math.Trunc(id) && id <= math.MaxInt64 {
			return int64(id), true
		}
	case json.Number:
		n, err := id.Int64()
		return n, err == nil && n > 0
	case string:
		n, ok := parseCount(id)
		return n, ok && n > 0
	}
	return 0, false
}
