package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docsign-ca/docsign-ca/internal/store"
)

// auditLines runs audit export and decodes its JSON lines.
func auditLines(t *testing.T, s *server) []map[string]any {
	t.Helper()
	var rows []map[string]any
	scanner := bufio.NewScanner(strings.NewReader(s.cli("audit", "export")))
	scanner.Buffer(make([]byte, 1<<20), 1<<20)
	for scanner.Scan() {
		var row map[string]any
		if err := json.Unmarshal(scanner.Bytes(), &row); err != nil {
			t.Fatalf("export line %q: %v", scanner.Text(), err)
		}
		rows = append(rows, row)
	}
	return rows
}

func TestAuditLogOfAnOrder(t *testing.T) {
	s := startServer(t)
	orgID := createValidatedOrganization(t, s, s.Key, "Audited Order Inc")

	resp := s.do("POST", dsOrgPath, s.Key, emailOrder(orgID, csrPEM(t, testRSAKey(t))))
	if resp.Status != http.StatusCreated {
		t.Fatalf("place order: %d %s", resp.Status, resp.Body)
	}
	placedRequestID := resp.Header.Get("X-Request-Id")
	placed := resp.JSON(t)
	orderID := idOf(t, placed["id"])
	approve(t, s, s.Key, idOf(t, placed["requests"].([]any)[0].(map[string]any)["id"]))
	waitForStatus(t, s, s.Key, orderID, "issued")

	seen := map[string]map[string]any{}
	for _, row := range auditLines(t, s) {
		seen[row["type"].(string)] = row
	}
	for _, typ := range []string{
		store.AuditServerStarted, store.AuditCAKeyLoaded, store.AuditAccountCreated, store.AuditAPIKeyCreated,
		store.AuditValidationCompleted, store.AuditOrderPlaced, store.AuditRequestApproved,
		store.AuditIssuanceIntent, store.AuditCertificateIssued,
	} {
		if seen[typ] == nil {
			t.Errorf("no %s row in the audit log", typ)
		}
	}

	order := seen[store.AuditOrderPlaced]
	if order["source"] != store.AuditSourceAPI || order["http_request_id"] != placedRequestID || order["order_id"] != float64(orderID) {
		t.Errorf("order.placed row %v; want source api, http_request_id %s (the response's X-Request-Id) and order %d",
			order, placedRequestID, orderID)
	}
	if validation := seen[store.AuditValidationCompleted]; validation["source"] != store.AuditSourceOperator {
		t.Errorf("validation.completed row %v; want source operator", validation)
	}

	listed := s.cli("certificates", "list", "--json", "--order", fmt.Sprint(orderID))
	issued := seen[store.AuditCertificateIssued]["data"].(map[string]any)
	if !strings.Contains(listed, fmt.Sprint(issued["serial"])) {
		t.Errorf("certificate.issued names serial %v, which certificates list does not show:\n%s", issued["serial"], listed)
	}
}

func TestAuditVerifyReportsTampering(t *testing.T) {
	s := startServer(t)
	createValidatedOrganization(t, s, s.Key, "Tampered Log Inc")
	s.stop()

	out := s.cli("audit", "verify")
	if !strings.Contains(out, "audit log intact") {
		t.Fatalf("audit verify on a fresh log: %s", out)
	}
	anchor := strings.Fields(out[strings.Index(out, "keep the anchor ")+len("keep the anchor "):])[0]

	// Someone with write access to the database file renames the first
	// account in its audit row.
	st := openStore(t, s.DataDir)
	var edited int64
	if err := st.DB().QueryRow(`SELECT id FROM audit_log WHERE type = ?`, store.AuditAccountCreated).Scan(&edited); err != nil {
		t.Fatal(err)
	}
	dropTrigger := `DROP TRIGGER audit_log_no_update`
	if st.Postgres() {
		dropTrigger += ` ON audit_log`
	}
	for _, statement := range []string{
		dropTrigger,
		fmt.Sprintf(`UPDATE audit_log SET data = replace(data, '"Default"', '"Other"') WHERE id = %d`, edited),
	} {
		if _, err := st.DB().Exec(statement); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()

	want := fmt.Sprintf("broken at row %d", edited)
	cases := []struct {
		name string
		args []string
	}{
		{"chain", []string{"audit", "verify"}},
		{"anchor", []string{"audit", "verify", "--anchor", anchor}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cmd := docsignCommand(t, s.DataDir, append(tc.args, "--data-dir", s.DataDir)...)
			output, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("audit verify exited 0 on a tampered log:\n%s", output)
			}
			if !strings.Contains(string(output), want) {
				t.Errorf("output does not contain %q:\n%s", want, output)
			}
		})
	}

	missing := exec.Command(binary, "audit", "verify", "--data-dir", filepath.Join(t.TempDir(), "mistyped"))
	if output, err := missing.CombinedOutput(); err == nil || !strings.Contains(string(output), "no database") {
		t.Errorf("audit verify on a missing data directory: %v\n%s", err, output)
	}
}
