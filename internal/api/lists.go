package api

import (
	"bytes"
	"encoding/csv"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/errs"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

// readRoutes registers the read endpoints: lists with paging, filters and
// CSV, status changes, and account information.
func (s *Server) readRoutes() {
	s.handle("GET /services/v2/order/certificate", s.listOrders)
	s.handle("GET /services/v2/order/certificate/status-changes", s.listStatusChanges)
	s.handle("GET /services/v2/order/certificate/{id}/validation", s.getOrderValidation)

	s.handle("GET /services/v2/request", s.listRequests)
	s.handle("GET /services/v2/request/{id}", s.getRequest)

	s.handle("GET /services/v2/organization", s.listOrganizations)
	s.handle("GET /services/v2/container/{id}/order/organization", s.listContainerOrganizations)

	s.handle("GET /services/v2/product", s.listProducts)
	s.handle("GET /services/v2/product/{name_id}", s.getProduct)

	s.handle("GET /services/v2/user", s.listUsers)
	s.handle("GET /services/v2/user/{id}", s.getUser)
	s.handle("GET /services/v2/container", s.listContainers)
	s.handle("GET /services/v2/container/{id}", s.getContainer)
	s.handle("GET /services/v2/account", s.getAccount)
	s.handle("GET /services/v2/finance/balance", s.getBalance)
	s.handle("GET /services/v2/finance/payment-profile", s.listPaymentProfiles)
}

// queryValues parses the raw query string. r.URL.Query() would silently
// drop a pair with a bad percent-encoding, such as a "%" sent unencoded
// before two letters, and the filter would then not apply at all.
func queryValues(r *http.Request) (url.Values, error) {
	values, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, errs.New(errs.BadRequest, "bad_request_format",
			"the query string is not valid (%v); percent-encode reserved characters, and send a literal %% as %%25", err)
	}
	return values, nil
}

// contentTypeCSV is the Content-Type of list responses for Accept: text/csv.
const contentTypeCSV = "text/csv; charset=utf-8"

// wantsCSV reports whether the Accept header prefers text/csv to
// application/json. Equal quality values go to the type listed first.
// Wildcards and other types leave the default, JSON.
func wantsCSV(accept string) bool {
	csvQ, jsonQ := 0.0, 0.0
	csvAt, jsonAt := -1, -1
	for i, part := range strings.Split(accept, ",") {
		mediaType, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if raw, ok := params["q"]; ok {
			if q, err = strconv.ParseFloat(raw, 64); err != nil {
				continue
			}
		}
		switch {
		case mediaType == "text/csv" && csvAt < 0:
			csvQ, csvAt = q, i
		case mediaType == "application/json" && jsonAt < 0:
			jsonQ, jsonAt = q, i
		}
	}
	if csvAt < 0 || csvQ <= 0 {
		return false
	}
	return jsonAt < 0 || csvQ > jsonQ || (csvQ == jsonQ && csvAt < jsonAt)
}

// writeCSV sends a header row and the rows as an RFC 4180 CSV file.
func writeCSV(w http.ResponseWriter, filename string, header []string, rows [][]string) {
	var body bytes.Buffer
	out := csv.NewWriter(&body)
	_ = out.Write(header)
	_ = out.WriteAll(rows) // bytes.Buffer.Write always returns a nil error
	w.Header().Set("Content-Type", contentTypeCSV)
	w.Header().Set("Content-Disposition", `attachment; filename="`+filename+`"`)
	w.Header().Set("Content-Length", strconv.Itoa(body.Len()))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body.Bytes())
}

// csvText neutralizes text that a spreadsheet would run as a formula (CSV
// injection). A cell that starts with =, +, -, @, a tab or a carriage
// return gets a leading apostrophe, so the spreadsheet shows it as text.
// Only text that customers typed passes through it. Numbers and dates are
// written as they are.
func csvText(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func csvInt(n int64) string { return strconv.FormatInt(n, 10) }

func csvBool(b bool) string { return strconv.FormatBool(b) }

// pageView is CertCentral's page object. limit is the limit applied, which
// is the default when the client sent none.
type pageView struct {
	Total  int64 `json:"total"`
	Limit  int64 `json:"limit"`
	Offset int64 `json:"offset"`
}

func viewPage(total int64, p store.Page) pageView {
	return pageView{Total: total, Limit: p.Limit, Offset: p.Offset}
}

// namedRef is an {id, name} reference such as an order's organization or container.
type namedRef struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// formatDate formats a certificate validity date, or "" for the zero time.
func formatDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(dateLayout)
}

// formatDateTime formats a timestamp as ISO 8601 in UTC, or "" for the zero time.
func formatDateTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(dateTimeLayout)
}

// daysRemaining counts the whole days from now until validTill, and 0 once
// it has passed.
func daysRemaining(validTill, now time.Time) int {
	return max(0, int(validTill.Sub(now).Hours()/24))
}
