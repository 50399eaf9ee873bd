package store

import (
	"context"
	"testing"
)

// TestOrderCountsFollowOrders changes orders in each way the triggers of
// order_counts handle and compares the counts with the orders after each
// step.
func TestOrderCountsFollowOrders(t *testing.T) {
	ctx := context.Background()
	f := newProvisioningFixture(t, true)
	child, err := f.st.CreateContainer(ctx, f.caller.Account.ID, f.caller.Account.RootContainerID, "Counted Division")
	if err != nil {
		t.Fatal(err)
	}

	var ids []int64
	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"orders placed", func(t *testing.T) {
			for range 3 {
				ids = append(ids, f.placeOrder(t, "email", OrderNeedsApproval, 0))
			}
			ids = append(ids, f.placeOrder(t, "email", OrderPending, 0))
		}},
		{"status changed", func(t *testing.T) {
			f.exec(t, `UPDATE orders SET status = ? WHERE id = ?`, OrderPending, ids[0])
			f.exec(t, `UPDATE orders SET status = ? WHERE id = ?`, OrderIssued, ids[3])
		}},
		{"moved to another container", func(t *testing.T) {
			f.exec(t, `UPDATE orders SET container_id = ? WHERE id = ?`, child.ID, ids[1])
		}},
		{"changed without its status", func(t *testing.T) {
			f.exec(t, `UPDATE orders SET cancel_note = 'noted' WHERE id = ?`, ids[2])
		}},
		{"status and container changed together", func(t *testing.T) {
			f.exec(t, `UPDATE orders SET status = ?, container_id = ? WHERE id = ?`, OrderCanceled, child.ID, ids[2])
		}},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			step.run(t)
			f.expectCountsMatchOrders(t)
		})
	}

	// A list filtered by status alone reads its total from order_counts.
	for _, status := range []string{OrderNeedsApproval, OrderPending, OrderIssued, OrderCanceled} {
		filter := OrderFilter{Status: status, Scope: &Scope{Containers: []int64{child.ID}}}
		_, total, err := f.st.ListOrders(ctx, f.caller.Account.ID, OrderListQuery{Filter: filter, Page: Page{Limit: 10}})
		if err != nil {
			t.Fatal(err)
		}
		var want int64
		if err := f.st.DB().QueryRow(`SELECT COUNT(*) FROM orders WHERE status = ? AND container_id = ?`, status, child.ID).Scan(&want); err != nil {
			t.Fatal(err)
		}
		if total != want {
			t.Errorf("status %s in container %d: page total %d, expected %d", status, child.ID, total, want)
		}
	}
}

func (f *provisioningFixture) exec(t *testing.T, query string, args ...any) {
	t.Helper()
	if _, err := f.st.DB().Exec(query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// expectCountsMatchOrders compares order_counts with a count of the orders
// by account, container and status.
func (f *provisioningFixture) expectCountsMatchOrders(t *testing.T) {
	t.Helper()
	actual := map[[3]any]int64{}
	read := func(query string, into map[[3]any]int64) {
		rows, err := f.st.DB().Query(query)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var account, container, n int64
			var status string
			if err := rows.Scan(&account, &container, &status, &n); err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				into[[3]any{account, container, status}] = n
			}
		}
	}
	read(`SELECT account_id, container_id, status, n FROM order_counts`, actual)
	expected := map[[3]any]int64{}
	read(`SELECT account_id, container_id, status, COUNT(*) FROM orders GROUP BY account_id, container_id, status`, expected)

	if len(actual) != len(expected) {
		t.Errorf("order_counts = %v, expected %v", actual, expected)
	}
	for key, n := range expected {
		if actual[key] != n {
			t.Errorf("order_counts%v = %d, expected %d", key, actual[key], n)
		}
	}
}
