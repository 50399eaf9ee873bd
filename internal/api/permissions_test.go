package api

import (
	"io"
	"log/slog"
	"testing"

	"github.com/docsign-ca/docsign-ca/internal/order"
)

// TestEveryRouteHasAction fails when a route is registered without an
// entry in routeActions, or an entry names an action missing from
// order.PermissionTable.
func TestEveryRouteHasAction(t *testing.T) {
	s := New(nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	registered := map[string]bool{}
	for _, pattern := range s.Routes() {
		registered[pattern] = true
		action, ok := routeActions[pattern]
		if !ok {
			t.Errorf("route %q has no entry in routeActions; add the action of order.PermissionTable it performs", pattern)
			continue
		}
		if action == actionPublic {
			continue
		}
		if _, ok := order.PermissionFor(action); !ok {
			t.Errorf("route %q maps to action %q, which order.PermissionTable does not list", pattern, action)
		}
	}
	for pattern := range routeActions {
		if !registered[pattern] {
			t.Errorf("routeActions lists %q, which the server does not register", pattern)
		}
	}
}
