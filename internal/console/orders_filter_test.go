package console

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/docsign-ca/docsign-ca/internal/store"
)

func TestOrderFilterValues(t *testing.T) {
	cases := []struct {
		name  string
		query string
		want  url.Values
	}{
		{"none", "", url.Values{}},
		{"status and search", "status=issued&search=acme",
			url.Values{"filters[status]": {"issued"}, "filters[search]": {"%acme%"}}},
		{"organization name", "common_name=Acme", url.Values{"filters[common_name]": {"Acme"}}},
		{"serial number", "serial_number=0A:1B", url.Values{"filters[serial_number]": {"0A:1B"}}},
		{"organization id", "organization_id=7", url.Values{"filters[organization_id]": {"7"}}},
		{"created range", "created_from=2026-01-01&created_until=2026-12-31",
			url.Values{"filters[date_created]": {"2026-01-01...2026-12-31"}}},
		{"created from only", "created_from=2026-01-01", url.Values{"filters[date_created]": {">=2026-01-01"}}},
		{"created until only", "created_until=2026-12-31", url.Values{"filters[date_created]": {"<=2026-12-31"}}},
		{"expires by", "valid_till_until=2027-06-30", url.Values{"filters[valid_till]": {"<=2027-06-30"}}},
		{"blank inputs ignored", "common_name=+&created_from=", url.Values{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			query, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := orderFilterValues(query, strings.TrimSpace(query.Get("status")), strings.TrimSpace(query.Get("search")))
			if got.Encode() != tc.want.Encode() {
				t.Errorf("filters = %q, expected %q", got.Encode(), tc.want.Encode())
			}
		})
	}
}

func TestOrdersPageFilters(t *testing.T) {
	f := newFixture(t)
	placed := f.placeOrder(t, f.account, newCSR(t))
	f.addUser(t, "olivia", store.RoleAdministrator, "")
	b := f.newBrowser(t)
	b.signIn("olivia", "")
	row := `href="/console/orders/` + strconv.FormatInt(placed.OrderID, 10) + `"`

	cases := []struct {
		name       string
		query      string
		wantStatus int
		wantRow    bool
		wantText   string
	}{
		{"no filter lists the order", "", http.StatusOK, true, ""},
		{"matching status", "status=needs_approval", http.StatusOK, true, ""},
		{"other status", "status=issued", http.StatusOK, false, "No order matches."},
		{"other organization", "organization_id=999999", http.StatusOK, false, "No order matches."},
		{"created before the order", "created_until=2000-01-01", http.StatusOK, false, "No order matches."},
		{"invalid organization id", "organization_id=abc", http.StatusBadRequest, false, "organization_id"},
		{"range ending before it starts", "created_from=2026-12-31&created_until=2026-01-01", http.StatusBadRequest, false, "ends before it starts"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := b.get("/console/orders?" + tc.query)
			if p.status != tc.wantStatus {
				t.Fatalf("status %d, expected %d:\n%s", p.status, tc.wantStatus, p.body)
			}
			if got := strings.Contains(p.body, row); got != tc.wantRow {
				t.Errorf("order row shown: %v, expected %v", got, tc.wantRow)
			}
			if tc.wantText != "" && !strings.Contains(p.body, tc.wantText) {
				t.Errorf("page does not contain %q:\n%s", tc.wantText, p.body)
			}
		})
	}
}
