package store

import "testing"

func TestOrderCountFromJoinsOnlyWhatWhereReads(t *testing.T) {
	cases := []struct {
		where    string
		expected string
	}{
		{" WHERE o.account_id = ? AND o.status = ?", " FROM orders o"},
		{" WHERE o.account_id = ? AND org.name LIKE ?", " FROM orders o JOIN organizations org ON org.id = o.organization_id"},
		{" WHERE o.account_id = ? AND EXISTS (SELECT 1 FROM certificates cs WHERE cs.order_id = o.id)", " FROM orders o"},
		{" WHERE u.email = ?", " FROM orders o JOIN users u ON u.id = o.user_id"},
	}
	for _, tc := range cases {
		if got := orderCountFrom(tc.where); got != tc.expected {
			t.Errorf("orderCountFrom(%q) = %q, expected %q", tc.where, got, tc.expected)
		}
	}
	if got := orderCountFrom(" WHERE c.valid_till IS NOT NULL"); got == " FROM orders o" {
		t.Error("a condition on c.valid_till did not join the certificate")
	}
}
