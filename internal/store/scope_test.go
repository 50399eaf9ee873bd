package store

import (
	"context"
	"slices"
	"testing"
)

func TestScopeAllows(t *testing.T) {
	manager := &Scope{Containers: []int64{2, 3}, OrganizationContainers: []int64{2, 3, 1}}
	limited := &Scope{Containers: []int64{2}, OrganizationContainers: []int64{2, 1}, OrderedBy: 7}
	cases := []struct {
		name                string
		scope               *Scope
		container, user     int64
		order, organization bool
	}{
		{"nil scope is the whole account", nil, 9, 9, true, true},
		{"container of the subtree", manager, 3, 9, true, true},
		{"container above is for organizations only", manager, 1, 9, false, true},
		{"sibling container", manager, 4, 9, false, false},
		{"limited user's own order", limited, 2, 7, true, true},
		{"order of another user", limited, 2, 8, false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.scope.AllowsOrder(tc.container, tc.user); got != tc.order {
				t.Errorf("AllowsOrder(%d, %d) = %v, expected %v", tc.container, tc.user, got, tc.order)
			}
			if got := tc.scope.AllowsOrganization(tc.container); got != tc.organization {
				t.Errorf("AllowsOrganization(%d) = %v, expected %v", tc.container, got, tc.organization)
			}
		})
	}
}

func TestScopeListConditions(t *testing.T) {
	f := newListFixture(t)
	ctx := context.Background()
	root := f.account.Account.RootContainerID
	all := len(f.orders) - 1 // every order but the other account's

	cases := []struct {
		name  string
		scope *Scope
		total int64
	}{
		{"nil scope lists the account", nil, int64(all)},
		{"root container lists the account", &Scope{Containers: []int64{root}}, int64(all)},
		{"other container lists nothing", &Scope{Containers: []int64{root + 1000}}, 0},
		{"empty container set lists nothing", &Scope{}, 0},
		{"orders of another user list nothing", &Scope{Containers: []int64{root}, OrderedBy: f.other.User.ID}, 0},
		{"orders of the user", &Scope{Containers: []int64{root}, OrderedBy: f.account.User.ID}, int64(all)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, total, err := f.st.ListOrders(ctx, f.account.Account.ID, OrderListQuery{Filter: OrderFilter{Scope: tc.scope}, Page: Page{Limit: 1}})
			if err != nil {
				t.Fatal(err)
			}
			if total != tc.total {
				t.Errorf("order total %d, expected %d", total, tc.total)
			}
			_, requests, err := f.st.ListRequests(ctx, f.account.Account.ID, RequestListQuery{Filter: RequestFilter{Scope: tc.scope}, Page: Page{Limit: 1}})
			if err != nil {
				t.Fatal(err)
			}
			if tc.total == 0 && requests != 0 {
				t.Errorf("request total %d, expected 0", requests)
			}
			changes, err := f.st.ListStatusChangesInScope(ctx, f.account.Account.ID, TimeRange{}, tc.scope)
			if err != nil {
				t.Fatal(err)
			}
			if tc.total == 0 && len(changes) != 0 {
				t.Errorf("%d status changes, expected none", len(changes))
			}
		})
	}
}

func TestContainerAncestors(t *testing.T) {
	f := newListFixture(t)
	ctx := context.Background()
	root := f.account.Account.RootContainerID
	child, err := f.st.CreateContainer(ctx, f.account.Account.ID, root, "child")
	if err != nil {
		t.Fatal(err)
	}
	grandchild, err := f.st.CreateContainer(ctx, f.account.Account.ID, child.ID, "grandchild")
	if err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name      string
		container int64
		expected  []int64
	}{
		{"root has none", root, nil},
		{"child", child.ID, []int64{root}},
		{"grandchild", grandchild.ID, []int64{root, child.ID}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := f.st.ContainerAncestors(ctx, tc.container)
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.expected) {
				t.Errorf("ancestors %v, expected %v", got, tc.expected)
			}
		})
	}
}
