package order

import (
	"os"
	"strings"
	"testing"

	"github.com/docsign-ca/docsign-ca/internal/store"
)

// TestPermissionsDoc fails when docs/permissions.md does not contain the
// tables that PermissionsMarkdown renders from PermissionTable.
func TestPermissionsDoc(t *testing.T) {
	raw, err := os.ReadFile("../../docs/permissions.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range strings.Split(PermissionsMarkdown(), "\n\n") {
		if !strings.Contains(string(raw), table) {
			t.Errorf("docs/permissions.md does not contain this table of PermissionTable; replace the outdated table with:\n%s", table)
		}
	}
}

func TestPermissionTableRows(t *testing.T) {
	seen := map[Action]bool{}
	for _, p := range PermissionTable {
		if seen[p.Action] {
			t.Errorf("action %s has more than one row", p.Action)
		}
		seen[p.Action] = true
		if len(p.Roles) == 0 {
			t.Errorf("action %s allows no role", p.Action)
		}
		for _, id := range p.Restrictions {
			if !ValidKeyRestriction(id) || id == KeyRestrictionNone {
				t.Errorf("action %s names key restriction %d, which is not a CertCentral restriction", p.Action, id)
			}
		}
	}
}

func TestAllowed(t *testing.T) {
	tests := []struct {
		name        string
		role        string
		restriction int
		action      Action
		want        bool
	}{
		{"administrator decides requests", store.RoleAdministrator, KeyRestrictionNone, ActionRequestDecide, true},
		{"manager may not decide requests", store.RoleManager, KeyRestrictionNone, ActionRequestDecide, false},
		{"standard user places orders", store.RoleStandardUser, KeyRestrictionNone, ActionOrderPlace, true},
		{"finance manager may not place orders", store.RoleFinanceManager, KeyRestrictionNone, ActionOrderPlace, false},
		{"view-only key may not place orders", store.RoleAdministrator, KeyRestrictionViewOnly, ActionOrderPlace, false},
		{"view-only key reads orders", store.RoleAdministrator, KeyRestrictionViewOnly, ActionOrderView, true},
		{"orders key may not add organizations", store.RoleAdministrator, KeyRestrictionOrders, ActionOrganizationEdit, false},
		{"organizations key adds organizations", store.RoleAdministrator, KeyRestrictionOrdersDomainsOrganizations, ActionOrganizationEdit, true},
		{"user management key may not place orders", store.RoleAdministrator, KeyRestrictionUserManagement, ActionOrderPlace, false},
		{"user management key adds users", store.RoleManager, KeyRestrictionUserManagement, ActionUserManage, true},
		{"restriction never widens a role", store.RoleStandardUser, KeyRestrictionUserManagement, ActionUserManage, false},
		{"unknown action is denied", store.RoleAdministrator, KeyRestrictionNone, Action("nothing"), false},
		{"unknown role is denied", "owner", KeyRestrictionNone, ActionAccountView, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Allowed(tt.role, tt.restriction, tt.action); got != tt.want {
				t.Errorf("Allowed(%s, %d, %s) = %v, want %v", tt.role, tt.restriction, tt.action, got, tt.want)
			}
		})
	}
}
