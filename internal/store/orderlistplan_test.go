package store

import (
	"strings"
	"testing"
)

// TestOrderListPageFlagsUseIndexes checks the PostgreSQL plan of
// an order list page over a few thousand orders: the page must read each
// order's certificates and renewals through an index, not scan a whole
// table for the flags of its 100 rows. SQLite runs each sub-query of the select
// list once per row, so the test runs on PostgreSQL only.
func TestOrderListPageFlagsUseIndexes(t *testing.T) {
	f := newProvisioningFixture(t, true)
	if !f.st.Postgres() {
		t.Skip("PostgreSQL only: SQLite has no hashed sub-plans")
	}
	template := f.placeOrder(t, "email", OrderIssued, 0)

	// Copies of the order, each with one certificate, and fresh planner
	// statistics, as a store with many orders has them.
	f.exec(t, `INSERT INTO orders (account_id, container_id, organization_id, user_id, status, product_name_id,
	      provisioning_method, key_type, key_size, signature_hash, ca_id, not_after, details, date_created, updated_at)
	    SELECT account_id, container_id, organization_id, user_id, status, product_name_id,
	      provisioning_method, key_type, key_size, signature_hash, ca_id, not_after, details, date_created, updated_at
	      FROM orders CROSS JOIN generate_series(1, 5000) WHERE id = ?`, template)
	f.exec(t, `INSERT INTO certificates (account_id, order_id, status, date_created)
	    SELECT account_id, id, 'issued', date_created FROM orders WHERE id > ?`, template)
	f.exec(t, `ANALYZE orders, certificates`)

	q := buildOrderFilter(f.caller.Account.ID, OrderFilter{Status: OrderIssued})
	order, err := orderBySQL(nil, orderSortColumns, "o.id")
	if err != nil {
		t.Fatal(err)
	}
	limit, limitArgs := pageSQL(Page{Limit: 100})
	plan := explain(t, f.st, orderPageSQL(q.whereSQL(), order, limit), append(q.args, limitArgs...)...)

	scans := []struct {
		node string
		flag string
	}{
		{"Seq Scan on certificates d", "has duplicates"},
		{"Seq Scan on orders r", "is renewed"},
	}
	for _, scan := range scans {
		if strings.Contains(plan, scan.node) {
			t.Errorf("the order list page reads its %q flag with %q:\n%s", scan.flag, scan.node, plan)
		}
	}
}

// explain returns PostgreSQL's plan of query as text.
func explain(t *testing.T, st *Store, query string, args ...any) string {
	t.Helper()
	rows, err := st.DB().Query(`EXPLAIN `+query, args...)
	if err != nil {
		t.Fatalf("explain: %v", err)
	}
	defer rows.Close()

	var lines []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatalf("read plan: %v", err)
		}
		lines = append(lines, line)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("read plan: %v", err)
	}
	return strings.Join(lines, "\n")
}
