package main

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docsign-ca/docsign-ca/internal/store"
)

// seedFixture is an issued order 1 with its request, certificate, issuance
// intent and two status changes, and a pending order 2 without a
// certificate, which the seed must not copy.
var seedFixture = []string{
	`INSERT INTO accounts (id, name, created_at) VALUES (1, 'Example', '2026-12-01T10:00:00Z')`,
	`INSERT INTO containers (id, account_id, name, created_at) VALUES (1, 1, 'Example', '2026-12-01T10:00:00Z')`,
	`INSERT INTO users (id, account_id, container_id, username, first_name, last_name, email, role, created_at)
	 VALUES (1, 1, 1, 'admin', 'Ada', 'Admin', 'admin@example.com', 'administrator', '2026-12-01T10:00:00Z')`,
	`INSERT INTO organizations (id, account_id, container_id, name, address, city, state, zip, country, normalized_key, created_at)
	 VALUES (1, 1, 1, 'Example Inc', '1 Main St', 'Lehi', 'UT', '84043', 'US', 'example inc', '2026-12-01T10:00:00Z')`,
	`INSERT INTO validations (organization_id, type, status, date_created) VALUES (1, 'ds', 'active', '2026-12-01T10:00:00Z')`,
	`INSERT INTO cas (id, ca_cert_id, role, common_name, cert_der, key_uri, created_at)
	 VALUES (1, 'CA1', 'intermediate', 'Example Issuing CA', x'3000', 'file:issuing.key', '2026-12-01T10:00:00Z')`,
	`INSERT INTO orders (id, account_id, container_id, organization_id, user_id, status, product_name_id, provisioning_method,
	   key_type, key_size, signature_hash, ca_id, not_after, details, date_created, updated_at)
	 VALUES (1, 1, 1, 1, 1, 'issued', 'ds_org', 'email', 'rsa', 2048, 'sha256', 1, '2027-12-01T10:00:00Z', '{}',
	   '2026-12-01T10:00:00Z', '2026-12-01T10:00:05Z'),
	        (2, 1, 1, 1, 1, 'pending', 'ds_org', 'email', 'rsa', 2048, 'sha256', 1, '2027-12-01T10:00:00Z', '{}',
	   '2026-12-01T10:01:00Z', '2026-12-01T10:01:00Z')`,
	`INSERT INTO requests (account_id, order_id, type, status, requester_id, date, date_processed)
	 VALUES (1, 1, 'new_request', 'approved', 1, '2026-12-01T10:00:00Z', '2026-12-01T10:00:03Z')`,
	`INSERT INTO certificates (id, account_id, order_id, status, serial_number, thumbprint, der, ca_id, valid_from, valid_till,
	   date_created, date_issued)
	 VALUES (1, 1, 1, 'issued', '0A1B2C3D', 'F00D', x'3082', 1, '2026-12-01T10:00:04Z', '2027-12-01T10:00:04Z',
	   '2026-12-01T10:00:00Z', '2026-12-01T10:00:05Z'),
	        (2, 1, 2, 'pending', NULL, NULL, NULL, NULL, NULL, NULL, '2026-12-01T10:01:00Z', NULL)`,
	`INSERT INTO issuance_intents (certificate_id, order_id, serial_number, ca_id, tbs, status, created_at, completed_at)
	 VALUES (1, 1, '0A1B2C3D', 1, x'30', 'completed', '2026-12-01T10:00:04Z', '2026-12-01T10:00:05Z')`,
	`INSERT INTO order_status_changes (order_id, account_id, status, changed_at)
	 VALUES (1, 1, 'pending', '2026-12-01T10:00:00Z'), (1, 1, 'issued', '2026-12-01T10:00:05Z')`,
}

func openSeedStore(t *testing.T, fixture []string) *sql.DB {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "docsign.db"))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })

	for _, statement := range fixture {
		if _, err := st.DB().Exec(statement); err != nil {
			t.Fatalf("fixture %q: %v", strings.Fields(statement)[2], err)
		}
	}
	return st.DB()
}

func queryInt(t *testing.T, db *sql.DB, query string) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRow(query).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func TestSeedOrdersCopiesRows(t *testing.T) {
	db := openSeedStore(t, seedFixture)

	first, last, err := seedOrders(context.Background(), db, 120)
	if err != nil {
		t.Fatalf("seedOrders: %v", err)
	}
	if first != 3 || last != 122 {
		t.Errorf("seedOrders returned ids %d to %d, expected 3 to 122", first, last)
	}

	cases := []struct {
		name  string
		query string
		want  int64
	}{
		{"orders", `SELECT COUNT(*) FROM orders`, 122},
		{"issued orders", `SELECT COUNT(*) FROM orders WHERE status = 'issued'`, 121},
		{"organizations, one per 100 orders", `SELECT COUNT(*) FROM organizations`, 3},
		{"validations of each organization", `SELECT COUNT(*) FROM validations`, 3},
		{"orders of the last organization", `SELECT COUNT(*) FROM orders WHERE organization_id = 3`, 20},
		{"certificates", `SELECT COUNT(*) FROM certificates`, 122},
		{"distinct serial numbers", `SELECT COUNT(DISTINCT serial_number) FROM certificates`, 121},
		{"upper-case serials like the template", `SELECT COUNT(*) FROM certificates WHERE serial_number = upper(serial_number)`, 121},
		{"certificates with the template DER", `SELECT COUNT(*) FROM certificates WHERE der = x'3082'`, 121},
		{"certificate of each order", `SELECT COUNT(*) FROM orders o JOIN certificates c ON c.order_id = o.id WHERE o.id >= 3`, 120},
		{"issuance intents with their certificate's serial",
			`SELECT COUNT(*) FROM issuance_intents i JOIN certificates c ON c.id = i.certificate_id AND c.serial_number = i.serial_number`, 121},
		{"requests", `SELECT COUNT(*) FROM requests`, 121},
		{"status changes, two per copy", `SELECT COUNT(*) FROM order_status_changes`, 242},
		{"first copy dated 2 minutes before the template",
			`SELECT COUNT(*) FROM orders WHERE id = 3 AND date_created = '2026-12-01T09:58:00Z' AND updated_at = '2026-12-01T09:58:05Z'`, 1},
		{"status change of the first copy shifted",
			`SELECT COUNT(*) FROM order_status_changes WHERE order_id = 3 AND changed_at = '2026-12-01T09:58:05Z'`, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := queryInt(t, db, tc.query); got != tc.want {
				t.Errorf("%s = %d, expected %d", tc.query, got, tc.want)
			}
		})
	}
}

func TestSeedOrdersContinuesIDs(t *testing.T) {
	db := openSeedStore(t, seedFixture)
	if _, _, err := seedOrders(context.Background(), db, 10); err != nil {
		t.Fatalf("first seedOrders: %v", err)
	}

	first, last, err := seedOrders(context.Background(), db, 5)
	if err != nil {
		t.Fatalf("second seedOrders: %v", err)
	}
	if first != 13 || last != 17 {
		t.Errorf("second seedOrders returned ids %d to %d, expected 13 to 17", first, last)
	}
	if got := queryInt(t, db, `SELECT COUNT(DISTINCT serial_number) FROM certificates`); got != 16 {
		t.Errorf("distinct serial numbers = %d, expected 16", got)
	}
}

func TestSeedOrdersWithoutIssuedOrder(t *testing.T) {
	db := openSeedStore(t, seedFixture[:6])

	_, _, err := seedOrders(context.Background(), db, 10)
	if err == nil || !strings.Contains(err.Error(), "no issued order to copy") {
		t.Errorf("seedOrders on a store without orders = %v, expected an error containing %q", err, "no issued order to copy")
	}
}
