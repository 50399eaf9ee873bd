package console

import (
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/errs"
	"github.com/docsign-ca/docsign-ca/internal/order"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

// requestsPerPage is the length of one page of the request and order lists.
const requestsPerPage = 25

// maxBulkRequests bounds one bulk approval, like one page of the list.
const maxBulkRequests = requestsPerPage

// maxCommentLength matches the API's limit on processor_comment.
const maxCommentLength = 2000

// requestRow is one line of the requests page.
type requestRow struct {
	Summary            store.RequestSummary
	ProvisioningMethod string
	ValidityEnd        time.Time
	ValidityYears      int
}

type requestsView struct {
	Pending   []requestRow
	Revokes   []requestRow
	CanDecide bool
	Pager     pager
}

// requestsPage lists the pending requests newest first, and the revoke
// requests that wait for an administrator.
func (h *Handler) requestsPage(w http.ResponseWriter, r *http.Request, sess *session) {
	pg := pageOf(r, requestsPerPage)
	pending, total, err := h.listRequests(r, sess, store.RequestFilter{Status: store.RequestPending}, pg)
	if err != nil {
		h.renderError(w, r, sess, err)
		return
	}
	revokes, _, err := h.listRequests(r, sess, store.RequestFilter{Type: store.RequestRevoke, Status: store.RequestSubmitted},
		store.Page{Limit: requestsPerPage})
	if err != nil {
		h.renderError(w, r, sess, err)
		return
	}

	view := requestsView{
		Pending: pending, Revokes: revokes,
		CanDecide: order.Allowed(sess.caller.User.Role, sess.caller.KeyRestriction, order.ActionRequestDecide),
		Pager:     newPager(r, pg, total),
	}
	h.renderNotice(w, r, http.StatusOK, "requests.html", sess, "Requests", noticeOf(r), view)
}

// listRequests reads one page of requests, newest first, with the
// provisioning method and validity of each request's order.
func (h *Handler) listRequests(r *http.Request, sess *session, f store.RequestFilter, pg store.Page) ([]requestRow, int64, error) {
	q := &store.RequestListQuery{Filter: f, Page: pg, Sort: []store.SortKey{{Field: "date", Descending: true}, {Field: "id", Descending: true}}}
	list, err := h.cfg.Orders.ListRequests(r.Context(), &sess.caller, q)
	if err != nil {
		return nil, 0, err
	}

	rows := make([]requestRow, 0, len(list.Requests))
	for _, summary := range list.Requests {
		info, err := h.cfg.Orders.Order(r.Context(), &sess.caller, summary.OrderID)
		if err != nil {
			return nil, 0, err
		}
		rows = append(rows, requestRow{
			Summary: summary, ProvisioningMethod: info.Order.ProvisioningMethod,
			ValidityEnd: info.Order.NotAfter, ValidityYears: info.Details.Validity.Years,
		})
	}
	return rows, list.Total, nil
}

type requestView struct {
	Info      *order.RequestInfo
	CanDecide bool
}

func (h *Handler) requestPage(w http.ResponseWriter, r *http.Request, sess *session) {
	id, err := pathID(r, "request")
	if err != nil {
		h.renderError(w, r, sess, err)
		return
	}
	info, err := h.cfg.Orders.RequestInfo(r.Context(), &sess.caller, id)
	if err != nil {
		h.renderError(w, r, sess, err)
		return
	}
	view := requestView{Info: info, CanDecide: order.Allowed(sess.caller.User.Role, sess.caller.KeyRestriction, order.ActionRequestDecide)}
	h.renderNotice(w, r, http.StatusOK, "request.html", sess, "Request "+strconv.FormatInt(id, 10), noticeOf(r), view)
}

// decideRequest approves or rejects one request with an optional comment.
func (h *Handler) decideRequest(w http.ResponseWriter, r *http.Request, sess *session) {
	id, err := pathID(r, "request")
	if err != nil {
		h.renderError(w, r, sess, err)
		return
	}
	approve, comment, err := readDecision(r)
	if err != nil {
		h.renderError(w, r, sess, err)
		return
	}
	if err := h.cfg.Orders.DecideRequest(r.Context(), &sess.caller, id, approve, comment); err != nil {
		h.renderError(w, r, sess, err)
		return
	}
	notice := "rejected"
	if approve {
		notice = "approved"
	}
	redirectNotice(w, r, "/console/requests", notice)
}

func readDecision(r *http.Request) (approve bool, comment string, err error) {
	var problems errs.List
	switch r.PostForm.Get("decision") {
	case "approve":
		approve = true
	case "reject":
	default:
		problems.Invalid("decision", "decision %q is not allowed; choose approve or reject", r.PostForm.Get("decision"))
	}
	comment = r.PostForm.Get("comment")
	if len([]rune(comment)) > maxCommentLength {
		problems.Invalid("comment", "the comment is longer than %d characters", maxCommentLength)
	}
	return approve, comment, problems.Err()
}

type bulkView struct {
	Requests []requestRow
	Comment  string
}

// bulkConfirmPage lists the selected requests with a button that confirms
// their approval. It changes nothing: a second POST approves, so the
// confirmation step works without JavaScript.
func (h *Handler) bulkConfirmPage(w http.ResponseWriter, r *http.Request, sess *session) {
	ids, err := selectedIDs(r)
	if err != nil {
		h.renderError(w, r, sess, err)
		return
	}
	if len(ids) == 0 {
		redirectNotice(w, r, "/console/requests", "nothing_selected")
		return
	}

	view := bulkView{Comment: r.PostForm.Get("comment")}
	for _, id := range ids {
		info, err := h.cfg.Orders.RequestInfo(r.Context(), &sess.caller, id)
		if err != nil {
			h.renderError(w, r, sess, err)
			return
		}
		view.Requests = append(view.Requests, requestRow{
			Summary: *info.Request, ProvisioningMethod: info.Order.Order.ProvisioningMethod,
			ValidityEnd: info.Order.Order.NotAfter, ValidityYears: info.Order.Details.Validity.Years,
		})
	}
	h.render(w, r, http.StatusOK, "bulk.html", sess, "Approve "+strconv.Itoa(len(ids))+" requests", view)
}

// bulkApprove approves each confirmed request. It stops at the first
// failure, which the error page shows; the requests before it stay
// approved, as separate API calls would leave them.
func (h *Handler) bulkApprove(w http.ResponseWriter, r *http.Request, sess *session) {
	ids, err := selectedIDs(r)
	if err != nil {
		h.renderError(w, r, sess, err)
		return
	}
	if len(ids) == 0 {
		redirectNotice(w, r, "/console/requests", "nothing_selected")
		return
	}
	comment := r.PostForm.Get("comment")
	if len([]rune(comment)) > maxCommentLength {
		h.renderError(w, r, sess, errs.New(errs.BadRequest, "invalid_value:comment", "the comment is longer than %d characters", maxCommentLength))
		return
	}

	for _, id := range ids {
		if err := h.cfg.Orders.DecideRequest(r.Context(), &sess.caller, id, true, comment); err != nil {
			h.renderError(w, r, sess, err)
			return
		}
	}
	redirectNotice(w, r, "/console/requests", "bulk_approved")
}

// selectedIDs reads the distinct request ids ticked on the form.
func selectedIDs(r *http.Request) ([]int64, error) {
	var ids []int64
	for _, raw := range r.PostForm["request"] {
		id, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || id <= 0 {
			return nil, errs.New(errs.BadRequest, "invalid_value:request", "request id %q is not a positive whole number", raw)
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if len(ids) > maxBulkRequests {
		return nil, errs.New(errs.BadRequest, "invalid_value:request",
			"%d requests were selected; approve at most %d at once", len(ids), maxBulkRequests)
	}
	return ids, nil
}

// pager is the paging links of a list page.
type pager struct {
	Page     int64
	Pages    int64
	Total    int64
	PrevURL  string
	NextURL  string
	FirstRow int64
	LastRow  int64
}

// pageOf reads the page query parameter (1-based).
func pageOf(r *http.Request, perPage int64) store.Page {
	n, err := strconv.ParseInt(r.URL.Query().Get("page"), 10, 64)
	if err != nil || n < 1 {
		n = 1
	}
	// The store counts offsets in rows; a page number so large that the
	// offset overflows is clamped to an empty page far past the end.
	if n > 1<<40 {
		n = 1 << 40
	}
	return store.Page{Offset: (n - 1) * perPage, Limit: perPage}
}

func newPager(r *http.Request, pg store.Page, total int64) pager {
	p := pager{Page: pg.Offset/pg.Limit + 1, Total: total, Pages: (total + pg.Limit - 1) / pg.Limit}
	if total > 0 {
		p.FirstRow = min(pg.Offset+1, total)
		p.LastRow = min(pg.Offset+pg.Limit, total)
	}
	link := func(n int64) string {
		q := r.URL.Query()
		q.Del("notice")
		q.Set("page", strconv.FormatInt(n, 10))
		return r.URL.Path + "?" + q.Encode()
	}
	if p.Page > 1 {
		p.PrevURL = link(p.Page - 1)
	}
	if p.Page < p.Pages {
		p.NextURL = link(p.Page + 1)
	}
	return p
}
