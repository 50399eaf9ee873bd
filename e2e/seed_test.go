package e2e

import (
	"net/http"
	"regexp"
	"strconv"
	"testing"
)

// seededRange matches the output of `docsign-ca dev seed`.
var seededRange = regexp.MustCompile(`added orders (\d+) to (\d+) in `)

// TestDevSeedThenNewOrders seeds a stopped server's database and starts
// the server again. The seeded orders must be readable, and new rows must
// get ids after the seeded ones: on PostgreSQL the seed writes explicit ids
// and moves the identity sequences past them.
func TestDevSeedThenNewOrders(t *testing.T) {
	dir := t.TempDir()
	s := startServerIn(t, dir)
	orgID := createValidatedOrganization(t, s, s.Key, "Seed Template Inc")
	templateID, _ := placeIssuedOrder(t, s, orgID)
	s.stop()

	out := s.cli("dev", "seed", "--orders", "250")
	match := seededRange.FindStringSubmatch(out)
	if match == nil {
		t.Fatalf("dev seed output has no order range:\n%s", out)
	}
	first, _ := strconv.ParseInt(match[1], 10, 64)
	last, _ := strconv.ParseInt(match[2], 10, 64)
	if first != templateID+1 || last != templateID+250 {
		t.Errorf("dev seed added orders %d to %d, expected %d to %d", first, last, templateID+1, templateID+250)
	}

	s = startServerIn(t, dir)
	waitForStatus(t, s, s.Key, last, "issued")

	newOrgID := createValidatedOrganization(t, s, s.Key, "After Seed Inc")
	newOrderID, newCertificateID := placeIssuedOrder(t, s, newOrgID)
	if newOrderID != last+1 {
		t.Errorf("new order id = %d, expected %d after the seeded orders", newOrderID, last+1)
	}
	info := waitForStatus(t, s, s.Key, newOrderID, "issued")
	if org := info["organization"].(map[string]any); idOf(t, org["id"]) != newOrgID {
		t.Errorf("new order's organization = %v, expected %d", org["id"], newOrgID)
	}
	if cert := info["certificate"].(map[string]any); idOf(t, cert["id"]) != newCertificateID {
		t.Errorf("new order's certificate = %v, expected %d", cert["id"], newCertificateID)
	}

	// An order that waits for approval writes a request row, whose id the
	// seed did not choose, and is issued by the background issuer.
	approvedOrderID, requestID := placePendingOrder(t, s, newOrgID)
	approve(t, s, s.Key, requestID)
	waitForStatus(t, s, s.Key, approvedOrderID, "issued")

	checkOrderCounts(t, dir)

	list := s.do("GET", "/services/v2/order/certificate?filters[status]=issued&limit=1", s.Key, nil)
	if list.Status != http.StatusOK {
		t.Fatalf("list issued orders: %d %s", list.Status, list.Body)
	}
	if total := idOf(t, list.JSON(t)["page"].(map[string]any)["total"]); total != 253 {
		t.Errorf("issued orders page total = %d, expected 253 (template, 250 seeded, 2 new)", total)
	}
}

// checkOrderCounts compares order_counts, which triggers keep, with a
// COUNT(*) of the orders per account, container and status.
func checkOrderCounts(t *testing.T, dataDir string) {
	t.Helper()
	st := openStore(t, dataDir)
	defer st.Close()

	var mismatches int
	err := st.DB().QueryRow(`
		SELECT COUNT(*) FROM (
		  SELECT account_id, container_id, status, COUNT(*) AS n FROM orders GROUP BY account_id, container_id, status
		) counted
		LEFT JOIN order_counts c USING (account_id, container_id, status)
		WHERE c.n IS NULL OR c.n <> counted.n`).Scan(&mismatches)
	if err != nil {
		t.Fatalf("compare order_counts: %v", err)
	}
	if mismatches != 0 {
		t.Errorf("order_counts differs from COUNT(*) of orders for %d account, container and status groups", mismatches)
	}

	var stray int
	err = st.DB().QueryRow(`
		SELECT COUNT(*) FROM order_counts c
		 WHERE c.n <> 0 AND NOT EXISTS (SELECT 1 FROM orders o
		   WHERE o.account_id = c.account_id AND o.container_id = c.container_id AND o.status = c.status)`).Scan(&stray)
	if err != nil {
		t.Fatalf("find order_counts rows without orders: %v", err)
	}
	if stray != 0 {
		t.Errorf("order_counts has %d groups with orders that do not exist", stray)
	}
}
