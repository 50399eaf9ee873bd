package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"
)

// auditFixture is a store with one account, one issuing CA and one
// organization, ready for orders.
type auditFixture struct {
	st     *Store
	caller *Caller
	caID   int64
	orgID  int64
}

func newAuditFixture(t *testing.T) *auditFixture {
	t.Helper()
	ctx := context.Background()
	st := openTestStore(t, "audit.db")

	caller, err := st.CreateAccount(ctx, NewAccount{
		Name:  "Audit Tenant",
		Admin: User{Username: "audit-admin", FirstName: "Audit", LastName: "Administrator", Email: "audit@example.com"},
		// The store keeps whatever hash it is given; a real key is never needed here.
		KeyHash: []byte("hash-of-audit-key"), KeyPrefix: "audit-ke",
	})
	if err != nil {
		t.Fatal(err)
	}
	caID, err := st.InsertCA(ctx, CA{CACertID: "AUDITCA", Role: CAIntermediate, CommonName: "Audit CA", CertDER: []byte{1, 2, 3},
		KeyURI: "pkcs11:token=audit;object=issuing"})
	if err != nil {
		t.Fatal(err)
	}
	org, _, err := st.CreateOrganization(ctx, Organization{
		AccountID: caller.Account.ID, ContainerID: caller.Account.RootContainerID, Name: "Audit Org",
		Address: "1 Main St", City: "Richmond", State: "Virginia", Zip: "23219", Country: "US", NormalizedKey: "audit org",
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	return &auditFixture{st: st, caller: caller, caID: caID, orgID: org.ID}
}

func (f *auditFixture) placeOrder(t *testing.T, ctx context.Context) *CreatedOrder {
	t.Helper()
	created, err := f.st.CreateOrder(ctx, NewOrder{
		Order: Order{
			AccountID: f.caller.Account.ID, ContainerID: f.caller.Account.RootContainerID, OrganizationID: f.orgID,
			UserID: f.caller.User.ID, Status: OrderNeedsApproval, ProductNameID: "ds_org", ProvisioningMethod: "email",
			PublicKey: []byte("spki"), KeyType: "rsa", KeySize: 2048, SignatureHash: "sha256", CAID: f.caID,
			NotAfter: time.Now().AddDate(1, 0, 0), Details: json.RawMessage(`{}`),
		},
		RequestStatus: RequestPending,
	})
	if err != nil {
		t.Fatal(err)
	}
	return created
}

// auditRows returns every row of the audit log, oldest first.
func auditRows(t *testing.T, st *Store) []AuditRecord {
	t.Helper()
	var rows []AuditRecord
	err := st.EachAuditRecord(context.Background(), 0, func(r *AuditRecord) error {
		rows = append(rows, *r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func auditTypes(rows []AuditRecord) []string {
	types := make([]string, 0, len(rows))
	for _, r := range rows {
		types = append(types, r.Type)
	}
	return types
}

func auditDataOf(t *testing.T, r AuditRecord) map[string]any {
	t.Helper()
	var data map[string]any
	if err := json.Unmarshal(r.Data, &data); err != nil {
		t.Fatalf("row %d: data %s: %v", r.ID, r.Data, err)
	}
	return data
}

func expectIntact(t *testing.T, st *Store, anchors ...AuditAnchor) *AuditVerification {
	t.Helper()
	v, err := st.VerifyAudit(context.Background(), anchors...)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Intact() {
		t.Fatalf("audit chain broken at row %d: %s", v.BrokenAt, v.Problem)
	}
	return v
}

func TestAuditRecordsLifecycle(t *testing.T) {
	ctx := context.Background()
	f := newAuditFixture(t)
	apiCtx := WithAuditSource(ctx, AuditSourceAPI, "req-1")

	placed := f.placeOrder(t, apiCtx)
	if err := f.st.SubmitValidations(ctx, f.orgID, []string{"ds"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := f.st.CompleteValidation(WithAuditSource(ctx, AuditSourceOperator, ""), f.orgID, "ds", time.Now().AddDate(2, 0, 0)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.DecideRequest(apiCtx, f.caller.Account.ID, placed.RequestID, f.caller.User.ID, true, "ok"); err != nil {
		t.Fatal(err)
	}
	intentID, err := f.st.CreateIntent(ctx, Intent{CertificateID: placed.CertificateID, OrderID: placed.OrderID,
		SerialNumber: "0A1B", CAID: f.caID, TBS: []byte("tbs")})
	if err != nil {
		t.Fatal(err)
	}
	der := []byte("certificate der")
	if err := f.st.CompleteIssuance(ctx, IssuedCertificate{IntentID: intentID, CertificateID: placed.CertificateID,
		OrderID: placed.OrderID, AccountID: f.caller.Account.ID, CAID: f.caID, SerialNumber: "0A1B", Thumbprint: "THUMB",
		DER: der, ValidFrom: time.Now(), ValidTill: time.Now().AddDate(1, 0, 0)}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.RevokeNow(apiCtx, Revocation{AccountID: f.caller.Account.ID, CertificateID: placed.CertificateID,
		UserID: f.caller.User.ID, Reason: 1}); err != nil {
		t.Fatal(err)
	}

	rows := auditRows(t, f.st)
	want := []string{
		AuditAccountCreated, AuditAPIKeyCreated, AuditCACreated, AuditOrganizationAdded, AuditOrderPlaced,
		AuditValidationSubmitted, AuditValidationCompleted, AuditRequestApproved, AuditIssuanceIntent,
		AuditCertificateIssued, AuditCertificateRevoked,
	}
	if got := auditTypes(rows); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("audit types\n got %v\nwant %v", got, want)
	}

	byType := map[string]AuditRecord{}
	for _, r := range rows {
		byType[r.Type] = r
	}
	order := byType[AuditOrderPlaced]
	if order.Source != AuditSourceAPI || order.HTTPRequestID != "req-1" || order.OrderID != placed.OrderID ||
		order.AccountID != f.caller.Account.ID || order.UserID != f.caller.User.ID {
		t.Errorf("order.placed row = %+v; want source api, request req-1, order %d, account %d, user %d",
			order, placed.OrderID, f.caller.Account.ID, f.caller.User.ID)
	}
	if got := byType[AuditValidationCompleted]; got.Source != AuditSourceOperator || got.AccountID != f.caller.Account.ID {
		t.Errorf("validation.completed source %q account %d; want operator, account %d", got.Source, got.AccountID, f.caller.Account.ID)
	}
	if got := byType[AuditIssuanceIntent]; got.Source != AuditSourceServer || got.AccountID != f.caller.Account.ID {
		t.Errorf("issuance intent source %q account %d; want server (the default), account %d", got.Source, got.AccountID, f.caller.Account.ID)
	}

	issued := auditDataOf(t, byType[AuditCertificateIssued])
	sum := sha256.Sum256(der)
	if issued["serial"] != "0A1B" || issued["sha256"] != hex.EncodeToString(sum[:]) || issued["thumbprint"] != "THUMB" {
		t.Errorf("certificate.issued data %v; want serial 0A1B, sha256 %x, thumbprint THUMB", issued, sum)
	}
	if revoked := auditDataOf(t, byType[AuditCertificateRevoked]); revoked["serial"] != "0A1B" || revoked["reason"] != float64(1) {
		t.Errorf("certificate.revoked data %v; want serial 0A1B, reason 1", revoked)
	}

	expectIntact(t, f.st)
}

func TestAuditRowsNeverHoldKeyHash(t *testing.T) {
	f := newAuditFixture(t)
	for _, r := range auditRows(t, f.st) {
		if bytes.Contains(r.Data, []byte("hash-of-audit-key")) || bytes.Contains(r.Data, []byte(hex.EncodeToString([]byte("hash-of-audit-key")))) {
			t.Errorf("row %d (%s) contains the API key hash: %s", r.ID, r.Type, r.Data)
		}
	}
}

func TestAuditWrittenInSameTransaction(t *testing.T) {
	ctx := context.Background()
	f := newAuditFixture(t)
	placed := f.placeOrder(t, ctx)
	rowsBefore := len(auditRows(t, f.st))

	// A decision that loses (the request is decided already) changes
	// nothing and records nothing.
	if _, err := f.st.DecideRequest(ctx, f.caller.Account.ID, placed.RequestID, f.caller.User.ID, false, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.DecideRequest(ctx, f.caller.Account.ID, placed.RequestID, f.caller.User.ID, true, ""); err == nil {
		t.Fatal("a second decision on one request succeeded")
	}
	if got := len(auditRows(t, f.st)); got != rowsBefore+1 {
		t.Errorf("audit rows went from %d to %d; want one more (the rejection only)", rowsBefore, got)
	}

	// When the audit row cannot be written, the change it records is
	// rolled back with it.
	failAuditInserts(t, f.st)
	var orders int
	if err := f.st.DB().QueryRow(`SELECT COUNT(*) FROM orders`).Scan(&orders); err != nil {
		t.Fatal(err)
	}
	_, err := f.st.CreateOrder(ctx, NewOrder{Order: Order{
		AccountID: f.caller.Account.ID, ContainerID: f.caller.Account.RootContainerID, OrganizationID: f.orgID,
		UserID: f.caller.User.ID, Status: OrderNeedsApproval, ProductNameID: "ds_org", ProvisioningMethod: "email",
		KeyType: "rsa", KeySize: 2048, SignatureHash: "sha256", CAID: f.caID, NotAfter: time.Now(), Details: json.RawMessage(`{}`),
	}, RequestStatus: RequestPending})
	if err == nil || !strings.Contains(err.Error(), "audit disk full") {
		t.Fatalf("CreateOrder with a failing audit log: err = %v; want the audit failure", err)
	}
	var ordersAfter int
	if err := f.st.DB().QueryRow(`SELECT COUNT(*) FROM orders`).Scan(&ordersAfter); err != nil {
		t.Fatal(err)
	}
	if ordersAfter != orders {
		t.Errorf("orders went from %d to %d although the audit row failed", orders, ordersAfter)
	}
}

func TestAuditRowsAreAppendOnly(t *testing.T) {
	f := newAuditFixture(t)
	statements := map[string]string{
		"update": `UPDATE audit_log SET data = '{}' WHERE id = 1`,
		"delete": `DELETE FROM audit_log WHERE id = 1`,
	}
	for name, statement := range statements {
		t.Run(name, func(t *testing.T) {
			_, err := f.st.DB().Exec(statement)
			if err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Errorf("%s: err = %v; want the append-only trigger to abort it", statement, err)
			}
		})
	}
}

// tamper drops the append-only triggers, as someone with write access to
// the database file could, and runs the statements.
func tamper(t *testing.T, st *Store, statements ...string) {
	t.Helper()
	drop := []string{`DROP TRIGGER audit_log_no_update`, `DROP TRIGGER audit_log_no_delete`}
	if st.postgres {
		drop = []string{`DROP TRIGGER audit_log_no_update ON audit_log`, `DROP TRIGGER audit_log_no_delete ON audit_log`}
	}
	all := append(drop, statements...)
	for _, s := range all {
		if _, err := st.DB().Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// rewriteChain recomputes every hash after an edit, the way a careful
// forger would, so that only an anchor can tell.
func rewriteChain(t *testing.T, st *Store) {
	t.Helper()
	rows := auditRows(t, st)
	prev := auditGenesis
	for _, r := range rows {
		r.PrevHash = prev
		canonical, err := r.Canonical()
		if err != nil {
			t.Fatal(err)
		}
		r.Hash = auditHash(prev, canonical)
		if _, err := st.DB().Exec(`UPDATE audit_log SET prev_hash = ?, hash = ? WHERE id = ?`, r.PrevHash, r.Hash, r.ID); err != nil {
			t.Fatal(err)
		}
		prev = r.Hash
	}
}

func TestVerifyAuditFindsFirstBrokenLink(t *testing.T) {
	cases := []struct {
		name       string
		edit       func(t *testing.T, st *Store)
		anchor     func(rows []AuditRecord) []AuditAnchor
		brokenAt   int64
		wantInText string
	}{
		{
			name: "data edited",
			edit: func(t *testing.T, st *Store) {
				tamper(t, st, `UPDATE audit_log SET data = '{"name":"Other"}' WHERE id = 3`)
			},
			brokenAt:   3,
			wantInText: "does not match its contents",
		},
		{
			name: "spaces added to data",
			edit: func(t *testing.T, st *Store) {
				tamper(t, st, `UPDATE audit_log SET data = replace(data, ':', ': ') WHERE id = 2`)
			},
			brokenAt:   2,
			wantInText: "canonical JSON",
		},
		{
			name: "type edited",
			edit: func(t *testing.T, st *Store) {
				tamper(t, st, `UPDATE audit_log SET type = 'order.canceled' WHERE id = 4`)
			},
			brokenAt:   4,
			wantInText: "does not match its contents",
		},
		{
			name:       "middle row deleted",
			edit:       func(t *testing.T, st *Store) { tamper(t, st, `DELETE FROM audit_log WHERE id = 3`) },
			brokenAt:   4,
			wantInText: "not the hash of row 2",
		},
		{
			name:       "first row deleted",
			edit:       func(t *testing.T, st *Store) { tamper(t, st, `DELETE FROM audit_log WHERE id = 1`) },
			brokenAt:   2,
			wantInText: "rows before it were removed",
		},
		{
			name: "rows swapped",
			edit: func(t *testing.T, st *Store) {
				tamper(t, st, `UPDATE audit_log SET id = -1 WHERE id = 2`, `UPDATE audit_log SET id = 2 WHERE id = 3`, `UPDATE audit_log SET id = 3 WHERE id = -1`)
			},
			brokenAt:   2,
			wantInText: "not the hash of row 1",
		},
		{
			name: "chain rewritten, caught by an anchor",
			edit: func(t *testing.T, st *Store) {
				tamper(t, st, `UPDATE audit_log SET data = '{"name":"Other"}' WHERE id = 3`)
				rewriteChain(t, st)
			},
			anchor:     func(rows []AuditRecord) []AuditAnchor { return []AuditAnchor{{ID: 4, Hash: rows[3].Hash}} },
			brokenAt:   4,
			wantInText: "the anchor recorded",
		},
		{
			name:       "end cut off, caught by an anchor",
			edit:       func(t *testing.T, st *Store) { tamper(t, st, `DELETE FROM audit_log WHERE id >= 4`) },
			anchor:     func(rows []AuditRecord) []AuditAnchor { return []AuditAnchor{{ID: 5, Hash: rows[4].Hash}} },
			brokenAt:   5,
			wantInText: "removed from its end",
		},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newAuditFixture(t)
			f.placeOrder(t, context.Background())
			rows := auditRows(t, f.st)
			if len(rows) < 5 {
				t.Fatalf("fixture wrote %d audit rows; the cases need 5", len(rows))
			}
			var anchors []AuditAnchor
			if tc.anchor != nil {
				anchors = tc.anchor(rows)
			}
			expectIntact(t, f.st, anchors...)

			tc.edit(t, f.st)

			v, err := f.st.VerifyAudit(context.Background(), anchors...)
			if err != nil {
				t.Fatal(err)
			}
			if v.Intact() {
				t.Fatal("VerifyAudit reports an intact chain after the edit")
			}
			if v.BrokenAt != tc.brokenAt {
				t.Errorf("broken at row %d, want %d (%s)", v.BrokenAt, tc.brokenAt, v.Problem)
			}
			if !strings.Contains(v.Problem, tc.wantInText) {
				t.Errorf("problem %q does not contain %q", v.Problem, tc.wantInText)
			}
		})
	}
}

func TestVerifyAuditEmptyLog(t *testing.T) {
	st := openTestStore(t, "empty.db")

	v := expectIntact(t, st)
	if v.Rows != 0 || !bytes.Equal(v.HeadHash, make([]byte, 32)) {
		t.Errorf("empty log: %d rows, head %x; want 0 rows and 32 zero bytes", v.Rows, v.HeadHash)
	}
}

func TestAuditChainLinearWithConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	f := newAuditFixture(t)
	before := len(auditRows(t, f.st))

	// A second handle on the same file stands for an operator command
	// running beside the server.
	second := reopenTestStore(t, f.st)

	const writers, perWriter = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers*perWriter)
	for w := range writers {
		st := f.st
		if w%2 == 1 {
			st = second
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				errs <- st.RecordAudit(ctx, AuditEvent{Type: AuditPermissionDenied, Data: map[string]any{"writer": w, "i": i}})
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}

	v := expectIntact(t, f.st)
	if want := int64(before + writers*perWriter); v.Rows != want {
		t.Errorf("%d rows, want %d", v.Rows, want)
	}
}

func TestAuditExportLineHoldsCanonicalForm(t *testing.T) {
	f := newAuditFixture(t)
	f.placeOrder(t, WithAuditSource(context.Background(), AuditSourceAPI, "req-<&>"))

	prev := make([]byte, 32)
	for _, r := range auditRows(t, f.st) {
		line, err := r.ExportLine()
		if err != nil {
			t.Fatal(err)
		}
		var fields map[string]any
		if err := json.Unmarshal(line, &fields); err != nil {
			t.Fatalf("row %d: export line is not JSON: %v\n%s", r.ID, err, line)
		}
		if fields["hash"] != hex.EncodeToString(r.Hash) || fields["prev_hash"] != hex.EncodeToString(prev) {
			t.Errorf("row %d: export hashes %v %v; want %x %x", r.ID, fields["prev_hash"], fields["hash"], prev, r.Hash)
		}

		// The documented recipe: cut at ,"prev_hash": and close the brace.
		cut := bytes.LastIndex(line, []byte(`,"prev_hash":`))
		canonical := append(bytes.Clone(line[:cut]), '}')
		if got := auditHash(prev, canonical); !bytes.Equal(got, r.Hash) {
			t.Errorf("row %d: SHA-256(prev_hash || canonical from the export line) = %x, stored %x", r.ID, got, r.Hash)
		}
		prev = r.Hash
	}
}

func TestAuditDataNeedsType(t *testing.T) {
	f := newAuditFixture(t)
	err := f.st.RecordAudit(context.Background(), AuditEvent{Data: map[string]any{"x": 1}})
	if err == nil {
		t.Fatal("an event without a type was recorded")
	}
	if !strings.Contains(err.Error(), "without a type") {
		t.Errorf("error %q does not name the missing type", err)
	}
}

// failAuditInserts adds a trigger that fails every insert into the audit
// log, in the dialect of st's database.
func failAuditInserts(t *testing.T, st *Store) {
	t.Helper()
	statements := []string{`CREATE TRIGGER audit_fail BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'audit disk full'); END`}
	if st.postgres {
		statements = []string{
			`CREATE FUNCTION audit_fail() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'audit disk full'; END; $$ LANGUAGE plpgsql`,
			`CREATE TRIGGER audit_fail BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_fail()`,
		}
	}
	for _, s := range statements {
		if _, err := st.DB().Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}
