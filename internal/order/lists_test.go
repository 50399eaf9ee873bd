package order

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/store"
)

func query(t *testing.T, raw string) url.Values {
	t.Helper()
	values, err := url.ParseQuery(raw)
	if err != nil {
		t.Fatalf("test query %q: %v", raw, err)
	}
	return values
}

func TestParseOrderListQueryPaging(t *testing.T) {
	cases := []struct {
		name      string
		query     string
		wantPage  store.Page
		wantCodes []string
	}{
		{"defaults", "", store.Page{Offset: 0, Limit: DefaultListLimit}, nil},
		{"offset and limit", "offset=20&limit=10", store.Page{Offset: 20, Limit: 10}, nil},
		{"limit zero means default", "limit=0", store.Page{Limit: DefaultListLimit}, nil},
		{"maximum limit", "limit=1000", store.Page{Limit: 1000}, nil},
		{"limit over maximum", "limit=1001", store.Page{}, []string{"invalid_value:limit"}},
		{"negative limit", "limit=-1", store.Page{}, []string{"invalid_value:limit"}},
		{"limit not a number", "limit=ten", store.Page{}, []string{"invalid_value:limit"}},
		{"negative offset", "offset=-5", store.Page{}, []string{"invalid_value:offset"}},
		{"offset not a number", "offset=1.5", store.Page{}, []string{"invalid_value:offset"}},
		{"offset overflows", "offset=99999999999999999999", store.Page{}, []string{"invalid_value:offset"}},
		{"offset sent twice", "offset=1&offset=2", store.Page{}, []string{"invalid_value:offset"}},
		{"both wrong", "offset=x&limit=y", store.Page{}, []string{"invalid_value:limit", "invalid_value:offset"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q, err := ParseOrderListQuery(query(t, tc.query))
			if codes := problemCodes(t, err); !slices.Equal(codes, tc.wantCodes) {
				t.Fatalf("codes = %v, expected %v (%s)", codes, tc.wantCodes, problemText(err))
			}
			if err == nil && q.Page != tc.wantPage {
				t.Errorf("page = %+v, expected %+v", q.Page, tc.wantPage)
			}
		})
	}
}

func TestParseOrderListQuerySort(t *testing.T) {
	cases := []struct {
		name      string
		sort      string
		want      []store.SortKey
		wantCodes []string
	}{
		{"one field", "date_created", []store.SortKey{{Field: "date_created"}}, nil},
		{"descending", "-id", []store.SortKey{{Field: "id", Descending: true}}, nil},
		{"several fields", "-status,common_name", []store.SortKey{{Field: "status", Descending: true}, {Field: "common_name"}}, nil},
		{"order_id alias", "order_id", []store.SortKey{{Field: "order_id"}}, nil},
		{"unknown field", "price", nil, []string{"invalid_value:sort"}},
		{"sql text", "id;DROP TABLE orders", nil, []string{"invalid_value:sort"}},
		{"empty field", "id,,status", nil, []string{"invalid_value:sort"}},
		{"lone minus", "-", nil, []string{"invalid_value:sort"}},
		{"field twice", "id,-id", nil, []string{"invalid_value:sort"}},
		{"field names are case-sensitive", "ID", nil, []string{"invalid_value:sort"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q, err := ParseOrderListQuery(url.Values{"sort": {tc.sort}})
			if codes := problemCodes(t, err); !slices.Equal(codes, tc.wantCodes) {
				t.Fatalf("codes = %v, expected %v (%s)", codes, tc.wantCodes, problemText(err))
			}
			if err == nil && !slices.Equal(q.Sort, tc.want) {
				t.Errorf("sort = %+v, expected %+v", q.Sort, tc.want)
			}
		})
	}
}

func TestParseOrderListQueryUnknownSortListsFields(t *testing.T) {
	_, err := ParseOrderListQuery(url.Values{"sort": {"price"}})
	text := problemText(err)
	for _, field := range store.OrderSortFields() {
		if !strings.Contains(text, field) {
			t.Errorf("message does not name sortable field %s: %s", field, text)
		}
	}
}

func TestParseOrderListQueryFilters(t *testing.T) {
	cases := []struct {
		name      string
		query     string
		check     func(f store.OrderFilter) bool
		wantCodes []string
	}{
		{"id", "filters[id]=42", func(f store.OrderFilter) bool { return f.ID == 42 }, nil},
		{"id not a number", "filters[id]=abc", nil, []string{"invalid_value:filters[id]"}},
		{"id zero", "filters[id]=0", nil, []string{"invalid_value:filters[id]"}},
		{"status", "filters[status]=issued", func(f store.OrderFilter) bool { return f.Status == "issued" }, nil},
		{"status in upper case", "filters[status]=NEEDS_APPROVAL", func(f store.OrderFilter) bool { return f.Status == "needs_approval" }, nil},
		{"unknown status", "filters[status]=done", nil, []string{"invalid_value:filters[status]"}},
		{"organization", "filters[organization_id]=7", func(f store.OrderFilter) bool { return f.OrganizationID == 7 }, nil},
		{"certificate", "filters[certificate_id]=9", func(f store.OrderFilter) bool { return f.CertificateID == 9 }, nil},
		{"product", "filters[product_name_id]=DS_ORG", func(f store.OrderFilter) bool { return f.ProductNameID == "ds_org" }, nil},
		{"common name exact", "filters[common_name]=Example Inc", func(f store.OrderFilter) bool {
			return *f.CommonName == store.TextMatch{Value: "Example Inc"}
		}, nil},
		{"search contains", "filters[search]=%25ample", func(f store.OrderFilter) bool {
			return *f.Search == store.TextMatch{Value: "ample", Contains: true}
		}, nil},
		{"search with both percent signs", "filters[search]=%25ample%25", func(f store.OrderFilter) bool {
			return *f.Search == store.TextMatch{Value: "ample", Contains: true}
		}, nil},
		{"inner percent is literal", "filters[search]=50%25off", func(f store.OrderFilter) bool {
			return *f.Search == store.TextMatch{Value: "50%off"}
		}, nil},
		{"empty search", "filters[search]=%25", nil, []string{"invalid_value:filters[search]"}},
		{"serial with colons", "filters[serial_number]=0a:1b:2c", func(f store.OrderFilter) bool { return f.SerialNumber == "0A1B2C" }, nil},
		{"date created", "filters[date_created]=2024-01-31", func(f store.OrderFilter) bool {
			return f.DateCreated.From.Equal(time.Date(2024, 1, 31, 0, 0, 0, 0, time.UTC)) &&
				f.DateCreated.Until.Equal(time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC))
		}, nil},
		{"bad date", "filters[valid_till]=31.01.2024", nil, []string{"invalid_value:filters[valid_till]"}},
		{"unsupported filter", "filters[domain_name]=example.com", nil, []string{"invalid_value:filters[domain_name]"}},
		{"filter sent twice", "filters[id]=1&filters[id]=2", nil, []string{"invalid_value:filters[id]"}},
		{"invalid UTF-8", "filters[search]=%FF", nil, []string{"invalid_value:filters[search]"}},
		{"value too long", "filters[search]=" + strings.Repeat("a", maxQueryValueLength+1), nil, []string{"invalid_value:filters[search]"}},
		{"every problem reported", "filters[id]=x&filters[status]=y&limit=z", nil,
			[]string{"invalid_value:filters[id]", "invalid_value:filters[status]", "invalid_value:limit"}},
		{"other parameters ignored", "include_caa_status=true", func(f store.OrderFilter) bool { return f == store.OrderFilter{} }, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q, err := ParseOrderListQuery(query(t, tc.query))
			if codes := problemCodes(t, err); !slices.Equal(codes, tc.wantCodes) {
				t.Fatalf("codes = %v, expected %v (%s)", codes, tc.wantCodes, problemText(err))
			}
			if err == nil && !tc.check(q.Filter) {
				t.Errorf("filter = %+v", q.Filter)
			}
		})
	}
}

func TestTimeRangeForms(t *testing.T) {
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	second := time.Date(2024, 1, 31, 13, 45, 0, 0, time.UTC)
	cases := []struct {
		name      string
		raw       string
		wantFrom  time.Time
		wantUntil time.Time
		wantError bool
	}{
		{"date is that day", "2024-01-31", day(2024, 1, 31), day(2024, 2, 1), false},
		{"range of dates includes the last day", "2024-01-01...2024-01-31", day(2024, 1, 1), day(2024, 2, 1), false},
		{"range without end", "2024-01-01...", day(2024, 1, 1), time.Time{}, false},
		{"range without start", "...2024-01-31", time.Time{}, day(2024, 2, 1), false},
		{"on or after", ">=2024-01-31", day(2024, 1, 31), time.Time{}, false},
		{"after", ">2024-01-31", day(2024, 2, 1), time.Time{}, false},
		{"on or before", "<=2024-01-31", time.Time{}, day(2024, 2, 1), false},
		{"before", "<2024-01-31", time.Time{}, day(2024, 1, 31), false},
		{"timestamp with space", "2024-01-31 13:45:00", second, second.Add(time.Second), false},
		{"timestamp with T", "2024-01-31T13:45:00", second, second.Add(time.Second), false},
		{"RFC 3339 offset", "2024-01-31T15:45:00+02:00", second, second.Add(time.Second), false},
		{"offset plus decoded as space", "2024-01-31T15:45:00 02:00", second, second.Add(time.Second), false},
		{"range of timestamps", "2024-01-31 13:45:00...2024-01-31 13:45:00", second, second.Add(time.Second), false},
		{"reversed range", "2024-02-01...2024-01-01", time.Time{}, time.Time{}, true},
		{"empty range", "...", time.Time{}, time.Time{}, true},
		{"day out of range", "2024-02-30", time.Time{}, time.Time{}, true},
		{"words", "yesterday", time.Time{}, time.Time{}, true},
		{"empty", "", time.Time{}, time.Time{}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newQueryReader(nil)
			rng := r.timeRange("filters[date_created]", tc.raw)
			if tc.wantError {
				if rng != nil || r.problems.Len() != 1 {
					t.Errorf("range = %+v with %d problems, expected one problem", rng, r.problems.Len())
				}
				return
			}
			if rng == nil {
				t.Fatalf("rejected: %s", problemText(r.problems.Err()))
			}
			if !rng.From.Equal(tc.wantFrom) || !rng.Until.Equal(tc.wantUntil) {
				t.Errorf("range = [%s, %s), expected [%s, %s)", rng.From, rng.Until, tc.wantFrom, tc.wantUntil)
			}
		})
	}
}

func TestParseStatusChangeQuery(t *testing.T) {
	cases := []struct {
		name       string
		query      string
		wantWindow time.Duration
		wantRange  bool
		wantCodes  []string
	}{
		{"minutes", "minutes=15", 15 * time.Minute, false, nil},
		{"seconds", "seconds=90", 90 * time.Second, false, nil},
		{"maximum minutes", "minutes=10080", 7 * 24 * time.Hour, false, nil},
		{"maximum seconds", "seconds=604800", 7 * 24 * time.Hour, false, nil},
		{"minutes over a week", "minutes=10081", 0, false, []string{"time_frame_too_long"}},
		{"seconds over a week", "seconds=604801", 0, false, []string{"time_frame_too_long"}},
		{"zero minutes", "minutes=0", 0, false, []string{"invalid_value:minutes"}},
		{"minutes not a number", "minutes=ten", 0, false, []string{"invalid_value:minutes"}},
		{"minutes and seconds", "minutes=1&seconds=1", 0, false, []string{"invalid_value:seconds"}},
		{"range", "filters[status_last_updated]=2024-01-01...2024-01-07", 0, true, nil},
		{"range without start", "filters[status_last_updated]=...2024-01-07", 0, false, []string{"invalid_value:filters[status_last_updated]"}},
		{"window and range", "minutes=5&filters[status_last_updated]=2024-01-01...", 5 * time.Minute, true, nil},
		{"other filter", "filters[status]=issued&minutes=5", 0, false, []string{"invalid_value:filters[status]"}},
		{"nothing", "", 0, false, []string{"required_param:minutes"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q, err := ParseStatusChangeQuery(query(t, tc.query))
			if codes := problemCodes(t, err); !slices.Equal(codes, tc.wantCodes) {
				t.Fatalf("codes = %v, expected %v (%s)", codes, tc.wantCodes, problemText(err))
			}
			if err != nil {
				return
			}
			if q.Window != tc.wantWindow {
				t.Errorf("window = %s, expected %s", q.Window, tc.wantWindow)
			}
			if (q.Range != nil) != tc.wantRange {
				t.Errorf("range = %+v, expected present: %v", q.Range, tc.wantRange)
			}
		})
	}
}

func TestCheckRangeLength(t *testing.T) {
	now := time.Date(2024, 3, 10, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name    string
		rng     store.TimeRange
		wantErr bool
	}{
		{"exactly seven days", store.TimeRange{From: now.Add(-7 * 24 * time.Hour), Until: now}, false},
		{"eight days", store.TimeRange{From: now.Add(-8 * 24 * time.Hour), Until: now}, true},
		{"open end counts to now", store.TimeRange{From: now.Add(-8 * 24 * time.Hour)}, true},
		{"old seven-day range", store.TimeRange{From: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2020, 1, 8, 0, 0, 0, 0, time.UTC)}, false},
		{"future end counts to now", store.TimeRange{From: now.Add(-24 * time.Hour), Until: now.AddDate(1, 0, 0)}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := checkRangeLength(tc.rng, now)
			if (err != nil) != tc.wantErr {
				t.Fatalf("error = %v, expected error: %v", err, tc.wantErr)
			}
			if err != nil && !slices.Equal(problemCodes(t, err), []string{"time_frame_too_long"}) {
				t.Errorf("codes = %v, expected time_frame_too_long", problemCodes(t, err))
			}
		})
	}
}

func TestParseRequestListQueryStatus(t *testing.T) {
	notPending := false
	cases := []struct {
		name          string
		status        string
		wantStatus    string
		wantPending   *bool
		wantSubmitted bool
		wantCodes     []string
	}{
		{"submitted matches waiting requests", "submitted", "", nil, true, nil},
		{"approved excludes a pending order", "approved", store.RequestApproved, &notPending, false, nil},
		{"pending", "pending", store.RequestPending, nil, false, nil},
		{"rejected", "rejected", store.RequestRejected, nil, false, nil},
		{"unknown", "done", "", nil, false, []string{"invalid_value:filters[status]"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q, err := ParseRequestListQuery(url.Values{"filters[status]": {tc.status}})
			if codes := problemCodes(t, err); !slices.Equal(codes, tc.wantCodes) {
				t.Fatalf("codes = %v, expected %v (%s)", codes, tc.wantCodes, problemText(err))
			}
			if err != nil {
				return
			}
			if q.Filter.Status != tc.wantStatus {
				t.Errorf("status = %q, expected %q", q.Filter.Status, tc.wantStatus)
			}
			if fmt.Sprint(deref(q.Filter.OrderPending)) != fmt.Sprint(deref(tc.wantPending)) {
				t.Errorf("order pending = %v, expected %v", deref(q.Filter.OrderPending), deref(tc.wantPending))
			}
			if q.Filter.Submitted != tc.wantSubmitted {
				t.Errorf("submitted = %v, expected %v", q.Filter.Submitted, tc.wantSubmitted)
			}
		})
	}
}

func deref(b *bool) any {
	if b == nil {
		return nil
	}
	return *b
}

func TestParseRequestListQueryRejects(t *testing.T) {
	cases := []struct {
		name      string
		query     string
		wantCodes []string
	}{
		{"unknown type", "filters[type]=renewal", []string{"invalid_value:filters[type]"}},
		{"metadata filter", "filters[metadata_id]=3", []string{"invalid_value:filters[metadata_id]"}},
		{"sort field of orders", "sort=common_name", []string{"invalid_value:sort"}},
		{"known type", "filters[type]=new_request&sort=-date", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseRequestListQuery(query(t, tc.query))
			if codes := problemCodes(t, err); !slices.Equal(codes, tc.wantCodes) {
				t.Errorf("codes = %v, expected %v (%s)", codes, tc.wantCodes, problemText(err))
			}
		})
	}
}

func TestParseOrganizationListQuery(t *testing.T) {
	cases := []struct {
		name      string
		query     string
		check     func(q *OrganizationListQuery) bool
		wantCodes []string
	}{
		{"include validation", "include_validation=true", func(q *OrganizationListQuery) bool { return q.IncludeValidation }, nil},
		{"include validation as 1", "include_validation=1", func(q *OrganizationListQuery) bool { return q.IncludeValidation }, nil},
		{"include validation not boolean", "include_validation=yes", nil, []string{"invalid_value:include_validation"}},
		{"inactive status", "filters[status]=inactive", func(q *OrganizationListQuery) bool { return !*q.Filter.Active }, nil},
		{"is_active", "filters[is_active]=1", func(q *OrganizationListQuery) bool { return *q.Filter.Active }, nil},
		{"country", "filters[country]=us", func(q *OrganizationListQuery) bool { return q.Filter.Country == "US" }, nil},
		{"unassigned country", "filters[country]=uk", nil, []string{"invalid_value:filters[country]"}},
		{"sort by name", "sort=-name", func(q *OrganizationListQuery) bool {
			return q.Sort[0] == store.SortKey{Field: "name", Descending: true}
		}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q, err := ParseOrganizationListQuery(query(t, tc.query))
			if codes := problemCodes(t, err); !slices.Equal(codes, tc.wantCodes) {
				t.Fatalf("codes = %v, expected %v (%s)", codes, tc.wantCodes, problemText(err))
			}
			if err == nil && !tc.check(q) {
				t.Errorf("query = %+v", q)
			}
		})
	}
}

func TestValidityYears(t *testing.T) {
	created := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name     string
		validity Validity
		notAfter time.Time
		want     int
	}{
		{"years as ordered", Validity{Years: 2}, created.AddDate(2, 0, 0), 2},
		{"days within a year", Validity{Days: 30}, created.AddDate(0, 0, 30), 1},
		{"days into a second year", Validity{Days: 400}, created.AddDate(0, 0, 400), 2},
		{"custom date", Validity{CustomExpirationDate: "2026-12-31"}, time.Date(2026, 12, 31, 23, 59, 59, 0, time.UTC), 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := validityYears(tc.validity, created, tc.notAfter); got != tc.want {
				t.Errorf("validity years = %d, expected %d", got, tc.want)
			}
		})
	}
}

// TestProductMatchesOrderParser checks that every value the ds_org product
// offers is accepted by ParseDSOrg, and that the next value past each list
// is rejected.
func TestProductMatchesOrderParser(t *testing.T) {
	product := dsOrgProduct(nil)
	accepted := func(t *testing.T, mutations ...mutation) []string {
		t.Helper()
		body := validBody(t)
		for _, m := range mutations {
			m(t, body)
		}
		_, err := ParseDSOrg(body, testNow)
		return problemCodes(t, err)
	}

	for _, hash := range product.SignatureHashes {
		if codes := accepted(t, set("certificate.signature_hash", hash)); codes != nil {
			t.Errorf("signature hash %s: codes %v", hash, codes)
		}
	}
	if codes := accepted(t, set("certificate.signature_hash", "sha1")); !slices.Contains(codes, "invalid_value:certificate.signature_hash") {
		t.Errorf("sha1 accepted by the order parser; codes %v", codes)
	}

	for _, years := range product.ValidityYears {
		if codes := accepted(t, set("order_validity.years", num(int64(years)))); codes != nil {
			t.Errorf("validity %d years: codes %v", years, codes)
		}
	}
	tooLong := int64(slices.Max(product.ValidityYears) + 1)
	if codes := accepted(t, set("order_validity.years", num(tooLong))); !slices.Contains(codes, "invalid_value:order_validity.years") {
		t.Errorf("validity %d years accepted; codes %v", tooLong, codes)
	}

	tokenOrder := []mutation{set("cs_provisioning_method", "client_app"), remove("certificate.csr")}
	for _, option := range product.KeyTypes {
		for _, size := range option.Sizes {
			m := append(slices.Clone(tokenOrder), set("certificate.csr_key_type", option.Type), set("certificate.key_size", num(int64(size))))
			if codes := accepted(t, m...); codes != nil {
				t.Errorf("key %s %d: codes %v", option.Type, size, codes)
			}
		}
	}

	for _, method := range product.ProvisioningMethods {
		m := []mutation{set("cs_provisioning_method", method)}
		if method != provisioningEmail {
			m = append(m, remove("certificate.csr"))
		}
		if method == provisioningShipToken {
			m = append(m, set("ship_info", shipInfo()))
		}
		if codes := accepted(t, m...); codes != nil {
			t.Errorf("provisioning method %s: codes %v", method, codes)
		}
	}

	if product.CSRRequired {
		t.Error("csr_required is true, but token orders are placed without a CSR")
	}
	if !product.CustomExpirationDateAllowed {
		t.Error("custom_expiration_date_allowed is false, but the parser accepts custom_expiration_date")
	}
}
