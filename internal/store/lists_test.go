package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestWhereTextBindsValues(t *testing.T) {
	cases := []struct {
		name          string
		match         TextMatch
		expressions   []string
		wantCondition string
		wantArgs      []any
	}{
		{"exact", TextMatch{Value: "Example Inc"}, []string{"org.name"},
			"(org.name = ? COLLATE NOCASE)", []any{"Example Inc"}},
		{"contains", TextMatch{Value: "ample", Contains: true}, []string{"org.name"},
			`(lower(org.name) LIKE lower(?) ESCAPE '\')`, []any{"%ample%"}},
		{"contains escapes wildcards", TextMatch{Value: `50%_off\`, Contains: true}, []string{"org.name"},
			`(lower(org.name) LIKE lower(?) ESCAPE '\')`, []any{`%50\%\_off\\%`}},
		{"several expressions", TextMatch{Value: "x"}, []string{"a", "b"},
			"(a = ? COLLATE NOCASE OR b = ? COLLATE NOCASE)", []any{"x", "x"}},
		{"quote stays a value", TextMatch{Value: "' OR 1=1 --"}, []string{"a"},
			"(a = ? COLLATE NOCASE)", []any{"' OR 1=1 --"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q := &listQuery{}
			q.whereText(tc.match, tc.expressions...)
			if len(q.conditions) != 1 || q.conditions[0] != tc.wantCondition {
				t.Errorf("conditions = %q, expected [%q]", q.conditions, tc.wantCondition)
			}
			if !slices.Equal(q.args, tc.wantArgs) {
				t.Errorf("args = %q, expected %q", q.args, tc.wantArgs)
			}
		})
	}
}

func TestWhereTimeBounds(t *testing.T) {
	from := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	until := from.Add(time.Hour)
	cases := []struct {
		name          string
		r             TimeRange
		wantCondition []string
		wantArgs      []any
	}{
		{"both bounds", TimeRange{From: from, Until: until}, []string{"t >= ?", "t < ?"},
			[]any{"2024-01-02T03:04:05Z", "2024-01-02T04:04:05Z"}},
		{"open start", TimeRange{Until: until}, []string{"t < ?"}, []any{"2024-01-02T04:04:05Z"}},
		{"open end", TimeRange{From: from}, []string{"t >= ?"}, []any{"2024-01-02T03:04:05Z"}},
		{"other zone stored as UTC", TimeRange{From: from.In(time.FixedZone("MDT", -6*3600))}, []string{"t >= ?"},
			[]any{"2024-01-02T03:04:05Z"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q := &listQuery{}
			q.whereTime("t", tc.r)
			if !slices.Equal(q.conditions, tc.wantCondition) {
				t.Errorf("conditions = %q, expected %q", q.conditions, tc.wantCondition)
			}
			if !slices.Equal(q.args, tc.wantArgs) {
				t.Errorf("args = %q, expected %q", q.args, tc.wantArgs)
			}
		})
	}
}

func TestWhereSQLJoinsConditions(t *testing.T) {
	q := &listQuery{}
	if got := q.whereSQL(); got != "" {
		t.Errorf("empty query: whereSQL = %q, expected empty", got)
	}
	q.where("a = ?", 1)
	q.where("b = ?", 2)
	if got := q.whereSQL(); got != " WHERE a = ? AND b = ?" {
		t.Errorf("whereSQL = %q", got)
	}
}

func TestOrderBySQL(t *testing.T) {
	columns := sortColumns{"id": "o.id", "date_created": "o.date_created", "common_name": "org.name COLLATE NOCASE"}
	cases := []struct {
		name    string
		keys    []SortKey
		want    string
		wantErr string
	}{
		{"no keys sorts by tiebreaker", nil, " ORDER BY o.id", ""},
		{"ascending", []SortKey{{Field: "date_created"}}, " ORDER BY o.date_created, o.id", ""},
		{"descending", []SortKey{{Field: "date_created", Descending: true}}, " ORDER BY o.date_created DESC, o.id", ""},
		{"several keys", []SortKey{{Field: "common_name", Descending: true}, {Field: "date_created"}},
			" ORDER BY org.name COLLATE NOCASE DESC, o.date_created, o.id", ""},
		{"unknown field", []SortKey{{Field: "o.id; DROP TABLE orders"}}, "",
			"unknown sort field \"o.id; DROP TABLE orders\"; sortable fields: common_name, date_created, id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := orderBySQL(tc.keys, columns, "o.id")
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Errorf("error = %v, expected %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("ORDER BY = %q, expected %q", got, tc.want)
			}
		})
	}
}

func TestPlaceholders(t *testing.T) {
	for n, want := range map[int]string{1: "?", 3: "?, ?, ?"} {
		if got := placeholders(n); got != want {
			t.Errorf("placeholders(%d) = %q, expected %q", n, got, want)
		}
	}
}

// listFixture is a store with two accounts and orders of known shape.
type listFixture struct {
	st       *Store
	account  *Caller
	other    *Caller
	orgs     map[string]int64
	orders   map[string]int64
	certByID map[int64]int64
}

func newListFixture(t *testing.T) *listFixture {
	t.Helper()
	ctx := context.Background()
	st := openTestStore(t, "lists.db")

	f := &listFixture{st: st, orgs: map[string]int64{}, orders: map[string]int64{}, certByID: map[int64]int64{}}
	f.account = f.createAccount(t, "Tenant One", "one")
	f.other = f.createAccount(t, "Tenant Two", "two")

	caID, err := st.InsertCA(ctx, CA{CACertID: "TESTCA", Role: CAIntermediate, CommonName: "Test CA", CertDER: []byte{0}, KeyURI: "file:unused"})
	if err != nil {
		t.Fatal(err)
	}

	f.orgs["acme"] = f.createOrganization(t, f.account, "Acme 50% Widgets", "Acme")
	f.orgs["globex"] = f.createOrganization(t, f.account, "Globex Corporation", "")
	f.orgs["other"] = f.createOrganization(t, f.other, "Acme Other Tenant", "")

	f.orders["acme-1"] = f.createOrder(t, f.account, f.orgs["acme"], caID, RequestPending)
	f.orders["acme-2"] = f.createOrder(t, f.account, f.orgs["acme"], caID, RequestPending)
	f.orders["globex-1"] = f.createOrder(t, f.account, f.orgs["globex"], caID, RequestPending)
	f.orders["other-1"] = f.createOrder(t, f.other, f.orgs["other"], caID, RequestPending)
	return f
}

func (f *listFixture) createAccount(t *testing.T, name, username string) *Caller {
	t.Helper()
	caller, err := f.st.CreateAccount(context.Background(), NewAccount{
		Name:      name,
		Admin:     User{Username: username, FirstName: name, LastName: "Administrator", Email: username + "@example.com"},
		KeyHash:   []byte(username),
		KeyPrefix: username,
	})
	if err != nil {
		t.Fatal(err)
	}
	return caller
}

func (f *listFixture) createOrganization(t *testing.T, caller *Caller, name, assumed string) int64 {
	t.Helper()
	org, _, err := f.st.CreateOrganization(context.Background(), Organization{
		AccountID: caller.Account.ID, ContainerID: caller.Account.RootContainerID, Name: name, AssumedName: assumed,
		Address: "1 Main St", City: "Richmond", State: "Virginia", Zip: "23219", Country: "US", NormalizedKey: name,
	}, true)
	if err != nil {
		t.Fatal(err)
	}
	return org.ID
}

func (f *listFixture) createOrder(t *testing.T, caller *Caller, orgID, caID int64, requestStatus string) int64 {
	t.Helper()
	details, _ := json.Marshal(map[string]any{"validity": map[string]any{"Years": 1}})
	created, err := f.st.CreateOrder(context.Background(), NewOrder{
		Order: Order{
			AccountID: caller.Account.ID, ContainerID: caller.Account.RootContainerID, OrganizationID: orgID,
			UserID: caller.User.ID, Status: OrderNeedsApproval, ProductNameID: "ds_org", ProvisioningMethod: "email",
			KeyType: "rsa", KeySize: 2048, SignatureHash: "sha256", CAID: caID,
			NotAfter: time.Now().AddDate(1, 0, 0), Details: details,
		},
		RequestStatus: requestStatus,
	})
	if err != nil {
		t.Fatal(err)
	}
	f.certByID[created.OrderID] = created.CertificateID
	return created.OrderID
}

// issue marks the order's certificate issued with a serial and an expiry.
// It sets the order pending directly, then completes the issuance with the
// store calls that the CA uses.
func (f *listFixture) issue(t *testing.T, orderID int64, serial string, validTill time.Time) {
	t.Helper()
	ctx := context.Background()
	o, err := f.st.OrderByID(ctx, orderID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.db.ExecContext(ctx, `UPDATE orders SET status = ? WHERE id = ?`, OrderPending, orderID); err != nil {
		t.Fatal(err)
	}
	intentID, err := f.st.CreateIntent(ctx, Intent{CertificateID: f.certByID[orderID], OrderID: orderID, SerialNumber: serial, CAID: o.CAID, TBS: []byte{1}})
	if err != nil {
		t.Fatal(err)
	}
	err = f.st.CompleteIssuance(ctx, IssuedCertificate{
		IntentID: intentID, CertificateID: f.certByID[orderID], OrderID: orderID, AccountID: o.AccountID, CAID: o.CAID,
		SerialNumber: serial, Thumbprint: serial, DER: []byte{2}, ValidFrom: time.Now(), ValidTill: validTill,
	})
	if err != nil {
		t.Fatal(err)
	}
}

func orderIDs(rows []OrderSummary) []int64 {
	ids := make([]int64, 0, len(rows))
	for _, r := range rows {
		ids = append(ids, r.ID)
	}
	return ids
}

func TestListOrdersFilters(t *testing.T) {
	f := newListFixture(t)
	f.issue(t, f.orders["acme-2"], "0A1B2C3D4E5F", time.Date(2031, 5, 6, 23, 59, 59, 0, time.UTC))
	today := time.Now().UTC().Truncate(24 * time.Hour)

	acme1, acme2, globex1 := f.orders["acme-1"], f.orders["acme-2"], f.orders["globex-1"]
	cases := []struct {
		name   string
		filter OrderFilter
		want   []int64
	}{
		{"no filter lists the account only", OrderFilter{}, []int64{acme1, acme2, globex1}},
		{"id", OrderFilter{ID: acme2}, []int64{acme2}},
		{"id of another account", OrderFilter{ID: f.orders["other-1"]}, nil},
		{"status", OrderFilter{Status: OrderIssued}, []int64{acme2}},
		{"organization", OrderFilter{OrganizationID: f.orgs["globex"]}, []int64{globex1}},
		{"product", OrderFilter{ProductNameID: "ds_org"}, []int64{acme1, acme2, globex1}},
		{"unknown product", OrderFilter{ProductNameID: "ssl_basic"}, nil},
		{"common name exact ignores case", OrderFilter{CommonName: &TextMatch{Value: "globex corporation"}}, []int64{globex1}},
		{"common name exact needs whole name", OrderFilter{CommonName: &TextMatch{Value: "Globex"}}, nil},
		{"common name contains", OrderFilter{CommonName: &TextMatch{Value: "lobe", Contains: true}}, []int64{globex1}},
		{"percent sign matches itself", OrderFilter{CommonName: &TextMatch{Value: "50%", Contains: true}}, []int64{acme1, acme2}},
		{"underscore matches itself", OrderFilter{CommonName: &TextMatch{Value: "_", Contains: true}}, nil},
		{"serial ignores hex case", OrderFilter{SerialNumber: "0a1b2c3d4e5f"}, []int64{acme2}},
		{"certificate id", OrderFilter{CertificateID: f.certByID[acme1]}, []int64{acme1}},
		{"created today", OrderFilter{DateCreated: &TimeRange{From: today, Until: today.AddDate(0, 0, 1)}}, []int64{acme1, acme2, globex1}},
		{"created before 2000", OrderFilter{DateCreated: &TimeRange{Until: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)}}, nil},
		{"valid till day", OrderFilter{ValidTill: &TimeRange{From: time.Date(2031, 5, 6, 0, 0, 0, 0, time.UTC), Until: time.Date(2031, 5, 7, 0, 0, 0, 0, time.UTC)}}, []int64{acme2}},
		{"valid till skips unissued", OrderFilter{ValidTill: &TimeRange{}}, []int64{acme2}},
		{"search assumed name", OrderFilter{Search: &TextMatch{Value: "acme"}}, []int64{acme1, acme2}},
		{"search serial contains", OrderFilter{Search: &TextMatch{Value: "2C3D", Contains: true}}, []int64{acme2}},
		{"search e-mail", OrderFilter{Search: &TextMatch{Value: "one@example.com"}}, []int64{acme1, acme2, globex1}},
		{"search order id", OrderFilter{Search: &TextMatch{Value: fmt.Sprint(globex1)}}, []int64{globex1}},
		{"search injection text", OrderFilter{Search: &TextMatch{Value: "' OR '1'='1", Contains: true}}, nil},
		{"filters combine", OrderFilter{OrganizationID: f.orgs["acme"], Status: OrderNeedsApproval}, []int64{acme1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rows, total, err := f.st.ListOrders(context.Background(), f.account.Account.ID,
				OrderListQuery{Filter: tc.filter, Page: Page{Limit: 100}})
			if err != nil {
				t.Fatal(err)
			}
			if got := orderIDs(rows); !slices.Equal(got, tc.want) {
				t.Errorf("orders = %v, expected %v", got, tc.want)
			}
			if total != int64(len(tc.want)) {
				t.Errorf("total = %d, expected %d", total, len(tc.want))
			}
		})
	}
}

func TestListOrdersSortAndPage(t *testing.T) {
	f := newListFixture(t)
	acme1, acme2, globex1 := f.orders["acme-1"], f.orders["acme-2"], f.orders["globex-1"]
	cases := []struct {
		name string
		sort []SortKey
		page Page
		want []int64
	}{
		{"default is id ascending", nil, Page{Limit: 10}, []int64{acme1, acme2, globex1}},
		{"id descending", []SortKey{{Field: "id", Descending: true}}, Page{Limit: 10}, []int64{globex1, acme2, acme1}},
		{"common name descending then id", []SortKey{{Field: "common_name", Descending: true}}, Page{Limit: 10}, []int64{globex1, acme1, acme2}},
		{"first page", nil, Page{Limit: 2}, []int64{acme1, acme2}},
		{"last page", nil, Page{Offset: 2, Limit: 2}, []int64{globex1}},
		{"past the end", nil, Page{Offset: 5, Limit: 2}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rows, total, err := f.st.ListOrders(context.Background(), f.account.Account.ID, OrderListQuery{Sort: tc.sort, Page: tc.page})
			if err != nil {
				t.Fatal(err)
			}
			if got := orderIDs(rows); !slices.Equal(got, tc.want) {
				t.Errorf("orders = %v, expected %v", got, tc.want)
			}
			if total != 3 {
				t.Errorf("total = %d, expected 3 on every page", total)
			}
		})
	}
}

func TestListOrdersSummaryFields(t *testing.T) {
	f := newListFixture(t)
	validTill := time.Date(2031, 5, 6, 23, 59, 59, 0, time.UTC)
	f.issue(t, f.orders["acme-2"], "0A1B", validTill)

	rows, _, err := f.st.ListOrders(context.Background(), f.account.Account.ID,
		OrderListQuery{Filter: OrderFilter{ID: f.orders["acme-2"]}, Page: Page{Limit: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 {
		t.Fatalf("%d rows, expected 1", len(rows))
	}
	o := rows[0]
	if o.OrganizationName != "Acme 50% Widgets" || o.OrganizationAssumedName != "Acme" {
		t.Errorf("organization = %q (%q)", o.OrganizationName, o.OrganizationAssumedName)
	}
	if o.ContainerName != "Tenant One" {
		t.Errorf("container name = %q, expected the account's root container", o.ContainerName)
	}
	if o.Certificate.ID != f.certByID[o.ID] || o.Certificate.Status != CertificateIssued || o.Certificate.SerialNumber != "0A1B" {
		t.Errorf("certificate = %+v", o.Certificate)
	}
	if !o.Certificate.ValidTill.Equal(validTill) {
		t.Errorf("valid till = %s, expected %s", o.Certificate.ValidTill, validTill)
	}
	if o.IsRenewed {
		t.Error("is_renewed is true although no order renews this one")
	}
	if o.HasDuplicates {
		t.Error("has_duplicates is true before any duplicate was ordered")
	}
}

func TestListOrdersDuplicateIsNotCurrent(t *testing.T) {
	f := newListFixture(t)
	ctx := context.Background()
	orderID := f.orders["acme-2"]
	f.issue(t, orderID, "0E0F", time.Now().AddDate(1, 0, 0))
	duplicateID, err := f.st.AddDuplicate(ctx, f.account.Account.ID, orderID, KeyMaterial{PublicKey: []byte{3}, KeyType: "rsa", KeySize: 2048})
	if err != nil {
		t.Fatal(err)
	}

	rows, _, err := f.st.ListOrders(ctx, f.account.Account.ID, OrderListQuery{Filter: OrderFilter{ID: orderID}, Page: Page{Limit: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 {
		t.Fatalf("%d rows, expected 1", len(rows))
	}
	if !rows[0].HasDuplicates {
		t.Error("has_duplicates is false after a duplicate was ordered")
	}
	if rows[0].Certificate.ID != f.certByID[orderID] {
		t.Errorf("current certificate = %d, expected the original %d, not the duplicate %d", rows[0].Certificate.ID, f.certByID[orderID], duplicateID)
	}

	byDuplicate, _, err := f.st.ListOrders(ctx, f.account.Account.ID, OrderListQuery{Filter: OrderFilter{CertificateID: duplicateID}, Page: Page{Limit: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if got := orderIDs(byDuplicate); !slices.Equal(got, []int64{orderID}) {
		t.Errorf("filter on the duplicate's id found %v, expected order %d", got, orderID)
	}

	changes, err := f.st.ListStatusChanges(ctx, f.account.Account.ID, TimeRange{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range changes {
		if c.OrderID == orderID && c.CertificateID != f.certByID[orderID] {
			t.Errorf("status change %s names certificate %d, expected the original %d", c.Status, c.CertificateID, f.certByID[orderID])
		}
	}
}

func TestListStatusChangesWindow(t *testing.T) {
	f := newListFixture(t)
	f.issue(t, f.orders["acme-2"], "0C0D", time.Now().AddDate(1, 0, 0))
	ctx := context.Background()

	changes, err := f.st.ListStatusChanges(ctx, f.account.Account.ID, TimeRange{From: time.Now().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range changes {
		got = append(got, fmt.Sprintf("%d:%s", c.OrderID, c.Status))
	}
	// The fixture moves acme-2 to pending directly, without a recorded
	// change, so only placement and issuance are recorded for it.
	want := []string{
		fmt.Sprintf("%d:%s", f.orders["acme-1"], OrderNeedsApproval),
		fmt.Sprintf("%d:%s", f.orders["acme-2"], OrderNeedsApproval),
		fmt.Sprintf("%d:%s", f.orders["globex-1"], OrderNeedsApproval),
		fmt.Sprintf("%d:%s", f.orders["acme-2"], OrderIssued),
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("changes = %v, expected %v", got, want)
	}

	past, err := f.st.ListStatusChanges(ctx, f.account.Account.ID, TimeRange{Until: time.Now().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(past) != 0 {
		t.Errorf("%d changes before the orders existed, expected none", len(past))
	}
}

func TestListOrganizationsFilters(t *testing.T) {
	f := newListFixture(t)
	ctx := context.Background()
	active, inactive := true, false
	cases := []struct {
		name   string
		filter OrganizationFilter
		want   []int64
	}{
		{"no filter lists the account only", OrganizationFilter{}, []int64{f.orgs["acme"], f.orgs["globex"]}},
		{"active", OrganizationFilter{Active: &active}, []int64{f.orgs["acme"], f.orgs["globex"]}},
		{"inactive", OrganizationFilter{Active: &inactive}, nil},
		{"name contains", OrganizationFilter{Name: &TextMatch{Value: "GLOBEX", Contains: true}}, []int64{f.orgs["globex"]}},
		{"search assumed name", OrganizationFilter{Search: &TextMatch{Value: "acme"}}, []int64{f.orgs["acme"]}},
		{"country ignores case", OrganizationFilter{Country: "us"}, []int64{f.orgs["acme"], f.orgs["globex"]}},
		{"usable in root container", OrganizationFilter{UsableInContainer: f.account.Account.RootContainerID}, []int64{f.orgs["acme"], f.orgs["globex"]}},
		{"usable in another account's container", OrganizationFilter{UsableInContainer: f.other.Account.RootContainerID}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rows, total, err := f.st.ListOrganizations(ctx, f.account.Account.ID, OrganizationListQuery{Filter: tc.filter, Page: Page{Limit: 10}})
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, o := range rows {
				got = append(got, o.ID)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("organizations = %v, expected %v", got, tc.want)
			}
			if total != int64(len(tc.want)) {
				t.Errorf("total = %d, expected %d", total, len(tc.want))
			}
		})
	}
}

func TestUsableInChildContainer(t *testing.T) {
	f := newListFixture(t)
	ctx := context.Background()
	res, err := f.st.db.ExecContext(ctx, `INSERT INTO containers (account_id, parent_id, name, created_at) VALUES (?, ?, 'Legal', ?)`,
		f.account.Account.ID, f.account.Account.RootContainerID, formatTime(now()))
	if err != nil {
		t.Fatal(err)
	}
	child, _ := res.LastInsertId()

	rows, _, err := f.st.ListOrganizations(ctx, f.account.Account.ID,
		OrganizationListQuery{Filter: OrganizationFilter{UsableInContainer: child}, Page: Page{Limit: 10}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Errorf("%d organizations usable in a child of the root container, expected the root's 2", len(rows))
	}
}

func TestListRequestsSubmittedStatus(t *testing.T) {
	f := newListFixture(t)
	ctx := context.Background()
	requests, _, err := f.st.ListRequests(ctx, f.account.Account.ID, RequestListQuery{Page: Page{Limit: 10}})
	if err != nil {
		t.Fatal(err)
	}
	if len(requests) != 3 {
		t.Fatalf("%d requests, expected 3", len(requests))
	}
	if _, err := f.st.DecideRequest(ctx, f.account.Account.ID, requests[0].ID, f.account.User.ID, true, "ok"); err != nil {
		t.Fatal(err)
	}

	pending, notPending := true, false
	cases := []struct {
		name   string
		filter RequestFilter
		want   int
	}{
		{"approved and order pending", RequestFilter{Status: RequestApproved, OrderPending: &pending}, 1},
		{"approved and order not pending", RequestFilter{Status: RequestApproved, OrderPending: &notPending}, 0},
		{"pending", RequestFilter{Status: RequestPending}, 2},
		{"type", RequestFilter{Type: "new_request"}, 3},
		{"search", RequestFilter{Search: &TextMatch{Value: "globex", Contains: true}}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rows, total, err := f.st.ListRequests(ctx, f.account.Account.ID, RequestListQuery{Filter: tc.filter, Page: Page{Limit: 10}})
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != tc.want || total != int64(tc.want) {
				t.Errorf("%d rows, total %d, expected %d", len(rows), total, tc.want)
			}
		})
	}

	decided, err := f.st.RequestSummaryByID(ctx, f.account.Account.ID, requests[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if decided.Processor.ID != f.account.User.ID || decided.Processor.Email != "one@example.com" {
		t.Errorf("processor = %+v", decided.Processor)
	}
	if _, err := f.st.RequestSummaryByID(ctx, f.other.Account.ID, requests[0].ID); err != ErrNotFound {
		t.Errorf("another account's request: error %v, expected ErrNotFound", err)
	}
}
