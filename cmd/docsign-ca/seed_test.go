package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docsign-ca/docsign-ca/internal/pgtest"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

// fixtureStatement is one statement of a test fixture. Binary values are
// arguments, because SQLite and PostgreSQL write blob literals differently.
type fixtureStatement struct {
	query string
	args  []any
}

// templateDER is the certificate DER of the fixture's issued order, which
// every seeded certificate copies.
var templateDER = []byte{0x30, 0x82}

// seedFixture is an issued order 1 with its request, certificate, issuance
// intent and two status changes, and a pending order 2 without a
// certificate, which the seed must not copy.
var seedFixture = []fixtureStatement{
	{query: `INSERT INTO accounts (id, name, created_at) VALUES (1, 'Example', '2026-12-01T10:00:00Z')`},
	{query: `INSERT INTO containers (id, account_id, name, created_at) VALUES (1, 1, 'Example', '2026-12-01T10:00:00Z')`},
	{query: `INSERT INTO users (id, account_id, container_id, username, first_name, last_name, email, role, created_at)
	 VALUES (1, 1, 1, 'admin', 'Ada', 'Admin', 'admin@example.com', 'administrator', '2026-12-01T10:00:00Z')`},
	{query: `INSERT INTO organizations (id, account_id, container_id, name, address, city, state, zip, country, normalized_key, created_at)
	 VALUES (1, 1, 1, 'Example Inc', '1 Main St', 'Lehi', 'UT', '84043', 'US', 'example inc', '2026-12-01T10:00:00Z')`},
	{query: `INSERT INTO validations (organization_id, type, status, date_created) VALUES (1, 'ds', 'active', '2026-12-01T10:00:00Z')`},
	{query: `INSERT INTO cas (id, ca_cert_id, role, common_name, cert_der, key_uri, created_at)
	 VALUES (1, 'CA1', 'intermediate', 'Example Issuing CA', ?, 'file:issuing.key', '2026-12-01T10:00:00Z')`,
		args: []any{[]byte{0x30, 0x00}}},
	{query: `INSERT INTO orders (id, account_id, container_id, organization_id, user_id, status, product_name_id, provisioning_method,
	   key_type, key_size, signature_hash, ca_id, not_after, details, date_created, updated_at)
	 VALUES (1, 1, 1, 1, 1, 'issued', 'ds_org', 'email', 'rsa', 2048, 'sha256', 1, '2027-12-01T10:00:00Z', '{}',
	   '2026-12-01T10:00:00Z', '2026-12-01T10:00:05Z'),
	        (2, 1, 1, 1, 1, 'pending', 'ds_org', 'email', 'rsa', 2048, 'sha256', 1, '2027-12-01T10:00:00Z', '{}',
	   '2026-12-01T10:01:00Z', '2026-12-01T10:01:00Z')`},
	{query: `INSERT INTO requests (account_id, order_id, type, status, requester_id, date, date_processed)
	 VALUES (1, 1, 'new_request', 'approved', 1, '2026-12-01T10:00:00Z', '2026-12-01T10:00:03Z')`},
	{query: `INSERT INTO certificates (id, account_id, order_id, status, serial_number, thumbprint, der, ca_id, valid_from, valid_till,
	   date_created, date_issued)
	 VALUES (1, 1, 1, 'issued', '0A1B2C3D', 'F00D', ?, 1, '2026-12-01T10:00:04Z', '2027-12-01T10:00:04Z',
	   '2026-12-01T10:00:00Z', '2026-12-01T10:00:05Z'),
	        (2, 1, 2, 'pending', NULL, NULL, NULL, NULL, NULL, NULL, '2026-12-01T10:01:00Z', NULL)`,
		args: []any{templateDER}},
	{query: `INSERT INTO issuance_intents (certificate_id, order_id, serial_number, ca_id, tbs, status, created_at, completed_at)
	 VALUES (1, 1, '0A1B2C3D', 1, ?, 'completed', '2026-12-01T10:00:04Z', '2026-12-01T10:00:05Z')`,
		args: []any{[]byte{0x30}}},
	{query: `INSERT INTO order_status_changes (order_id, account_id, status, changed_at)
	 VALUES (1, 1, 'pending', '2026-12-01T10:00:00Z'), (1, 1, 'issued', '2026-12-01T10:00:05Z')`},
}

// openSeedStore opens an empty store, on PostgreSQL when
// DOCSIGN_TEST_POSTGRES_URL is set (see package pgtest), and runs fixture on it.
func openSeedStore(t *testing.T, fixture []fixtureStatement) *store.Store {
	t.Helper()
	ctx := context.Background()
	var (
		st  *store.Store
		err error
	)
	if u := pgtest.NewDatabase(t); u != "" {
		st, err = store.OpenPostgres(ctx, u, store.DefaultPostgresOptions)
	} else {
		st, err = store.Open(ctx, filepath.Join(t.TempDir(), "docsign.db"))
	}
	if err != nil {
		t.Fatalf("open store on %s: %v", pgtest.Describe(), err)
	}
	t.Cleanup(func() { st.Close() })

	for _, statement := range fixture {
		if _, err := st.DB().Exec(statement.query, statement.args...); err != nil {
			t.Fatalf("fixture %q: %v", strings.Fields(statement.query)[2], err)
		}
	}
	return st
}

func queryInt(t *testing.T, st *store.Store, query string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := st.DB().QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func TestSeedOrdersCopiesRows(t *testing.T) {
	st := openSeedStore(t, seedFixture)

	first, last, err := seedOrders(context.Background(), st, 120)
	if err != nil {
		t.Fatalf("seedOrders: %v", err)
	}
	if first != 3 || last != 122 {
		t.Errorf("seedOrders returned ids %d to %d, expected 3 to 122", first, last)
	}

	cases := []struct {
		name  string
		query string
		args  []any
		want  int64
	}{
		{"orders", `SELECT COUNT(*) FROM orders`, nil, 122},
		{"issued orders", `SELECT COUNT(*) FROM orders WHERE status = 'issued'`, nil, 121},
		{"organizations, one per 100 orders", `SELECT COUNT(*) FROM organizations`, nil, 3},
		{"organization names numbered", `SELECT COUNT(*) FROM organizations WHERE name = 'Example Inc 3' AND normalized_key = 'example inc 3'`, nil, 1},
		{"validations of each organization", `SELECT COUNT(*) FROM validations`, nil, 3},
		{"orders of the last organization", `SELECT COUNT(*) FROM orders WHERE organization_id = 3`, nil, 20},
		{"certificates", `SELECT COUNT(*) FROM certificates`, nil, 122},
		{"distinct serial numbers", `SELECT COUNT(DISTINCT serial_number) FROM certificates`, nil, 121},
		{"upper-case serials like the template", `SELECT COUNT(*) FROM certificates WHERE serial_number = upper(serial_number)`, nil, 121},
		{"serial made from the order id", `SELECT COUNT(*) FROM certificates WHERE order_id = 122 AND serial_number = '5EED000000000000000000000000007A'`, nil, 1},
		{"thumbprint made from the order id",
			`SELECT COUNT(*) FROM certificates WHERE order_id = 122 AND thumbprint = '000000000000000000000000000000000000007a'`, nil, 1},
		{"certificates with the template DER", `SELECT COUNT(*) FROM certificates WHERE der = ?`, []any{templateDER}, 121},
		{"certificate of each order", `SELECT COUNT(*) FROM orders o JOIN certificates c ON c.order_id = o.id WHERE o.id >= 3`, nil, 120},
		{"issuance intents with their certificate's serial",
			`SELECT COUNT(*) FROM issuance_intents i JOIN certificates c ON c.id = i.certificate_id AND c.serial_number = i.serial_number`, nil, 121},
		{"requests", `SELECT COUNT(*) FROM requests`, nil, 121},
		{"status changes, two per copy", `SELECT COUNT(*) FROM order_status_changes`, nil, 242},
		{"first copy dated 2 minutes before the template",
			`SELECT COUNT(*) FROM orders WHERE id = 3 AND date_created = '2026-12-01T09:58:00Z' AND updated_at = '2026-12-01T09:58:05Z'`, nil, 1},
		{"last copy dated 121 minutes before the template",
			`SELECT COUNT(*) FROM orders WHERE id = 122 AND date_created = '2026-12-01T07:59:00Z'`, nil, 1},
		{"certificate validity of the first copy shifted",
			`SELECT COUNT(*) FROM certificates WHERE order_id = 3 AND valid_from = '2026-12-01T09:58:04Z' AND valid_till = '2027-12-01T09:58:04Z'`, nil, 1},
		{"status change of the first copy shifted",
			`SELECT COUNT(*) FROM order_status_changes WHERE order_id = 3 AND changed_at = '2026-12-01T09:58:05Z'`, nil, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := queryInt(t, st, tc.query, tc.args...); got != tc.want {
				t.Errorf("%s = %d, expected %d", tc.query, got, tc.want)
			}
		})
	}
}

func TestSeedOrdersContinuesIDs(t *testing.T) {
	st := openSeedStore(t, seedFixture)
	if _, _, err := seedOrders(context.Background(), st, 10); err != nil {
		t.Fatalf("first seedOrders: %v", err)
	}

	first, last, err := seedOrders(context.Background(), st, 5)
	if err != nil {
		t.Fatalf("second seedOrders: %v", err)
	}
	if first != 13 || last != 17 {
		t.Errorf("second seedOrders returned ids %d to %d, expected 13 to 17", first, last)
	}
	if got := queryInt(t, st, `SELECT COUNT(DISTINCT serial_number) FROM certificates`); got != 16 {
		t.Errorf("distinct serial numbers = %d, expected 16", got)
	}
}

// TestSeedOrdersNextInsertIDs checks that rows inserted without an id
// after a seed get the ids after the seeded ones. On PostgreSQL the seed
// must move the identity sequences that its explicit ids passed.
func TestSeedOrdersNextInsertIDs(t *testing.T) {
	st := openSeedStore(t, seedFixture)
	if _, _, err := seedOrders(context.Background(), st, 120); err != nil {
		t.Fatalf("seedOrders: %v", err)
	}

	// Each insert after the first refers to the row that the one before it
	// added, through its ? argument.
	inserts := []struct {
		table string
		query string
		want  int64
	}{
		{"organizations", `INSERT INTO organizations (account_id, container_id, name, address, city, state, zip, country, normalized_key, created_at)
			VALUES (1, 1, 'Next Inc', '2 Main St', 'Lehi', 'UT', '84043', 'US', 'next inc', '2026-12-02T10:00:00Z') RETURNING id`, 4},
		{"orders", `INSERT INTO orders (account_id, container_id, organization_id, user_id, status, product_name_id, provisioning_method,
			key_type, key_size, signature_hash, ca_id, not_after, details, date_created, updated_at)
			VALUES (1, 1, ?, 1, 'pending', 'ds_org', 'email', 'rsa', 2048, 'sha256', 1, '2027-12-02T10:00:00Z', '{}',
			'2026-12-02T10:00:00Z', '2026-12-02T10:00:00Z') RETURNING id`, 123},
		{"certificates", `INSERT INTO certificates (account_id, order_id, status, date_created)
			VALUES (1, ?, 'pending', '2026-12-02T10:00:00Z') RETURNING id`, 123},
	}
	var previous []any
	for _, insert := range inserts {
		id := queryInt(t, st, insert.query, previous...)
		if id != insert.want {
			t.Errorf("new %s row got id %d, expected %d", insert.table, id, insert.want)
		}
		previous = []any{id}
	}
}

func TestSeedOrdersKeepsOrderCounts(t *testing.T) {
	st := openSeedStore(t, seedFixture)
	if _, _, err := seedOrders(context.Background(), st, 120); err != nil {
		t.Fatalf("seedOrders: %v", err)
	}

	counted := statusCounts(t, st, `SELECT status, COUNT(*) FROM orders GROUP BY status`)
	tracked := statusCounts(t, st, `SELECT status, SUM(n) FROM order_counts WHERE n <> 0 GROUP BY status`)
	if counted["issued"] != 121 || counted["pending"] != 1 {
		t.Errorf("orders per status = %v, expected 121 issued and 1 pending", counted)
	}
	for status, n := range counted {
		if tracked[status] != n {
			t.Errorf("order_counts for %s = %d, expected %d from COUNT(*) of orders", status, tracked[status], n)
		}
	}
	for status, n := range tracked {
		if _, ok := counted[status]; !ok {
			t.Errorf("order_counts has %d %s orders, but orders has none", n, status)
		}
	}
}

func statusCounts(t *testing.T, st *store.Store, query string) map[string]int64 {
	t.Helper()
	rows, err := st.DB().Query(query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()

	counts := map[string]int64{}
	for rows.Next() {
		var status string
		var n int64
		if err := rows.Scan(&status, &n); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		counts[status] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return counts
}

func TestSeedOrdersWithoutIssuedOrder(t *testing.T) {
	st := openSeedStore(t, seedFixture[:6])

	_, _, err := seedOrders(context.Background(), st, 10)
	if err == nil || !strings.Contains(err.Error(), "no issued order to copy") {
		t.Errorf("seedOrders on a store without orders = %v, expected an error containing %q", err, "no issued order to copy")
	}
}
