package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/store"
)

// This file checks container scoping over HTTP: a caller sees orders,
// requests, certificates and organizations of its container subtree only,
// a limited user sees only its own orders, and objects outside the scope
// are 404 and missing from lists. It also covers the API key lifecycle and
// the keys create operator command.

// scopeWorld is one account with two sibling containers, alpha and bravo,
// below the root. Each has a manager with an organization and an issued
// order. Alpha also has a limited user with one order of its own, and the
// root has an organization of its own.
type scopeWorld struct {
	s          *server
	root       int64
	containers map[string]int64 // alpha, bravo
	users      map[string]int64 // managerA, managerB, limitedA
	keys       map[string]string
	orgs       map[string]int64 // alpha, bravo, root
	orders     map[string]int64 // alpha, bravo, limited
	requests   map[string]int64
	certs      map[string]int64
}

func newScopeWorld(t *testing.T) *scopeWorld {
	t.Helper()
	s := startServer(t)
	w := &scopeWorld{
		s: s, containers: map[string]int64{}, users: map[string]int64{}, keys: map[string]string{"admin": s.Key},
		orgs: map[string]int64{}, orders: map[string]int64{}, requests: map[string]int64{}, certs: map[string]int64{},
	}
	me := s.do("GET", "/services/v2/user/me", s.Key, nil).JSON(t)
	w.root = idOf(t, me["container"].(map[string]any)["id"])

	for _, name := range []string{"alpha", "bravo"} {
		resp := s.do("POST", "/services/v2/container", s.Key, map[string]any{"name": "Scope " + name, "parent_id": w.root})
		if resp.Status != http.StatusCreated {
			t.Fatalf("create container %s: %d %s", name, resp.Status, resp.Body)
		}
		w.containers[name] = idOf(t, resp.JSON(t)["id"])
	}
	w.addUser(t, "managerA", "alpha", "manager")
	w.addUser(t, "managerB", "bravo", "manager")
	w.addUser(t, "limitedA", "alpha", "limited_user")

	w.orgs["root"] = createValidatedOrganization(t, s, s.Key, "Root Scope Holding Inc")
	w.orgs["alpha"] = createValidatedOrganization(t, s, w.keys["managerA"], "Alpha Scope Works Ltd")
	w.orgs["bravo"] = createValidatedOrganization(t, s, w.keys["managerB"], "Bravo Scope Works Ltd")

	w.placeIssued(t, "alpha", "managerA", w.orgs["alpha"])
	w.placeIssued(t, "bravo", "managerB", w.orgs["bravo"])
	w.placeIssued(t, "limited", "limitedA", w.orgs["alpha"])
	return w
}

// addUser adds a user through POST user and gives it a key with the
// keys create command.
func (w *scopeWorld) addUser(t *testing.T, name, container, role string) {
	t.Helper()
	resp := w.s.do("POST", "/services/v2/user", w.s.Key, map[string]any{
		"username": "scope-" + strings.ToLower(name), "first_name": name, "last_name": "Scope",
		"email": strings.ToLower(name) + "@example.com", "container": map[string]any{"id": w.containers[container]},
		"access_roles": []any{map[string]any{"name": role}},
	})
	if resp.Status != http.StatusCreated {
		t.Fatalf("create user %s: %d %s", name, resp.Status, resp.Body)
	}
	w.users[name] = idOf(t, resp.JSON(t)["id"])
	w.keys[name] = createUserKey(t, w.s, "--user", fmt.Sprint(w.users[name]))
}

// placeIssued places an order as user, has the administrator approve it and
// waits until it is issued.
func (w *scopeWorld) placeIssued(t *testing.T, name, user string, orgID int64) {
	t.Helper()
	placed := placeOrder(t, w.s, w.keys[user], emailOrder(orgID, csrPEM(t, testRSAKey(t))))
	w.orders[name] = idOf(t, placed["id"])
	w.requests[name] = idOf(t, placed["requests"].([]any)[0].(map[string]any)["id"])
	approve(t, w.s, w.s.Key, w.requests[name])
	info := waitForStatus(t, w.s, w.s.Key, w.orders[name], "issued")
	w.certs[name] = idOf(t, info["certificate"].(map[string]any)["id"])
}

// createUserKey runs keys create and returns the key it printed.
func createUserKey(t *testing.T, s *server, args ...string) string {
	t.Helper()
	stdout, stderr, err := runKeysCreate(s, args...)
	if err != nil {
		t.Fatalf("keys create %v: %v\n%s", args, err, stderr)
	}
	return strings.TrimSpace(stdout)
}

// runKeysCreate runs docsign-ca keys create on the server's data directory
// and returns its standard output and standard error apart.
func runKeysCreate(s *server, args ...string) (string, string, error) {
	cmd := docsignCommand(s.t, s.DataDir, append(append([]string{"keys", "create"}, args...), "--data-dir", s.DataDir)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// listIDs reads the ids and page total of a list response.
func listIDs(t *testing.T, resp *response, field string) ([]int64, int64) {
	t.Helper()
	if resp.Status != http.StatusOK {
		t.Fatalf("list %s: %d %s", field, resp.Status, resp.Body)
	}
	body := resp.JSON(t)
	var ids []int64
	for _, item := range body[field].([]any) {
		ids = append(ids, idOf(t, item.(map[string]any)["id"]))
	}
	slices.Sort(ids)
	return ids, idOf(t, body["page"].(map[string]any)["total"])
}

func sortedIDs(ids ...int64) []int64 {
	return slices.Sorted(slices.Values(ids))
}

func TestScopeHidesSiblingObjects(t *testing.T) {
	t.Parallel()
	w := newScopeWorld(t)
	key := w.keys["managerA"]
	cases := []struct {
		name, method, path string
		body               any
		code               string
	}{
		{"order info", "GET", fmt.Sprintf("/services/v2/order/certificate/%d", w.orders["bravo"]), nil, "not_found|order"},
		{"order validation", "GET", fmt.Sprintf("/services/v2/order/certificate/%d/validation", w.orders["bravo"]), nil, "not_found|order"},
		{"order cancel", "PUT", fmt.Sprintf("/services/v2/order/certificate/%d/status", w.orders["bravo"]),
			map[string]any{"status": "canceled", "note": "not ours"}, "not_found|order"},
		{"order revoke", "PUT", fmt.Sprintf("/services/v2/order/certificate/%d/revoke", w.orders["bravo"]),
			map[string]any{"comments": "not ours"}, "not_found|order"},
		{"certificate download", "GET", fmt.Sprintf("/services/v2/certificate/%d/download/format/pem_all", w.certs["bravo"]), nil, "not_found|certificate"},
		{"certificate download by order", "GET", fmt.Sprintf("/services/v2/certificate/download/order/%d/format/pem_all", w.orders["bravo"]), nil, "not_found|order"},
		{"certificate revoke", "PUT", fmt.Sprintf("/services/v2/certificate/%d/revoke", w.certs["bravo"]),
			map[string]any{"comments": "not ours"}, "not_found|certificate"},
		{"request info", "GET", fmt.Sprintf("/services/v2/request/%d", w.requests["bravo"]), nil, "not_found|request"},
		{"organization info", "GET", fmt.Sprintf("/services/v2/organization/%d", w.orgs["bravo"]), nil, "not_found|organization"},
		{"organization validation", "GET", fmt.Sprintf("/services/v2/organization/%d/validation", w.orgs["bravo"]), nil, "not_found|organization"},
		{"organization validation submit", "POST", fmt.Sprintf("/services/v2/organization/%d/validation", w.orgs["bravo"]),
			map[string]any{"validations": []any{map[string]any{"type": "ds"}}}, "not_found|organization"},
		{"container organizations", "GET", fmt.Sprintf("/services/v2/container/%d/order/organization", w.containers["bravo"]), nil, "not_found|container"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := w.s.forTest(t).do(tc.method, tc.path, key, tc.body)
			if resp.Status != http.StatusNotFound {
				t.Fatalf("status %d, expected 404: %s", resp.Status, resp.Body)
			}
			expectCodes(t, resp, tc.code)
		})
	}
}

func TestScopeListsAndTotals(t *testing.T) {
	t.Parallel()
	w := newScopeWorld(t)
	cases := []struct {
		name, path, field, key string
		expected               []int64
	}{
		{"manager orders", "/services/v2/order/certificate", "orders", "managerA", sortedIDs(w.orders["alpha"], w.orders["limited"])},
		{"manager orders filtered by sibling order id", fmt.Sprintf("/services/v2/order/certificate?filters[id]=%d", w.orders["bravo"]), "orders", "managerA", nil},
		{"manager orders on one page of one", "/services/v2/order/certificate?limit=1", "orders", "managerA", []int64{w.orders["alpha"]}},
		{"manager requests", "/services/v2/request", "requests", "managerA", sortedIDs(w.requests["alpha"], w.requests["limited"])},
		{"manager organizations include the root's", "/services/v2/organization", "organizations", "managerA", sortedIDs(w.orgs["alpha"], w.orgs["root"])},
		{"sibling manager orders", "/services/v2/order/certificate", "orders", "managerB", []int64{w.orders["bravo"]}},
		{"administrator orders", "/services/v2/order/certificate", "orders", "admin", sortedIDs(w.orders["alpha"], w.orders["bravo"], w.orders["limited"])},
		{"administrator requests", "/services/v2/request", "requests", "admin", sortedIDs(w.requests["alpha"], w.requests["bravo"], w.requests["limited"])},
		{"administrator organizations", "/services/v2/organization", "organizations", "admin", sortedIDs(w.orgs["alpha"], w.orgs["bravo"], w.orgs["root"])},
	}
	totals := map[string]int64{
		"manager orders on one page of one": 2,
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ids, total := listIDs(t, w.s.forTest(t).do("GET", tc.path, w.keys[tc.key], nil), tc.field)
			if !slices.Equal(ids, tc.expected) {
				t.Errorf("ids %v, expected %v", ids, tc.expected)
			}
			expectedTotal, paged := totals[tc.name]
			if !paged {
				expectedTotal = int64(len(tc.expected))
			}
			if total != expectedTotal {
				t.Errorf("page total %d, expected %d", total, expectedTotal)
			}
		})
	}

	t.Run("status changes", func(t *testing.T) {
		resp := w.s.forTest(t).do("GET", "/services/v2/order/certificate/status-changes?minutes=60", w.keys["managerB"], nil)
		if resp.Status != http.StatusOK {
			t.Fatalf("status changes: %d %s", resp.Status, resp.Body)
		}
		changes, _ := resp.JSON(t)["orders"].([]any)
		if len(changes) == 0 {
			t.Fatalf("no status changes, expected those of order %d", w.orders["bravo"])
		}
		for _, c := range changes {
			if id := idOf(t, c.(map[string]any)["order_id"]); id != w.orders["bravo"] {
				t.Errorf("status change of order %d, expected only order %d", id, w.orders["bravo"])
			}
		}
	})
}

func TestScopeAdministratorAtRootSeesBoth(t *testing.T) {
	t.Parallel()
	w := newScopeWorld(t)
	for _, name := range []string{"alpha", "bravo"} {
		t.Run(name, func(t *testing.T) {
			s := w.s.forTest(t)
			paths := []string{
				fmt.Sprintf("/services/v2/order/certificate/%d", w.orders[name]),
				fmt.Sprintf("/services/v2/request/%d", w.requests[name]),
				fmt.Sprintf("/services/v2/organization/%d", w.orgs[name]),
				fmt.Sprintf("/services/v2/certificate/%d/download/format/pem_all", w.certs[name]),
			}
			for _, path := range paths {
				if resp := s.do("GET", path, w.s.Key, nil); resp.Status != http.StatusOK {
					t.Errorf("GET %s: status %d, expected 200: %s", path, resp.Status, resp.Body)
				}
			}
		})
	}
}

func TestScopeLimitedUserSeesOwnOrders(t *testing.T) {
	t.Parallel()
	w := newScopeWorld(t)
	key := w.keys["limitedA"]

	t.Run("order list", func(t *testing.T) {
		ids, total := listIDs(t, w.s.forTest(t).do("GET", "/services/v2/order/certificate", key, nil), "orders")
		if !slices.Equal(ids, []int64{w.orders["limited"]}) || total != 1 {
			t.Errorf("orders %v total %d, expected only %d", ids, total, w.orders["limited"])
		}
	})
	t.Run("request list", func(t *testing.T) {
		ids, total := listIDs(t, w.s.forTest(t).do("GET", "/services/v2/request", key, nil), "requests")
		if !slices.Equal(ids, []int64{w.requests["limited"]}) || total != 1 {
			t.Errorf("requests %v total %d, expected only %d", ids, total, w.requests["limited"])
		}
	})
	t.Run("own order", func(t *testing.T) {
		path := fmt.Sprintf("/services/v2/certificate/%d/download/format/pem_all", w.certs["limited"])
		if resp := w.s.forTest(t).do("GET", path, key, nil); resp.Status != http.StatusOK {
			t.Errorf("download own certificate: status %d: %s", resp.Status, resp.Body)
		}
	})

	cases := []struct {
		name, path, code string
	}{
		{"order of its manager", fmt.Sprintf("/services/v2/order/certificate/%d", w.orders["alpha"]), "not_found|order"},
		{"request of its manager", fmt.Sprintf("/services/v2/request/%d", w.requests["alpha"]), "not_found|request"},
		{"certificate of its manager", fmt.Sprintf("/services/v2/certificate/%d/download/format/pem_all", w.certs["alpha"]), "not_found|certificate"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := w.s.forTest(t).do("GET", tc.path, key, nil)
			if resp.Status != http.StatusNotFound {
				t.Fatalf("status %d, expected 404: %s", resp.Status, resp.Body)
			}
			expectCodes(t, resp, tc.code)
		})
	}
}

func TestScopeOrderPlacementRules(t *testing.T) {
	t.Parallel()
	w := newScopeWorld(t)
	withField := func(field string, value any) map[string]any {
		body := emailOrder(w.orgs["alpha"], csrPEM(t, testRSAKey(t)))
		body[field] = value
		return body
	}
	cases := []struct {
		name   string
		key    string
		body   map[string]any
		status int
		code   string
	}{
		{"container of a sibling", "managerA", withField("container", map[string]any{"id": w.containers["bravo"]}),
			http.StatusBadRequest, "invalid_value:container.id"},
		{"organization of a sibling", "managerA", emailOrder(w.orgs["bravo"], csrPEM(t, testRSAKey(t))),
			http.StatusBadRequest, "invalid_value:organization.id"},
		{"assignment of a sibling's user", "managerA", withField("user_id_assignments", []any{w.users["managerB"]}),
			http.StatusBadRequest, "invalid_value:user_id_assignments[0]"},
		{"assignment of a user of the container", "managerA", withField("user_id_assignments", []any{w.users["limitedA"]}),
			http.StatusCreated, ""},
		{"organization of the root container", "managerA", emailOrder(w.orgs["root"], csrPEM(t, testRSAKey(t))),
			http.StatusCreated, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := w.s.forTest(t).do("POST", dsOrgPath, w.keys[tc.key], tc.body)
			if resp.Status != tc.status {
				t.Fatalf("status %d, expected %d: %s", resp.Status, tc.status, resp.Body)
			}
			if tc.code != "" {
				expectCodes(t, resp, tc.code)
			}
		})
	}

	t.Run("administrator places into a child container", func(t *testing.T) {
		s := w.s.forTest(t)
		placed := placeOrder(t, s, s.Key, withField("container", map[string]any{"id": w.containers["alpha"]}))
		path := fmt.Sprintf("/services/v2/order/certificate/%d", idOf(t, placed["id"]))
		if resp := s.do("GET", path, w.keys["managerA"], nil); resp.Status != http.StatusOK {
			t.Errorf("manager of the container: status %d, expected 200", resp.Status)
		}
		if resp := s.do("GET", path, w.keys["managerB"], nil); resp.Status != http.StatusNotFound {
			t.Errorf("manager of the sibling: status %d, expected 404", resp.Status)
		}
	})
	t.Run("order goes to the caller's container", func(t *testing.T) {
		s := w.s.forTest(t)
		placed := placeOrder(t, s, w.keys["managerB"], emailOrder(w.orgs["bravo"], csrPEM(t, testRSAKey(t))))
		info := s.do("GET", fmt.Sprintf("/services/v2/order/certificate/%d", idOf(t, placed["id"])), s.Key, nil).JSON(t)
		if got := idOf(t, info["container"].(map[string]any)["id"]); got != w.containers["bravo"] {
			t.Errorf("container %d, expected the caller's container %d", got, w.containers["bravo"])
		}
	})
}

func TestStandardUserOrderNeedsApproval(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	// The account skips approval for administrators, so the standard
	// user's order waiting for approval is the role's rule, not the policy.
	adminKey := createAccountKey(t, s, "--name", "Approval Rule Account", "--approval-policy", "skip_for_administrators")
	orgID := createValidatedOrganization(t, s, adminKey, "Approval Rule Works Inc")
	me := s.do("GET", "/services/v2/user/me", adminKey, nil).JSON(t)
	resp := s.do("POST", "/services/v2/user", adminKey, map[string]any{
		"username": "approval-rule-standard", "first_name": "Sam", "last_name": "Standard", "email": "sam@example.com",
		"container": map[string]any{"id": me["container"].(map[string]any)["id"]}, "access_roles": []any{map[string]any{"id": 5}},
	})
	if resp.Status != http.StatusCreated {
		t.Fatalf("create standard user: %d %s", resp.Status, resp.Body)
	}
	standardKey := createUserKey(t, s, "--user", fmt.Sprint(idOf(t, resp.JSON(t)["id"])))

	cases := []struct {
		name         string
		key          string
		skipApproval bool
		status       int
		orderStatus  string
	}{
		{"administrator under the policy", adminKey, false, http.StatusCreated, "issued"},
		{"standard user", standardKey, false, http.StatusCreated, "needs_approval"},
		{"standard user with skip_approval", standardKey, true, http.StatusForbidden, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := s.forTest(t)
			body := emailOrder(orgID, csrPEM(t, testRSAKey(t)))
			if tc.skipApproval {
				body["skip_approval"] = true
			}
			resp := s.do("POST", dsOrgPath, tc.key, body)
			if resp.Status != tc.status {
				t.Fatalf("status %d, expected %d: %s", resp.Status, tc.status, resp.Body)
			}
			if tc.orderStatus == "" {
				expectCodes(t, resp, "access_denied|missing_permission")
				return
			}
			waitForStatus(t, s, adminKey, idOf(t, resp.JSON(t)["id"]), tc.orderStatus)
		})
	}
}

// setKeyExpiry moves an API key's expiry in the server's database, so that
// a test can expire a key without waiting.
func setKeyExpiry(t *testing.T, s *server, keyID int64, at time.Time) {
	t.Helper()
	st, err := openDataDirStore(s.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.DB().Exec(`UPDATE api_keys SET expires_at = ? WHERE id = ?`, at.UTC().Format(time.RFC3339), keyID); err != nil {
		t.Fatal(err)
	}
}

func TestAPIKeyLifecycle(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	create := func(t *testing.T, name string) (int64, string) {
		t.Helper()
		resp := s.do("POST", "/services/v2/key", s.Key, map[string]any{
			"name": name, "expires_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
		})
		if resp.Status != http.StatusCreated {
			t.Fatalf("create key: %d %s", resp.Status, resp.Body)
		}
		body := resp.JSON(t)
		return idOf(t, body["id"]), body["api_key"].(string)
	}
	status := func(key string) int {
		return s.do("GET", "/services/v2/user/me", key, nil).Status
	}
	// CertCentral, and so docsign-ca, rejects an invalid, expired or revoked
	// key with 403 access_denied|access_denied_invalid_key, not 401.
	expectInvalidKey := func(t *testing.T, key string) {
		t.Helper()
		resp := s.do("GET", "/services/v2/user/me", key, nil)
		if resp.Status != http.StatusForbidden {
			t.Fatalf("status %d, expected 403", resp.Status)
		}
		expectCodes(t, resp, "access_denied|access_denied_invalid_key")
	}

	keyID, key := create(t, "lifecycle")
	t.Run("new key authenticates", func(t *testing.T) {
		if got := status(key); got != http.StatusOK {
			t.Errorf("status %d, expected 200", got)
		}
	})
	t.Run("list shows the prefix only", func(t *testing.T) {
		resp := s.do("GET", "/services/v2/key", s.Key, nil)
		if bytes.Contains(resp.Body, []byte(key)) {
			t.Fatalf("key list contains the whole key")
		}
		var found map[string]any
		for _, k := range resp.JSON(t)["keys"].([]any) {
			if idOf(t, k.(map[string]any)["id"]) == keyID {
				found = k.(map[string]any)
			}
		}
		if found == nil || found["prefix"] != key[:8] {
			t.Errorf("key %d in list = %v, expected prefix %s", keyID, found, key[:8])
		}
	})
	t.Run("expired key is rejected", func(t *testing.T) {
		expiringID, expiring := create(t, "expiring")
		if got := status(expiring); got != http.StatusOK {
			t.Fatalf("before expiry: status %d, expected 200", got)
		}
		setKeyExpiry(t, s, expiringID, time.Now().Add(-time.Minute))
		expectInvalidKey(t, expiring)
	})
	t.Run("revoked key is rejected", func(t *testing.T) {
		if resp := s.do("DELETE", fmt.Sprintf("/services/v2/key/%d", keyID), s.Key, nil); resp.Status != http.StatusNoContent {
			t.Fatalf("revoke: %d %s", resp.Status, resp.Body)
		}
		expectInvalidKey(t, key)
	})
	t.Run("audit has api_key.revoked", func(t *testing.T) {
		for _, row := range auditLines(t, s) {
			data, _ := row["data"].(map[string]any)
			if row["type"] == store.AuditAPIKeyRevoked && data["api_key_id"] == float64(keyID) {
				return
			}
		}
		t.Errorf("no %s row for key %d in the audit log", store.AuditAPIKeyRevoked, keyID)
	})
}

var apiKeyPattern = regexp.MustCompile(`^[0-9a-f]{48}\n$`)

func TestKeysCreateCommand(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	me := s.do("GET", "/services/v2/user/me", s.Key, nil).JSON(t)
	adminID := fmt.Sprint(idOf(t, me["id"]))

	t.Run("view-only key", func(t *testing.T) {
		stdout, stderr, err := runKeysCreate(s, "--user", adminID, "--name", "cli key", "--restriction", "102",
			"--expires", time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
		if err != nil {
			t.Fatalf("keys create: %v\n%s", err, stderr)
		}
		if !apiKeyPattern.MatchString(stdout) {
			t.Fatalf("standard output %q is not one 48-digit hex key", stdout)
		}
		key := strings.TrimSpace(stdout)
		if strings.Contains(stderr, key) {
			t.Errorf("standard error repeats the key")
		}
		if got := s.do("GET", "/services/v2/organization", key, nil).Status; got != http.StatusOK {
			t.Errorf("read with the key: status %d, expected 200", got)
		}
		resp := s.do("POST", "/services/v2/organization", key, newOrganization("View Only Key Inc"))
		if resp.Status != http.StatusForbidden {
			t.Errorf("write with a view-only key: status %d, expected 403", resp.Status)
		}
	})
	t.Run("audited as the operator", func(t *testing.T) {
		found := false
		for _, row := range auditLines(t, s) {
			data, _ := row["data"].(map[string]any)
			if row["type"] == store.AuditAPIKeyCreated && row["source"] == store.AuditSourceOperator && data["restriction"] == float64(102) {
				found = true
			}
		}
		if !found {
			t.Errorf("no %s row with source %s and restriction 102", store.AuditAPIKeyCreated, store.AuditSourceOperator)
		}
	})

	rejected := []struct {
		name    string
		args    []string
		message string
	}{
		{"missing user", []string{}, "missing --user"},
		{"unknown user", []string{"--user", "999999"}, "user 999999 not found"},
		{"unknown restriction", []string{"--user", adminID, "--restriction", "7"}, "invalid --restriction 7"},
		{"expiry in the past", []string{"--user", adminID, "--expires", "2001-01-01T00:00:00Z"}, "not in the future"},
		{"expiry not RFC 3339", []string{"--user", adminID, "--expires", "tomorrow"}, "invalid --expires"},
	}
	for _, tc := range rejected {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, err := runKeysCreate(s, tc.args...)
			if err == nil {
				t.Fatalf("keys create %v succeeded, expected an error; output %q", tc.args, stdout)
			}
			if stdout != "" {
				t.Errorf("standard output %q, expected nothing", stdout)
			}
			if !strings.Contains(stderr, tc.message) {
				t.Errorf("error output %q does not contain %q", stderr, tc.message)
			}
		})
	}
}
