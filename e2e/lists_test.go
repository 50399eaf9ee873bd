package e2e

import (
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/api"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

// This file checks the read endpoints against the running server: lists
// with paging, filters, sorting and CSV, status changes, order validation,
// requests, organizations, products, users, containers, account and balance.

// listWorld is one server with two accounts. The first account has six
// orders in every reachable status on two organizations. The second account
// has one issued order and must never see the first account's objects.
type listWorld struct {
	s        *server
	otherKey string
	orgs     map[string]int64 // alpha, bravo, other
	orders   map[string]int64 // waiting, approved, rejected, skipped1, skipped2, waiting2, other
	requests map[string]int64 // by order name; orders that skipped approval have none
	certs    map[string]int64 // certificate id of each order
	// changes are the status transitions each order went through, in order.
	changes map[string][]string
}

const (
	alphaName = "Alpha Lists Archive Ltd"
	bravoName = "Bravo Lists Bureau Inc"
	otherName = "Charlie Other Tenant GmbH"
)

func newListWorld(t *testing.T) *listWorld {
	t.Helper()
	s := startServer(t)
	w := &listWorld{
		s:        s,
		orgs:     map[string]int64{},
		orders:   map[string]int64{},
		requests: map[string]int64{},
		certs:    map[string]int64{},
		changes:  map[string][]string{},
	}
	w.orgs["alpha"] = createValidatedOrganization(t, s, s.Key, alphaName)
	w.orgs["bravo"] = createValidatedOrganization(t, s, s.Key, bravoName)

	w.placeWaiting(t, s.Key, "waiting", "alpha")
	w.placeWaiting(t, s.Key, "approved", "alpha")
	approve(t, s, s.Key, w.requests["approved"])
	waitForStatus(t, s, s.Key, w.orders["approved"], "issued")
	w.changes["approved"] = append(w.changes["approved"], "pending", "issued")

	w.placeWaiting(t, s.Key, "rejected", "bravo")
	resp := s.do("PUT", fmt.Sprintf("/services/v2/request/%d/status", w.requests["rejected"]), s.Key,
		map[string]any{"status": "rejected", "processor_comment": "not needed"})
	if resp.Status != http.StatusNoContent {
		t.Fatalf("reject request: %d %s", resp.Status, resp.Body)
	}
	w.changes["rejected"] = append(w.changes["rejected"], "rejected")

	w.placeSkipped(t, s.Key, "skipped1", "bravo")
	w.placeSkipped(t, s.Key, "skipped2", "bravo")
	w.placeWaiting(t, s.Key, "waiting2", "bravo")

	w.otherKey = createAccountKey(t, s, "--name", "Other Tenant")
	w.orgs["other"] = createValidatedOrganization(t, s, w.otherKey, otherName)
	w.placeSkipped(t, w.otherKey, "other", "other")
	return w
}

// placeWaiting places an order that waits for approval.
func (w *listWorld) placeWaiting(t *testing.T, key, name, org string) {
	t.Helper()
	resp := w.s.do("POST", "/services/v2/order/certificate/ds_org", key, emailOrder(w.orgs[org], csrPEM(t, testRSAKey(t))))
	if resp.Status != http.StatusCreated {
		t.Fatalf("place order %s: %d %s", name, resp.Status, resp.Body)
	}
	placed := resp.JSON(t)
	w.orders[name] = idOf(t, placed["id"])
	w.requests[name] = idOf(t, placed["requests"].([]any)[0].(map[string]any)["id"])
	w.certs[name] = w.certificateID(t, key, name)
	w.changes[name] = []string{"needs_approval"}
}

// placeSkipped places an administrator's order that skips approval and
// waits until it is issued. The call itself usually issues it, but the
// server's issuance sweep may take the order first.
func (w *listWorld) placeSkipped(t *testing.T, key, name, org string) {
	t.Helper()
	body := emailOrder(w.orgs[org], csrPEM(t, testRSAKey(t)))
	body["skip_approval"] = true
	resp := w.s.do("POST", "/services/v2/order/certificate/ds_org", key, body)
	if resp.Status != http.StatusCreated {
		t.Fatalf("place order %s: %d %s", name, resp.Status, resp.Body)
	}
	placed := resp.JSON(t)
	w.orders[name] = idOf(t, placed["id"])
	w.certs[name] = idOf(t, placed["certificate_id"])
	waitForStatus(t, w.s, key, w.orders[name], "issued")
	w.changes[name] = []string{"pending", "issued"}
}

func (w *listWorld) certificateID(t *testing.T, key, name string) int64 {
	t.Helper()
	resp := w.s.do("GET", fmt.Sprintf("/services/v2/order/certificate/%d", w.orders[name]), key, nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("order info %s: %d %s", name, resp.Status, resp.Body)
	}
	return idOf(t, resp.JSON(t)["certificate"].(map[string]any)["id"])
}

// ids returns the order ids of the named orders, ascending.
func (w *listWorld) ids(names ...string) []int64 {
	out := make([]int64, 0, len(names))
	for _, n := range names {
		out = append(out, w.orders[n])
	}
	slices.Sort(out)
	return out
}

// firstAccountOrders are the names of the first account's orders.
var firstAccountOrders = []string{"waiting", "approved", "rejected", "skipped1", "skipped2", "waiting2"}

// get sends a GET with key (the first account's key when empty) and an
// optional Accept header.
func (w *listWorld) get(t *testing.T, path, key, accept string) *response {
	t.Helper()
	req, err := http.NewRequest("GET", w.s.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if key == "" {
		key = w.s.Key
	}
	req.Header.Set("X-DC-DEVKEY", key)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &response{Status: resp.StatusCode, Header: resp.Header, Body: body}
}

// getJSON sends a GET whose response must be 200 with a JSON object.
func (w *listWorld) getJSON(t *testing.T, path, key string) map[string]any {
	t.Helper()
	resp := w.get(t, path, key, "")
	if resp.Status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, resp.Status, resp.Body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("GET %s: content type %q, expected application/json", path, ct)
	}
	return resp.JSON(t)
}

// orderPage is a decoded page of GET order/certificate.
type orderPage struct {
	ids                  []int64
	total, limit, offset int64
	items                []map[string]any
}

func (w *listWorld) listOrders(t *testing.T, query, key string) orderPage {
	t.Helper()
	body := w.getJSON(t, "/services/v2/order/certificate?"+query, key)
	var p orderPage
	for _, item := range body["orders"].([]any) {
		entry := item.(map[string]any)
		p.items = append(p.items, entry)
		p.ids = append(p.ids, idOf(t, entry["id"]))
	}
	page := body["page"].(map[string]any)
	p.total, p.limit, p.offset = idOf(t, page["total"]), idOf(t, page["limit"]), idOf(t, page["offset"])
	return p
}

func TestListOrdersPaging(t *testing.T) {
	t.Parallel()
	w := newListWorld(t)
	all := w.ids(firstAccountOrders...)

	for _, limit := range []int64{1, 4, 6, 1000} {
		t.Run(fmt.Sprintf("limit %d", limit), func(t *testing.T) {
			var seen []int64
			offset := int64(0)
			for pages := 0; ; pages++ {
				if pages > len(all) {
					t.Fatalf("paging did not end after %d pages; seen %v", pages, seen)
				}
				p := w.listOrders(t, fmt.Sprintf("limit=%d&offset=%d", limit, offset), "")
				if p.total != int64(len(all)) {
					t.Errorf("page at offset %d: total %d, expected %d", offset, p.total, len(all))
				}
				if p.limit != limit || p.offset != offset {
					t.Errorf("page object limit %d offset %d, expected %d and %d", p.limit, p.offset, limit, offset)
				}
				if int64(len(p.ids)) > limit {
					t.Errorf("page has %d orders, over the limit %d", len(p.ids), limit)
				}
				seen = append(seen, p.ids...)
				offset += int64(len(p.ids))
				if offset == p.total || len(p.ids) == 0 {
					break
				}
			}
			if !slices.Equal(seen, all) {
				t.Errorf("orders over all pages = %v, expected each of %v once", seen, all)
			}
		})
	}

	t.Run("default page", func(t *testing.T) {
		p := w.listOrders(t, "", "")
		if p.limit != 1000 || p.offset != 0 || p.total != int64(len(all)) {
			t.Errorf("page = limit %d offset %d total %d, expected 1000, 0, %d", p.limit, p.offset, p.total, len(all))
		}
	})
	t.Run("offset past the end", func(t *testing.T) {
		p := w.listOrders(t, "offset=50", "")
		if len(p.ids) != 0 || p.total != int64(len(all)) {
			t.Errorf("orders %v total %d, expected none of %d", p.ids, p.total, len(all))
		}
	})
}

func TestListOrdersFilters(t *testing.T) {
	t.Parallel()
	w := newListWorld(t)
	approvedInfo := w.getJSON(t, fmt.Sprintf("/services/v2/order/certificate/%d", w.orders["approved"]), "")
	approvedCert := approvedInfo["certificate"].(map[string]any)
	serial := approvedCert["serial_number"].(string)
	validTill := approvedCert["valid_till"].(string)
	today := time.Now().UTC()
	yesterday, tomorrow := today.AddDate(0, 0, -1).Format("2006-01-02"), today.AddDate(0, 0, 1).Format("2006-01-02")

	issued := []string{"approved", "skipped1", "skipped2"}
	alphaOrders := []string{"waiting", "approved"}
	bravoOrders := []string{"rejected", "skipped1", "skipped2", "waiting2"}
	cases := []struct {
		name   string
		filter string
		want   []string
	}{
		{"id", "filters[id]=" + fmt.Sprint(w.orders["waiting"]), []string{"waiting"}},
		{"id of another account", "filters[id]=" + fmt.Sprint(w.orders["other"]), nil},
		{"status issued", "filters[status]=issued", issued},
		{"status needs_approval", "filters[status]=needs_approval", []string{"waiting", "waiting2"}},
		{"status rejected", "filters[status]=rejected", []string{"rejected"}},
		{"status pending", "filters[status]=pending", nil},
		{"organization", "filters[organization_id]=" + fmt.Sprint(w.orgs["alpha"]), alphaOrders},
		{"product", "filters[product_name_id]=ds_org", firstAccountOrders},
		{"common name exact", "filters[common_name]=" + url.QueryEscape(bravoName), bravoOrders},
		{"common name exact other case", "filters[common_name]=" + url.QueryEscape(strings.ToUpper(alphaName)), alphaOrders},
		{"common name contains", "filters[common_name]=%25" + url.QueryEscape("Archive"), alphaOrders},
		{"common name part without %", "filters[common_name]=Archive", nil},
		{"serial number", "filters[serial_number]=" + serial, []string{"approved"}},
		{"serial number lower case", "filters[serial_number]=" + strings.ToLower(serial), []string{"approved"}},
		{"certificate id", "filters[certificate_id]=" + fmt.Sprint(w.certs["skipped1"]), []string{"skipped1"}},
		{"created in a range", "filters[date_created]=" + yesterday + "..." + tomorrow, firstAccountOrders},
		{"created on or after", "filters[date_created]=" + url.QueryEscape(">="+yesterday), firstAccountOrders},
		{"created before 2000", "filters[date_created]=" + url.QueryEscape("<2000-01-01"), nil},
		{"valid till that day", "filters[valid_till]=" + validTill, issued},
		{"valid till after today", "filters[valid_till]=" + url.QueryEscape(">"+today.Format("2006-01-02")), issued},
		{"valid till before today", "filters[valid_till]=" + url.QueryEscape("<"+today.Format("2006-01-02")), nil},
		{"search contains organization", "filters[search]=%25" + url.QueryEscape("bureau"), bravoOrders},
		{"search contains serial", "filters[search]=%25" + serial[4:12], []string{"approved"}},
		{"search order id", "filters[search]=" + fmt.Sprint(w.orders["waiting2"]), []string{"waiting2"}},
		{"search e-mail", "filters[search]=" + url.QueryEscape("admin@localhost.localdomain"), firstAccountOrders},
		{"search with wildcards only matches itself", "filters[search]=%25" + url.QueryEscape("_%"), nil},
		{"filters combine", "filters[organization_id]=" + fmt.Sprint(w.orgs["alpha"]) + "&filters[status]=needs_approval", []string{"waiting"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := w.listOrders(t, tc.filter, "")
			want := w.ids(tc.want...)
			if !slices.Equal(p.ids, want) {
				t.Errorf("orders = %v, expected %v", p.ids, want)
			}
			if p.total != int64(len(want)) {
				t.Errorf("total = %d, expected %d", p.total, len(want))
			}
		})
	}
}

func TestListOrdersEntryShape(t *testing.T) {
	t.Parallel()
	w := newListWorld(t)
	p := w.listOrders(t, "filters[id]="+fmt.Sprint(w.orders["approved"]), "")
	if len(p.items) != 1 {
		t.Fatalf("%d orders, expected 1", len(p.items))
	}
	o := p.items[0]
	cert := o["certificate"].(map[string]any)
	checks := []struct {
		name      string
		got, want any
	}{
		{"status", o["status"], "issued"},
		{"certificate.id", idOf(t, cert["id"]), w.certs["approved"]},
		{"certificate.common_name", cert["common_name"], alphaName},
		{"certificate.signature_hash", cert["signature_hash"], "sha256"},
		{"organization.id", idOf(t, o["organization"].(map[string]any)["id"]), w.orgs["alpha"]},
		{"organization.name", o["organization"].(map[string]any)["name"], alphaName},
		{"container.name is the account's root container", o["container"].(map[string]any)["name"], w.getJSON(t, "/services/v2/account", "")["name"]},
		{"product.name_id", o["product"].(map[string]any)["name_id"], "ds_org"},
		{"product.type", o["product"].(map[string]any)["type"], "document_signing_certificate"},
		{"product_name_id", o["product_name_id"], "ds_org"},
		{"validity_years", o["validity_years"], float64(1)},
		{"is_renewed", o["is_renewed"], false},
		{"has_duplicates", o["has_duplicates"], false},
	}
	for _, c := range checks {
		if fmt.Sprint(c.got) != fmt.Sprint(c.want) {
			t.Errorf("%s = %v, expected %v", c.name, c.got, c.want)
		}
	}
	if _, err := time.Parse("2006-01-02T15:04:05-07:00", fmt.Sprint(o["date_created"])); err != nil {
		t.Errorf("date_created %v is not ISO 8601 with an offset: %v", o["date_created"], err)
	}
	if _, err := time.Parse("2006-01-02", fmt.Sprint(cert["valid_till"])); err != nil {
		t.Errorf("valid_till %v is not YYYY-MM-DD: %v", cert["valid_till"], err)
	}
	if days, ok := cert["days_remaining"].(float64); !ok || days < 364 || days > 366 {
		t.Errorf("days_remaining = %v, expected about a year", cert["days_remaining"])
	}
	if dns, ok := cert["dns_names"].([]any); !ok || len(dns) != 0 {
		t.Errorf("dns_names = %v, expected an empty array", cert["dns_names"])
	}

	waiting := w.listOrders(t, "filters[id]="+fmt.Sprint(w.orders["waiting"]), "").items[0]["certificate"].(map[string]any)
	for _, field := range []string{"valid_till", "valid_from", "days_remaining", "serial_number"} {
		if _, ok := waiting[field]; ok {
			t.Errorf("certificate of an order waiting for approval has %s: %v", field, waiting)
		}
	}
}

func TestListOrdersDuplicates(t *testing.T) {
	t.Parallel()
	w := newListWorld(t)
	resp := w.s.do("POST", fmt.Sprintf("/services/v2/order/certificate/%d/duplicate", w.orders["skipped1"]), w.s.Key,
		map[string]any{"certificate": map[string]any{"csr": csrPEM(t, testRSAKey(t))}})
	if resp.Status != http.StatusCreated {
		t.Fatalf("duplicate: %d %s", resp.Status, resp.Body)
	}
	duplicateID := idOf(t, resp.JSON(t)["certificate_id"])

	p := w.listOrders(t, "filters[id]="+fmt.Sprint(w.orders["skipped1"]), "")
	if len(p.items) != 1 {
		t.Fatalf("%d orders, expected 1", len(p.items))
	}
	if p.items[0]["has_duplicates"] != true {
		t.Errorf("has_duplicates = %v after a duplicate was issued", p.items[0]["has_duplicates"])
	}
	if got := idOf(t, p.items[0]["certificate"].(map[string]any)["id"]); got != w.certs["skipped1"] {
		t.Errorf("certificate.id = %d, expected the original %d, not the duplicate %d", got, w.certs["skipped1"], duplicateID)
	}
	if others := w.listOrders(t, "filters[id]="+fmt.Sprint(w.orders["skipped2"]), ""); others.items[0]["has_duplicates"] != false {
		t.Errorf("has_duplicates = %v on an order without duplicates", others.items[0]["has_duplicates"])
	}
	if got := w.listOrders(t, "filters[certificate_id]="+fmt.Sprint(duplicateID), "").ids; !slices.Equal(got, w.ids("skipped1")) {
		t.Errorf("filter on the duplicate's id found %v, expected order %d", got, w.orders["skipped1"])
	}
}

func TestListOrdersSort(t *testing.T) {
	t.Parallel()
	w := newListWorld(t)
	all := w.ids(firstAccountOrders...)
	descending := slices.Clone(all)
	slices.Reverse(descending)
	alpha, bravo := w.ids("waiting", "approved"), w.ids("rejected", "skipped1", "skipped2", "waiting2")

	cases := []struct {
		name string
		sort string
		want []int64
	}{
		{"no sort is id ascending", "", all},
		{"id ascending", "id", all},
		{"id descending", "-id", descending},
		{"order_id descending", "-order_id", descending},
		{"common name ascending", "common_name", append(slices.Clone(alpha), bravo...)},
		{"common name descending, id ascending within", "-common_name", append(slices.Clone(bravo), alpha...)},
		{"common name descending, id descending within", "-common_name,-id", append(reversed(bravo), reversed(alpha)...)},
		{"organization descending", "-organization_id,id", append(slices.Clone(bravo), alpha...)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			query := ""
			if tc.sort != "" {
				query = "sort=" + tc.sort
			}
			if got := w.listOrders(t, query, "").ids; !slices.Equal(got, tc.want) {
				t.Errorf("orders = %v, expected %v", got, tc.want)
			}
		})
	}

	t.Run("date created descending", func(t *testing.T) {
		p := w.listOrders(t, "sort=-date_created,id", "")
		for i := 1; i < len(p.items); i++ {
			prev, cur := fmt.Sprint(p.items[i-1]["date_created"]), fmt.Sprint(p.items[i]["date_created"])
			if prev < cur || (prev == cur && p.ids[i-1] > p.ids[i]) {
				t.Errorf("order %d (%s) before order %d (%s) breaks -date_created,id", p.ids[i-1], prev, p.ids[i], cur)
			}
		}
	})
}

func reversed(ids []int64) []int64 {
	out := slices.Clone(ids)
	slices.Reverse(out)
	return out
}

func TestListQueryErrors(t *testing.T) {
	t.Parallel()
	w := newListWorld(t)
	cases := []struct {
		name  string
		path  string
		codes []string
	}{
		{"unknown sort field", "/services/v2/order/certificate?sort=price", []string{"invalid_value:sort"}},
		{"sort without field", "/services/v2/order/certificate?sort=-", []string{"invalid_value:sort"}},
		{"limit over maximum", "/services/v2/order/certificate?limit=1001", []string{"invalid_value:limit"}},
		{"negative limit", "/services/v2/order/certificate?limit=-1", []string{"invalid_value:limit"}},
		{"limit not a number", "/services/v2/order/certificate?limit=all", []string{"invalid_value:limit"}},
		{"negative offset", "/services/v2/order/certificate?offset=-1", []string{"invalid_value:offset"}},
		{"offset not a number", "/services/v2/order/certificate?offset=first", []string{"invalid_value:offset"}},
		{"unknown status", "/services/v2/order/certificate?filters[status]=done", []string{"invalid_value:filters[status]"}},
		{"unsupported filter", "/services/v2/order/certificate?filters[domain_name]=example.com", []string{"invalid_value:filters[domain_name]"}},
		{"bad date", "/services/v2/order/certificate?filters[date_created]=yesterday", []string{"invalid_value:filters[date_created]"}},
		{"every problem at once", "/services/v2/order/certificate?sort=price&limit=0x10&offset=-2",
			[]string{"invalid_value:sort", "invalid_value:limit", "invalid_value:offset"}},
		{"bad percent-encoding", "/services/v2/order/certificate?filters[search]=%zz", []string{"bad_request_format"}},
		{"request list sort", "/services/v2/request?sort=common_name", []string{"invalid_value:sort"}},
		{"request list limit", "/services/v2/request?limit=5000", []string{"invalid_value:limit"}},
		{"organization list offset", "/services/v2/organization?offset=x", []string{"invalid_value:offset"}},
		{"organization list sort", "/services/v2/organization?sort=-price", []string{"invalid_value:sort"}},
		{"user list limit", "/services/v2/user?limit=-3", []string{"invalid_value:limit"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := w.get(t, tc.path, "", "")
			if resp.Status != http.StatusBadRequest {
				t.Fatalf("status %d, expected 400: %s", resp.Status, resp.Body)
			}
			expectCodes(t, resp, tc.codes...)
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("error content type %q, expected application/json", ct)
			}
		})
	}
}

// readCSV parses a CSV response and returns its header and rows.
func readCSV(t *testing.T, resp *response) ([]string, [][]string) {
	t.Helper()
	if resp.Status != http.StatusOK {
		t.Fatalf("CSV request: %d %s", resp.Status, resp.Body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Fatalf("content type %q, expected text/csv", ct)
	}
	records, err := csv.NewReader(strings.NewReader(string(resp.Body))).ReadAll()
	if err != nil {
		t.Fatalf("answer is not CSV: %v\n%s", err, resp.Body)
	}
	if len(records) == 0 {
		t.Fatal("CSV has no header row")
	}
	return records[0], records[1:]
}

// csvColumn returns the values of a named column.
func csvColumn(t *testing.T, header []string, rows [][]string, name string) []string {
	t.Helper()
	i := slices.Index(header, name)
	if i < 0 {
		t.Fatalf("CSV header %v has no column %s", header, name)
	}
	out := make([]string, 0, len(rows))
	for _, r := range rows {
		out = append(out, r[i])
	}
	return out
}

func idStrings(ids []int64) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		out = append(out, fmt.Sprint(id))
	}
	return out
}

func TestListCSV(t *testing.T) {
	t.Parallel()
	w := newListWorld(t)
	cases := []struct {
		name   string
		path   string
		accept string
		column string
		want   []string
	}{
		{"orders", "/services/v2/order/certificate", "text/csv", "id", idStrings(w.ids(firstAccountOrders...))},
		{"orders filtered", "/services/v2/order/certificate?filters[status]=issued", "text/csv", "id",
			idStrings(w.ids("approved", "skipped1", "skipped2"))},
		{"orders paged and sorted", "/services/v2/order/certificate?sort=-id&limit=2", "text/csv", "id",
			idStrings(reversed(w.ids(firstAccountOrders...))[:2])},
		{"orders preferred by quality", "/services/v2/order/certificate", "application/json;q=0.5, text/csv", "id",
			idStrings(w.ids(firstAccountOrders...))},
		{"organization names", "/services/v2/organization", "text/csv", "name", []string{alphaName, bravoName}},
		{"requests", "/services/v2/request?filters[status]=pending", "text/csv", "order_id",
			idStrings(w.ids("waiting", "waiting2"))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			header, rows := readCSV(t, w.get(t, tc.path, "", tc.accept))
			if got := csvColumn(t, header, rows, tc.column); !slices.Equal(got, tc.want) {
				t.Errorf("column %s = %v, expected %v", tc.column, got, tc.want)
			}
			for i, r := range rows {
				if len(r) != len(header) {
					t.Errorf("row %d has %d cells, header has %d", i, len(r), len(header))
				}
			}
		})
	}

	t.Run("order columns", func(t *testing.T) {
		header, rows := readCSV(t, w.get(t, "/services/v2/order/certificate?filters[id]="+fmt.Sprint(w.orders["approved"]), "", "text/csv"))
		want := map[string]string{
			"status":            "issued",
			"common_name":       alphaName,
			"organization_name": alphaName,
			"certificate_id":    fmt.Sprint(w.certs["approved"]),
			"product_name_id":   "ds_org",
			"signature_hash":    "sha256",
		}
		for column, value := range want {
			if got := csvColumn(t, header, rows, column); len(got) != 1 || got[0] != value {
				t.Errorf("%s = %v, expected [%s]", column, got, value)
			}
		}
	})

	t.Run("JSON preferred", func(t *testing.T) {
		resp := w.get(t, "/services/v2/order/certificate", "", "application/json, text/csv")
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("content type %q, expected application/json", ct)
		}
	})

	t.Run("errors stay JSON", func(t *testing.T) {
		resp := w.get(t, "/services/v2/order/certificate?sort=price", "", "text/csv")
		if resp.Status != http.StatusBadRequest || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("status %d content type %q, expected a JSON 400", resp.Status, resp.Header.Get("Content-Type"))
		}
	})
}

func TestStatusChanges(t *testing.T) {
	t.Parallel()
	w := newListWorld(t)

	for _, query := range []string{
		"minutes=60",
		"seconds=3600",
		"filters[status_last_updated]=" + time.Now().UTC().AddDate(0, 0, -1).Format("2006-01-02") + "..." + time.Now().UTC().Format("2006-01-02"),
	} {
		t.Run(query, func(t *testing.T) {
			body := w.getJSON(t, "/services/v2/order/certificate/status-changes?"+query, "")
			got := map[int64][]string{}
			for _, item := range body["orders"].([]any) {
				c := item.(map[string]any)
				orderID := idOf(t, c["order_id"])
				got[orderID] = append(got[orderID], c["status"].(string))
				if _, err := time.Parse("2006-01-02T15:04:05-07:00", fmt.Sprint(c["status_last_updated"])); err != nil {
					t.Errorf("status_last_updated %v: %v", c["status_last_updated"], err)
				}
				for name, id := range w.orders {
					if id == orderID && idOf(t, c["certificate_id"]) != w.certs[name] {
						t.Errorf("order %s: certificate_id %v, expected %d", name, c["certificate_id"], w.certs[name])
					}
				}
			}
			for _, name := range firstAccountOrders {
				if !slices.Equal(got[w.orders[name]], w.changes[name]) {
					t.Errorf("order %s: transitions %v, expected each of %v exactly once", name, got[w.orders[name]], w.changes[name])
				}
			}
			if _, ok := got[w.orders["other"]]; ok {
				t.Errorf("another account's order %d appears", w.orders["other"])
			}
			if len(got) != len(firstAccountOrders) {
				t.Errorf("%d orders changed, expected %d", len(got), len(firstAccountOrders))
			}
		})
	}

	t.Run("other account sees its own", func(t *testing.T) {
		body := w.getJSON(t, "/services/v2/order/certificate/status-changes?minutes=60", w.otherKey)
		orders := body["orders"].([]any)
		if len(orders) != 2 {
			t.Fatalf("%d changes, expected the 2 of its own order: %v", len(orders), body)
		}
		for _, item := range orders {
			if id := idOf(t, item.(map[string]any)["order_id"]); id != w.orders["other"] {
				t.Errorf("order %d appears for the other account", id)
			}
		}
	})

	t.Run("empty window answers {}", func(t *testing.T) {
		resp := w.get(t, "/services/v2/order/certificate/status-changes?filters[status_last_updated]=2020-01-01...2020-01-02", "", "")
		if resp.Status != http.StatusOK || strings.TrimSpace(string(resp.Body)) != "{}" {
			t.Errorf("status %d body %s, expected 200 {}", resp.Status, resp.Body)
		}
	})

	errorCases := []struct {
		name  string
		query string
		code  string
	}{
		{"minutes over a week", "minutes=10081", "time_frame_too_long"},
		{"seconds over a week", "seconds=604801", "time_frame_too_long"},
		{"range over a week", "filters[status_last_updated]=2020-01-01...2020-01-09", "time_frame_too_long"},
		{"no window", "", "required_param:minutes"},
		{"zero minutes", "minutes=0", "invalid_value:minutes"},
		{"minutes and seconds", "minutes=5&seconds=5", "invalid_value:seconds"},
	}
	for _, tc := range errorCases {
		t.Run(tc.name, func(t *testing.T) {
			resp := w.get(t, "/services/v2/order/certificate/status-changes?"+tc.query, "", "")
			if resp.Status != http.StatusBadRequest {
				t.Fatalf("status %d, expected 400: %s", resp.Status, resp.Body)
			}
			expectCodes(t, resp, tc.code)
		})
	}
}

func TestOrderValidationStatus(t *testing.T) {
	t.Parallel()
	w := newListWorld(t)
	body := w.getJSON(t, fmt.Sprintf("/services/v2/order/certificate/%d/validation", w.orders["waiting"]), "")
	checks := []struct {
		name      string
		got, want any
	}{
		{"order_id is a string", body["order_id"], fmt.Sprint(w.orders["waiting"])},
		{"order_status", body["order_status"], "needs_approval"},
		{"organization_id is a string", body["organization_id"], fmt.Sprint(w.orgs["alpha"])},
		{"organization_name", body["organization_name"], alphaName},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: %v (%T), expected %v", c.name, c.got, c.got, c.want)
		}
	}
	validations := body["organization_validations"].([]any)
	if len(validations) != 1 {
		t.Fatalf("%d validations, expected the ds validation: %v", len(validations), body)
	}
	ds := validations[0].(map[string]any)
	if ds["type"] != "ds" || ds["status"] != "active" || ds["validated_until"] == nil {
		t.Errorf("validation = %v, expected an active ds validation with validated_until", ds)
	}
	if dns, ok := body["dns_name_validations"].([]any); !ok || len(dns) != 0 {
		t.Errorf("dns_name_validations = %v, expected an empty array", body["dns_name_validations"])
	}
}

func TestListRequestsAndInfo(t *testing.T) {
	t.Parallel()
	w := newListWorld(t)
	requestIDs := func(body map[string]any) []int64 {
		var out []int64
		for _, item := range body["requests"].([]any) {
			out = append(out, idOf(t, item.(map[string]any)["id"]))
		}
		return out
	}
	reqs := func(names ...string) []int64 {
		out := make([]int64, 0, len(names))
		for _, n := range names {
			out = append(out, w.requests[n])
		}
		slices.Sort(out)
		return out
	}

	cases := []struct {
		name  string
		query string
		want  []int64
	}{
		{"all", "", reqs("waiting", "approved", "rejected", "waiting2")},
		{"pending", "filters[status]=pending", reqs("waiting", "waiting2")},
		{"approved", "filters[status]=approved", reqs("approved")},
		{"rejected", "filters[status]=rejected", reqs("rejected")},
		{"submitted", "filters[status]=submitted", nil},
		{"type", "filters[type]=new_request", reqs("waiting", "approved", "rejected", "waiting2")},
		{"search", "filters[search]=%25" + url.QueryEscape("Archive"), reqs("waiting", "approved")},
		{"sorted descending", "sort=-id", reversed(reqs("waiting", "approved", "rejected", "waiting2"))},
		{"paged", "limit=2&offset=2", reqs("waiting", "approved", "rejected", "waiting2")[2:]},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := w.getJSON(t, "/services/v2/request?"+tc.query, "")
			if got := requestIDs(body); !slices.Equal(got, tc.want) {
				t.Errorf("requests = %v, expected %v", got, tc.want)
			}
		})
	}

	t.Run("page total", func(t *testing.T) {
		page := w.getJSON(t, "/services/v2/request?limit=1", "")["page"].(map[string]any)
		if idOf(t, page["total"]) != 4 || idOf(t, page["limit"]) != 1 {
			t.Errorf("page = %v, expected total 4 and limit 1", page)
		}
	})

	me := w.getJSON(t, "/services/v2/user/me", "")
	t.Run("processed request", func(t *testing.T) {
		info := w.getJSON(t, fmt.Sprintf("/services/v2/request/%d", w.requests["approved"]), "")
		if info["status"] != "approved" || info["type"] != "new_request" {
			t.Errorf("status %v type %v, expected approved new_request", info["status"], info["type"])
		}
		if info["processor_comment"] != "checked" {
			t.Errorf("processor_comment = %v, expected checked", info["processor_comment"])
		}
		if _, err := time.Parse("2006-01-02T15:04:05-07:00", fmt.Sprint(info["date_processed"])); err != nil {
			t.Errorf("date_processed %v: %v", info["date_processed"], err)
		}
		processor, _ := info["processor"].(map[string]any)
		if processor == nil || idOf(t, processor["id"]) != idOf(t, me["id"]) {
			t.Errorf("processor = %v, expected the administrator %v", info["processor"], me["id"])
		}
		order := info["order"].(map[string]any)
		if idOf(t, order["id"]) != w.orders["approved"] || order["status"] != "issued" {
			t.Errorf("order snapshot = %v", order)
		}
		if cert := order["certificate"].(map[string]any); cert["common_name"] != alphaName {
			t.Errorf("order certificate common_name = %v", cert["common_name"])
		}
	})
	t.Run("pending request", func(t *testing.T) {
		info := w.getJSON(t, fmt.Sprintf("/services/v2/request/%d", w.requests["waiting"]), "")
		for _, field := range []string{"date_processed", "processor"} {
			if _, ok := info[field]; ok {
				t.Errorf("pending request has %s: %v", field, info[field])
			}
		}
		if requester := info["requester"].(map[string]any); idOf(t, requester["id"]) != idOf(t, me["id"]) {
			t.Errorf("requester = %v", requester)
		}
	})
	t.Run("unknown request", func(t *testing.T) {
		resp := w.get(t, "/services/v2/request/999999", "", "")
		if resp.Status != http.StatusNotFound {
			t.Fatalf("status %d, expected 404", resp.Status)
		}
		expectCodes(t, resp, "not_found|request")
	})
}

func TestListOrganizations(t *testing.T) {
	t.Parallel()
	w := newListWorld(t)
	orgIDs := func(body map[string]any) []int64 {
		var out []int64
		for _, item := range body["organizations"].([]any) {
			out = append(out, idOf(t, item.(map[string]any)["id"]))
		}
		return out
	}
	both := []int64{w.orgs["alpha"], w.orgs["bravo"]}
	cases := []struct {
		name  string
		query string
		want  []int64
	}{
		{"all", "", both},
		{"active", "filters[status]=active", both},
		{"inactive", "filters[is_active]=false", nil},
		{"name contains", "filters[name]=%25bravo", []int64{w.orgs["bravo"]}},
		{"search", "filters[search]=" + url.QueryEscape(alphaName), []int64{w.orgs["alpha"]}},
		{"sorted by name descending", "sort=-name", []int64{w.orgs["bravo"], w.orgs["alpha"]}},
		{"paged", "limit=1&offset=1", []int64{w.orgs["bravo"]}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := w.getJSON(t, "/services/v2/organization?"+tc.query, "")
			if got := orgIDs(body); !slices.Equal(got, tc.want) {
				t.Errorf("organizations = %v, expected %v", got, tc.want)
			}
		})
	}

	t.Run("validations only when asked", func(t *testing.T) {
		plain := w.getJSON(t, "/services/v2/organization", "")["organizations"].([]any)[0].(map[string]any)
		if _, ok := plain["validations"]; ok {
			t.Errorf("validations present without include_validation: %v", plain)
		}
		if plain["is_active"] != true || plain["status"] != "active" {
			t.Errorf("is_active %v status %v, expected true and active", plain["is_active"], plain["status"])
		}
		with := w.getJSON(t, "/services/v2/organization?include_validation=true", "")["organizations"].([]any)[0].(map[string]any)
		validations, _ := with["validations"].([]any)
		if len(validations) != 1 || validations[0].(map[string]any)["status"] != "active" {
			t.Errorf("validations = %v, expected one active ds validation", with["validations"])
		}
	})

	t.Run("usable in the root container", func(t *testing.T) {
		root := idOf(t, w.getJSON(t, "/services/v2/user/me", "")["container"].(map[string]any)["id"])
		body := w.getJSON(t, fmt.Sprintf("/services/v2/container/%d/order/organization", root), "")
		if got := orgIDs(body); !slices.Equal(got, both) {
			t.Errorf("organizations = %v, expected %v", got, both)
		}
	})
}

func TestProducts(t *testing.T) {
	t.Parallel()
	w := newListWorld(t)
	products := w.getJSON(t, "/services/v2/product", "")["products"].([]any)
	if len(products) != 1 {
		t.Fatalf("%d products, expected ds_org only", len(products))
	}
	listed := products[0].(map[string]any)
	if listed["name_id"] != "ds_org" || listed["group_name"] != "document_signing" || listed["csr_required"] != false {
		t.Errorf("product = %v", listed)
	}

	info := w.getJSON(t, "/services/v2/product/ds_org", "")
	var hashes []string
	hashTypes := info["signature_hash_types"].(map[string]any)
	for _, h := range hashTypes["allowed_hash_types"].([]any) {
		hashes = append(hashes, h.(map[string]any)["id"].(string))
	}
	if !slices.Equal(hashes, []string{"sha256", "sha384", "sha512"}) || hashTypes["default_hash_type_id"] != "sha256" {
		t.Errorf("signature_hash_types = %v", hashTypes)
	}
	if fmt.Sprint(info["allowed_order_validity_years"]) != "[1 2 3]" {
		t.Errorf("allowed_order_validity_years = %v, expected [1 2 3]", info["allowed_order_validity_years"])
	}
	if info["duplicates_allowed"] != true {
		t.Errorf("duplicates_allowed = %v, expected true", info["duplicates_allowed"])
	}
	if info["custom_expiration_date_allowed"] != true {
		t.Errorf("custom_expiration_date_allowed = %v", info["custom_expiration_date_allowed"])
	}
	if fmt.Sprint(info["allowed_key_types"]) != "[map[sizes:[2048 3072 4096] type:rsa] map[sizes:[256 384] type:ecc]]" {
		t.Errorf("allowed_key_types = %v", info["allowed_key_types"])
	}
	cas, _ := info["allowed_ca_certs"].([]any)
	if len(cas) == 0 {
		t.Fatalf("allowed_ca_certs is empty: %v", info)
	}

	// The listed CA is one that an order may name in certificate.ca_cert_id.
	body := emailOrder(w.orgs["alpha"], csrPEM(t, testRSAKey(t)))
	body["certificate"].(map[string]any)["ca_cert_id"] = cas[0].(map[string]any)["id"]
	if resp := w.s.do("POST", "/services/v2/order/certificate/ds_org", w.s.Key, body); resp.Status != http.StatusCreated {
		t.Errorf("order naming listed CA %v: %d %s", cas[0], resp.Status, resp.Body)
	}

	resp := w.get(t, "/services/v2/product/ssl_basic", "", "")
	if resp.Status != http.StatusNotFound {
		t.Fatalf("unknown product: status %d, expected 404", resp.Status)
	}
	expectCodes(t, resp, "not_found|product")
}

func TestUsersContainersAccountBalance(t *testing.T) {
	t.Parallel()
	w := newListWorld(t)
	me := w.getJSON(t, "/services/v2/user/me", "")
	adminID := idOf(t, me["id"])
	root := idOf(t, me["container"].(map[string]any)["id"])
	roles := me["access_roles"].([]any)
	if len(roles) != 1 || idOf(t, roles[0].(map[string]any)["id"]) != 1 {
		t.Errorf("access_roles = %v, expected Administrator (1)", roles)
	}
	if me["status"] != "active" || me["email"] != "admin@localhost.localdomain" {
		t.Errorf("user = %v", me)
	}

	t.Run("user by id", func(t *testing.T) {
		byID := w.getJSON(t, fmt.Sprintf("/services/v2/user/%d", adminID), "")
		if byID["username"] != me["username"] {
			t.Errorf("user %d username %v, user/me %v", adminID, byID["username"], me["username"])
		}
	})
	t.Run("user list", func(t *testing.T) {
		body := w.getJSON(t, fmt.Sprintf("/services/v2/user?container_id=%d&limit=10", root), "")
		users := body["users"].([]any)
		if len(users) != 1 || idOf(t, users[0].(map[string]any)["id"]) != adminID {
			t.Errorf("users = %v, expected the administrator", users)
		}
		if page := body["page"].(map[string]any); idOf(t, page["total"]) != 1 || idOf(t, page["limit"]) != 10 {
			t.Errorf("page = %v", page)
		}
	})
	t.Run("user list of another account's container", func(t *testing.T) {
		otherRoot := idOf(t, w.getJSON(t, "/services/v2/user/me", w.otherKey)["container"].(map[string]any)["id"])
		resp := w.get(t, fmt.Sprintf("/services/v2/user?container_id=%d", otherRoot), "", "")
		if resp.Status != http.StatusBadRequest {
			t.Fatalf("status %d, expected 400", resp.Status)
		}
		expectCodes(t, resp, "invalid_value:container_id")
	})
	t.Run("containers", func(t *testing.T) {
		list := w.getJSON(t, "/services/v2/container", "")["containers"].([]any)
		if len(list) != 1 || idOf(t, list[0].(map[string]any)["id"]) != root {
			t.Fatalf("containers = %v, expected the root container %d", list, root)
		}
		info := w.getJSON(t, fmt.Sprintf("/services/v2/container/%d", root), "")
		if fmt.Sprint(info["user_id_assignments"]) != fmt.Sprintf("[%d]", adminID) {
			t.Errorf("user_id_assignments = %v, expected [%d]", info["user_id_assignments"], adminID)
		}
		if assigned := info["organization_assignments"].([]any); len(assigned) != 2 {
			t.Errorf("organization_assignments = %v, expected both organizations", assigned)
		}
		if info["is_active"] != true || idOf(t, info["parent_id"]) != 0 {
			t.Errorf("container = %v", info)
		}
	})
	t.Run("account", func(t *testing.T) {
		account := w.getJSON(t, "/services/v2/account", "")
		if idOf(t, account["id"]) != idOf(t, me["account_id"]) || idOf(t, account["container"].(map[string]any)["id"]) != root {
			t.Errorf("account = %v", account)
		}
	})
	t.Run("balance", func(t *testing.T) {
		for _, path := range []string{"/services/v2/finance/balance", fmt.Sprintf("/services/v2/finance/balance?container_id=%d", root)} {
			balance := w.getJSON(t, path, "")
			for _, field := range []string{"balance", "currency", "unpaid_invoice_balance", "used_credit_from_other_containers"} {
				if _, ok := balance[field].(string); !ok {
					t.Errorf("%s: %s = %v (%T), expected a string", path, field, balance[field], balance[field])
				}
			}
			// The world's orders were paid from a balance with no deposit,
			// under the default unlimited negative balance.
			if amount, _ := balance["balance"].(string); !regexp.MustCompile(`^-\d+\.\d\d$`).MatchString(amount) {
				t.Errorf("%s: balance = %v, expected a negative amount with two decimals", path, balance["balance"])
			}
			if balance["unlimited_negative_balance"] != true {
				t.Errorf("%s: unlimited_negative_balance = %v, expected true", path, balance["unlimited_negative_balance"])
			}
		}
		resp := w.get(t, "/services/v2/finance/balance?container_id=999999", "", "")
		if resp.Status != http.StatusBadRequest {
			t.Fatalf("unknown container: status %d, expected 400", resp.Status)
		}
		expectCodes(t, resp, "invalid_value:container_id")
	})
}

// addStandardUser inserts a standard user with an API key into the
// server's database, because no endpoint creates users yet.
func addStandardUser(t *testing.T, s *server, containerID, accountID int64) string {
	t.Helper()
	st, err := openDataDirStore(s.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	const key = "list-test-standard-user-key-0123456789"
	now := time.Now().UTC().Format(time.RFC3339)
	var userID int64
	err = st.DB().QueryRow(`INSERT INTO users (account_id, container_id, username, first_name, last_name, email, role, created_at)
		VALUES (?, ?, 'standard-user', 'Sam', 'Standard', 'sam@example.com', ?, ?) RETURNING id`,
		accountID, containerID, store.RoleStandardUser, now).Scan(&userID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.DB().Exec(`INSERT INTO api_keys (user_id, key_hash, key_prefix, created_at) VALUES (?, ?, ?, ?)`,
		userID, api.HashAPIKey(key), key[:8], now); err != nil {
		t.Fatal(err)
	}
	return key
}

func TestStandardUserSeesOnlyItself(t *testing.T) {
	t.Parallel()
	w := newListWorld(t)
	me := w.getJSON(t, "/services/v2/user/me", "")
	adminID := idOf(t, me["id"])
	key := addStandardUser(t, w.s, idOf(t, me["container"].(map[string]any)["id"]), idOf(t, me["account_id"]))

	self := w.getJSON(t, "/services/v2/user/me", key)
	if roles := self["access_roles"].([]any); idOf(t, roles[0].(map[string]any)["id"]) != 5 {
		t.Errorf("access_roles = %v, expected Standard User (5)", roles)
	}
	for _, path := range []string{"/services/v2/user", fmt.Sprintf("/services/v2/user/%d", adminID)} {
		resp := w.get(t, path, key, "")
		if resp.Status != http.StatusForbidden {
			t.Errorf("%s: status %d, expected 403", path, resp.Status)
			continue
		}
		expectCodes(t, resp, "access_denied|missing_permission")
	}
	if resp := w.get(t, fmt.Sprintf("/services/v2/user/%d", idOf(t, self["id"])), key, ""); resp.Status != http.StatusOK {
		t.Errorf("own user by id: status %d, expected 200", resp.Status)
	}
}

func TestListsHideOtherAccounts(t *testing.T) {
	t.Parallel()
	w := newListWorld(t)
	other := w.otherKey

	t.Run("order list", func(t *testing.T) {
		p := w.listOrders(t, "", other)
		if !slices.Equal(p.ids, []int64{w.orders["other"]}) || p.total != 1 {
			t.Errorf("orders %v total %d, expected only %d", p.ids, p.total, w.orders["other"])
		}
		if p := w.listOrders(t, "filters[id]="+fmt.Sprint(w.orders["waiting"]), other); p.total != 0 {
			t.Errorf("filter on another account's order id found %v", p.ids)
		}
		if p := w.listOrders(t, "filters[search]=%25"+url.QueryEscape("Lists"), other); p.total != 0 {
			t.Errorf("search found another account's orders %v", p.ids)
		}
	})
	t.Run("request list", func(t *testing.T) {
		body := w.getJSON(t, "/services/v2/request", other)
		if n := len(body["requests"].([]any)); n != 0 {
			t.Errorf("%d requests, expected none", n)
		}
	})
	t.Run("organization list", func(t *testing.T) {
		body := w.getJSON(t, "/services/v2/organization", other)
		orgs := body["organizations"].([]any)
		if len(orgs) != 1 || idOf(t, orgs[0].(map[string]any)["id"]) != w.orgs["other"] {
			t.Errorf("organizations = %v, expected only %d", orgs, w.orgs["other"])
		}
	})

	me := w.getJSON(t, "/services/v2/user/me", "")
	root := idOf(t, me["container"].(map[string]any)["id"])
	cases := []struct {
		name, path, code string
	}{
		{"order validation", fmt.Sprintf("/services/v2/order/certificate/%d/validation", w.orders["waiting"]), "not_found|order"},
		{"request info", fmt.Sprintf("/services/v2/request/%d", w.requests["waiting"]), "not_found|request"},
		{"container", fmt.Sprintf("/services/v2/container/%d", root), "not_found|container"},
		{"container organizations", fmt.Sprintf("/services/v2/container/%d/order/organization", root), "not_found|container"},
		{"user", fmt.Sprintf("/services/v2/user/%d", idOf(t, me["id"])), "not_found|user"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := w.get(t, tc.path, other, "")
			if resp.Status != http.StatusNotFound {
				t.Fatalf("status %d, expected 404: %s", resp.Status, resp.Body)
			}
			expectCodes(t, resp, tc.code)
		})
	}
}
