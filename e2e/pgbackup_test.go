package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docsign-ca/docsign-ca/internal/pgtest"
)

// On PostgreSQL, an operator backs up the database with pg_dump and the
// data directory (the CA key files) with a file copy. This file checks that
// a server on the restored database and the copied directory serves what
// the original issued and issues new orders.

// useDatabase makes the harness run every command for dataDir on the
// PostgreSQL database at url, in place of a database of its own.
func useDatabase(dataDir, url string) {
	databasesMu.Lock()
	defer databasesMu.Unlock()
	databases[dataDir] = url
}

// runCommand runs an external program and fails the test with its output
// when it exits with an error.
func runCommand(t *testing.T, name string, args ...string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Fatalf("%s not found: %v. Install the PostgreSQL client programs (Debian package postgresql-client)", name, err)
	}
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// issuedOrder is an order that was issued, with what the server returned
// for it.
type issuedOrder struct {
	orderID       int64
	certificateID int64
	info          map[string]any
	// pemAll is the pem_all download of the certificate.
	pemAll []byte
}

// placeAndIssue places an order for orgID, approves it, waits for its
// certificate and downloads it.
func placeAndIssue(t *testing.T, s *server, orgID int64) issuedOrder {
	t.Helper()
	resp := s.do("POST", dsOrgPath, s.Key, emailOrder(orgID, csrPEM(t, testRSAKey(t))))
	if resp.Status != http.StatusCreated {
		t.Fatalf("place order: %d %s", resp.Status, resp.Body)
	}
	placed := resp.JSON(t)
	orderID := idOf(t, placed["id"])
	request := placed["requests"].([]any)[0].(map[string]any)
	approve(t, s, s.Key, idOf(t, request["id"]))

	info := waitForStatus(t, s, s.Key, orderID, "issued")
	certificateID := idOf(t, info["certificate"].(map[string]any)["id"])
	return issuedOrder{
		orderID:       orderID,
		certificateID: certificateID,
		info:          info,
		pemAll:        downloadPEMAll(t, s, certificateID),
	}
}

func downloadPEMAll(t *testing.T, s *server, certificateID int64) []byte {
	t.Helper()
	resp := s.do("GET", fmt.Sprintf("/services/v2/certificate/%d/download/format/pem_all", certificateID), s.Key, nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("download certificate %d as pem_all: %d %s", certificateID, resp.Status, resp.Body)
	}
	return resp.Body
}

// orderInfoJSON returns the order info of orderID as indented JSON, so that a
// difference shows in the failure message.
func orderInfoJSON(t *testing.T, s *server, orderID int64) string {
	t.Helper()
	resp := s.do("GET", fmt.Sprintf("/services/v2/order/certificate/%d", orderID), s.Key, nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("order info of order %d: %d %s", orderID, resp.Status, resp.Body)
	}
	var indented bytes.Buffer
	if err := json.Indent(&indented, resp.Body, "", "  "); err != nil {
		t.Fatalf("order info of order %d is not JSON: %v\n%s", orderID, err, resp.Body)
	}
	return indented.String()
}

// dumpAndRestore dumps the database of dataDir with pg_dump while its
// server runs, restores the dump into a new database with pg_restore and
// returns the new database's URL.
func dumpAndRestore(t *testing.T, dataDir string) string {
	t.Helper()
	dump := filepath.Join(t.TempDir(), "docsign.dump")
	runCommand(t, "pg_dump", "-Fc", "--dbname", databaseURL(t, dataDir), "-f", dump)

	restoredURL := pgtest.NewDatabase(t)
	// --no-owner gives the restored objects to the role that restores them,
	// which need not exist under the original's name on another server.
	runCommand(t, "pg_restore", "--no-owner", "--dbname", restoredURL, dump)
	return restoredURL
}

func TestPostgresDumpAndRestore(t *testing.T) {
	requirePostgres(t, "pg_dump and pg_restore back up a PostgreSQL database; TestBackupWhileServingThenRestore covers SQLite")
	dataDir := t.TempDir()
	s := startServerIn(t, dataDir)
	orgID := createValidatedOrganization(t, s, s.Key, "Dump And Restore Inc")
	original := placeAndIssue(t, s, orgID)
	originalInfo := orderInfoJSON(t, s, original.orderID)

	restoredURL := dumpAndRestore(t, dataDir)
	copied := filepath.Join(t.TempDir(), "copy")
	runCommand(t, "cp", "-a", dataDir, copied)
	useDatabase(copied, restoredURL)

	// The database names key files by absolute path; `restore --moved-from`
	// points them at the copy. The original directory then goes away, so
	// the restored server can only sign with the copied keys.
	if out, err := docsignCommand(t, copied, "restore", "--moved-from", dataDir, "--data-dir", copied).CombinedOutput(); err != nil {
		t.Fatalf("restore --moved-from: %v\n%s", err, out)
	}
	s.stop()
	if err := os.Rename(dataDir, dataDir+".gone"); err != nil {
		t.Fatal(err)
	}
	expectKeyURIsUnder(t, copied)
	r := startServerIn(t, copied)

	if got := orderInfoJSON(t, r, original.orderID); got != originalInfo {
		t.Errorf("order info of order %d after the restore differs from the original\nafter:\n%s\noriginal:\n%s",
			original.orderID, got, originalInfo)
	}
	if got := downloadPEMAll(t, r, original.certificateID); !bytes.Equal(got, original.pemAll) {
		t.Errorf("pem_all download of certificate %d after the restore differs from the original\nafter:\n%s\noriginal:\n%s",
			original.certificateID, got, original.pemAll)
	}

	// A new order gets new ids from the restored identity sequences and a
	// certificate from the same issuing CA.
	fresh := placeAndIssue(t, r, orgID)
	if fresh.orderID <= original.orderID || fresh.certificateID <= original.certificateID {
		t.Errorf("new order %d with certificate %d after the restore, want ids above the original order %d and certificate %d",
			fresh.orderID, fresh.certificateID, original.orderID, original.certificateID)
	}
	freshChain, err := parsePEMCertificates(fresh.pemAll)
	if err != nil || len(freshChain) == 0 {
		t.Fatalf("pem_all download of the new certificate %d: %v", fresh.certificateID, err)
	}
	originalChain, err := parsePEMCertificates(original.pemAll)
	if err != nil || len(originalChain) == 0 {
		t.Fatalf("pem_all download of the original certificate %d: %v", original.certificateID, err)
	}
	expectSameIssuer(t, freshChain[0].Raw, originalChain[0].Raw)
	if freshChain[0].SerialNumber.Cmp(originalChain[0].SerialNumber) == 0 {
		t.Errorf("the new certificate has the original's serial %X", originalChain[0].SerialNumber)
	}

	if out := r.cli("audit", "verify"); !strings.Contains(out, "audit log intact") {
		t.Errorf("audit verify on the restored database: %s", out)
	}
}

// expectKeyURIsUnder checks that every file key URI of dataDir's database
// names a file under dataDir.
func expectKeyURIsUnder(t *testing.T, dataDir string) {
	t.Helper()
	st, err := openDataDirStore(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	uris, err := st.KeyURIs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, uri := range uris {
		if strings.HasPrefix(uri, "file:") && !strings.HasPrefix(uri, "file:"+dataDir+"/") {
			t.Errorf("key %s is outside the restored data directory %s", uri, dataDir)
		}
	}
}

// TestPostgresRestoreNeedsTheKeyFiles checks that finishing a restore on a
// copy that lacks a key file fails, names the file, and changes nothing.
func TestPostgresRestoreNeedsTheKeyFiles(t *testing.T) {
	requirePostgres(t, "restore --moved-from finishes a pg_restore")
	dataDir := t.TempDir()
	s := startServerIn(t, dataDir)
	restoredURL := dumpAndRestore(t, dataDir)
	s.stop()

	copied := filepath.Join(t.TempDir(), "copy")
	runCommand(t, "cp", "-a", dataDir, copied)
	useDatabase(copied, restoredURL)
	keys, err := filepath.Glob(filepath.Join(copied, "ca", "*", "issuing-1.key"))
	if err != nil || len(keys) != 1 {
		t.Fatalf("issuing key files in the copy: %v %v", keys, err)
	}
	if err := os.Remove(keys[0]); err != nil {
		t.Fatal(err)
	}

	out, err := docsignCommand(t, copied, "restore", "--moved-from", dataDir, "--data-dir", copied).CombinedOutput()
	if err == nil {
		t.Fatalf("restore --moved-from succeeded without the issuing key file:\n%s", out)
	}
	if !strings.Contains(string(out), keys[0]) {
		t.Errorf("the error does not name the missing file %s:\n%s", keys[0], out)
	}
	st, err := openDataDirStore(copied)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	uris, err := st.KeyURIs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, uri := range uris {
		if strings.Contains(uri, copied) {
			t.Errorf("key URI %s was moved although the restore failed", uri)
		}
	}
}
