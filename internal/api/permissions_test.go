package api

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/docsign-ca/docsign-ca/internal/order"
	"github.com/docsign-ca/docsign-ca/internal/store"
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

// TestRoutePermissionMatrix calls every authenticated route with a key of
// every role and key restriction. Where order.PermissionTable denies the
// route's action, the response must be 403 access_denied|missing_permission;
// where it allows it, the response may be anything else (the handler may
// still reject the empty request).
func TestRoutePermissionMatrix(t *testing.T) {
	ts := newTestServer(t, func(*Server) {})
	ctx := context.Background()
	admin, err := ts.store.CallerByKeyHash(ctx, HashAPIKey(ts.apiKey))
	if err != nil {
		t.Fatal(err)
	}

	type principal struct {
		role        string
		restriction int
		key         string
	}
	var principals []principal
	for _, role := range order.Roles {
		u, err := ts.store.CreateUser(ctx, admin.Account.ID, store.User{
			ContainerID: admin.User.ContainerID, Username: "matrix-" + role,
			FirstName: "Matrix", LastName: role, Email: role + "@example.com", Role: role,
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, restriction := range order.KeyRestrictions {
			key, hash, prefix, err := order.NewAPIKeySecret()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := ts.store.CreateAPIKey(ctx, store.NewAPIKey{
				AccountID: admin.Account.ID, UserID: u.ID, Hash: hash, Prefix: prefix, Restriction: restriction,
			}); err != nil {
				t.Fatal(err)
			}
			principals = append(principals, principal{role, restriction, key})
		}
	}

	for _, pattern := range ts.api.Routes() {
		action := routeActions[pattern]
		if action == actionPublic || strings.HasPrefix(pattern, "GET /test/") {
			continue
		}
		method, path, _ := strings.Cut(pattern, " ")
		if pattern == "GET /services/v2/user/{id}" {
			// Reading another user is checked as user.view inside the
			// handler; the route's own action is reading one's record.
			path = strings.Replace(path, "{id}", "me", 1)
		}
		path = strings.NewReplacer("{id}", "999999", "{format}", "pem_all", "{name_id}", "document_signing_org_1").Replace(path)

		for _, p := range principals {
			want := order.Allowed(p.role, p.restriction, action)
			t.Run(fmt.Sprintf("%s as %s key %d", pattern, p.role, p.restriction), func(t *testing.T) {
				denied := callDenied(t, ts, method, path, p.key)
				if denied == want {
					t.Errorf("%s: missing_permission = %v, but the table allows = %v for action %s", pattern, denied, want, action)
				}
			})
		}
	}
}

// callDenied sends an empty JSON body and reports whether the response was
// 403 access_denied|missing_permission.
func callDenied(t *testing.T, ts *testServer, method, path, key string) bool {
	t.Helper()
	req, err := http.NewRequest(method, ts.http.URL+path, strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-DC-DEVKEY", key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := ts.http.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode == http.StatusForbidden && strings.Contains(string(body), "access_denied|missing_permission")
}
