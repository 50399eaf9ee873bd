package store

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pressly/goose/v3"
)

func openCATestStore(t *testing.T) *Store {
	t.Helper()
	st := openTestStore(t, "cas.db")
	return st
}

// testCA returns a CA row; the DER is a stand-in, since the store does not
// parse certificates.
func testCA(caCertID, role string) CA {
	return CA{CACertID: caCertID, Role: role, CommonName: "CA " + caCertID, CertDER: []byte("der-" + caCertID), KeyURI: "pkcs11:token=t;object=" + caCertID}
}

func TestInsertHierarchy(t *testing.T) {
	ctx := context.Background()
	st := openCATestStore(t)

	root := testCA("R1", CARoot)
	rootID, ids, err := st.InsertHierarchy(ctx, root, []CA{testCA("I1", CAIntermediate), testCA("I2", CAIntermediate)})
	if err != nil {
		t.Fatalf("InsertHierarchy: %v", err)
	}
	if len(ids) != 2 {
		t.Fatalf("InsertHierarchy returned %d intermediate ids, want 2", len(ids))
	}

	// A second ceremony under the same root reuses the root row.
	rootAgain, _, err := st.InsertHierarchy(ctx, root, []CA{testCA("I3", CAIntermediate)})
	if err != nil {
		t.Fatalf("InsertHierarchy under the existing root: %v", err)
	}
	if rootAgain != rootID {
		t.Errorf("existing root got id %d, want %d", rootAgain, rootID)
	}

	cas, err := st.CAs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(cas) != 4 {
		t.Fatalf("store has %d CAs, want 4", len(cas))
	}
	for _, ca := range cas[1:] {
		if ca.ParentID != rootID || ca.Status != CAActive || ca.Development {
			t.Errorf("intermediate %s: parent %d, status %s, development %v; want parent %d, active, not development",
				ca.CACertID, ca.ParentID, ca.Status, ca.Development, rootID)
		}
	}
}

func TestInsertHierarchyRejects(t *testing.T) {
	ctx := context.Background()
	root := testCA("R1", CARoot)

	tests := []struct {
		name          string
		root          CA
		intermediates []CA
		wantText      string
	}{
		{name: "recorded intermediate", root: root, intermediates: []CA{testCA("I1", CAIntermediate)}, wantText: "already recorded"},
		{name: "root with another certificate", root: CA{CACertID: "R1", Role: CARoot, CommonName: "x", CertDER: []byte("other"), KeyURI: "k"},
			intermediates: []CA{testCA("I9", CAIntermediate)}, wantText: "another certificate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := openCATestStore(t)
			if _, _, err := st.InsertHierarchy(ctx, root, []CA{testCA("I1", CAIntermediate)}); err != nil {
				t.Fatal(err)
			}

			_, _, err := st.InsertHierarchy(ctx, tc.root, tc.intermediates)
			if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), tc.wantText) {
				t.Fatalf("InsertHierarchy: got %v, want ErrConflict containing %q", err, tc.wantText)
			}
			cas, _ := st.CAs(ctx)
			if len(cas) != 2 {
				t.Errorf("store has %d CAs after the rejected insert, want 2", len(cas))
			}
		})
	}
}

func TestRetireCA(t *testing.T) {
	ctx := context.Background()
	st := openCATestStore(t)
	if _, _, err := st.InsertHierarchy(ctx, testCA("R1", CARoot), []CA{testCA("AA01", CAIntermediate), testCA("BB02", CAIntermediate)}); err != nil {
		t.Fatal(err)
	}

	retired, err := st.RetireCA(ctx, "aa01")
	if err != nil {
		t.Fatalf("RetireCA: %v", err)
	}
	if retired.Status != CARetired || retired.CommonName != "CA AA01" {
		t.Errorf("RetireCA returned %+v, want the retired CA AA01", retired)
	}

	cas, err := st.CAs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cas[1].Status != CARetired || cas[1].RetiredAt.IsZero() {
		t.Errorf("stored CA AA01 has status %s and retired_at %v, want retired with a time", cas[1].Status, cas[1].RetiredAt)
	}
	if cas[2].Status != CAActive {
		t.Errorf("CA BB02 has status %s, want active", cas[2].Status)
	}
}

func TestRetireCARejects(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		caCertID string
		wantErr  error
		wantText string
	}{
		{name: "unknown", caCertID: "FFFF", wantErr: ErrNotFound, wantText: "FFFF"},
		{name: "root", caCertID: "R1", wantErr: ErrConflict, wantText: "only an issuing intermediate"},
		{name: "already retired", caCertID: "AA01", wantErr: ErrConflict, wantText: "already retired"},
		{name: "last active", caCertID: "BB02", wantErr: ErrConflict, wantText: "last active issuing CA"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := openCATestStore(t)
			if _, _, err := st.InsertHierarchy(ctx, testCA("R1", CARoot), []CA{testCA("AA01", CAIntermediate), testCA("BB02", CAIntermediate)}); err != nil {
				t.Fatal(err)
			}
			if _, err := st.RetireCA(ctx, "AA01"); err != nil {
				t.Fatal(err)
			}

			_, err := st.RetireCA(ctx, tc.caCertID)
			if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.wantText) {
				t.Fatalf("RetireCA(%s): got %v, want %v containing %q", tc.caCertID, err, tc.wantErr, tc.wantText)
			}
		})
	}
}

// TestMigrationMarksFileKeyCAsDevelopment runs 00004_ca.sql on a database
// that the first start created before that migration existed.
func TestMigrationMarksFileKeyCAsDevelopment(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	provider, err := goose.NewProvider(goose.DialectSQLite3, db, migrationsFS())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := provider.UpTo(ctx, 3); err != nil {
		t.Fatalf("migrate to version 3: %v", err)
	}
	_, err = db.ExecContext(ctx, `INSERT INTO cas (ca_cert_id, role, common_name, cert_der, key_uri, status, created_at)
		VALUES ('F1', 'root', 'file CA', x'00', 'file:/data/ca/root.key', 'active', '2026-01-01T00:00:00Z'),
		       ('P1', 'root', 'token CA', x'00', 'pkcs11:token=t;object=o', 'active', '2026-01-01T00:00:00Z')`)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	st, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open applies the remaining migrations: %v", err)
	}
	defer st.Close()
	cas, err := st.CAs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !cas[0].Development || cas[1].Development {
		t.Errorf("development flags = %v, %v; want the file-key CA marked and the token CA not", cas[0].Development, cas[1].Development)
	}
}
