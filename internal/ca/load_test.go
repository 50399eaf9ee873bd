package ca

import (
	"context"
	"crypto"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/keys"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

// fileKey writes a new P-256 key file, encrypted with testPassphrase
// unless plain is set, and returns the signer and its URI.
func fileKey(t *testing.T, plain bool) (crypto.Signer, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "issuing.key")
	var signer crypto.Signer
	var uri string
	var err error
	if plain {
		signer, uri, err = keys.GenerateFile(path, keys.ECDSAP256)
	} else {
		signer, uri, err = keys.GenerateEncryptedFile(path, keys.ECDSAP256, testPassphrase)
	}
	if err != nil {
		t.Fatal(err)
	}
	return signer, uri
}

func TestLoadWithKeysKeyPolicy(t *testing.T) {
	tests := []struct {
		name        string
		plainKey    bool
		development bool
		opener      keys.Opener
		wantText    string
	}{
		{name: "encrypted key", opener: keys.Opener{Passphrase: testPassphrase}},
		{name: "plain key of a development CA", plainKey: true, development: true},
		{name: "plain key with --dev", plainKey: true, opener: keys.Opener{AllowPlainFiles: true}},
		{name: "plain key of a production CA", plainKey: true, wantText: "is not encrypted"},
		{name: "encrypted key without passphrase", wantText: "no passphrase is configured"},
		{name: "encrypted key with wrong passphrase", opener: keys.Opener{Passphrase: "wrong"}, wantText: "wrong passphrase"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := newTestRoot(t)
			st := openTestStore(t)
			signer, uri := fileKey(t, tc.plainKey)
			rootID := insertRoot(t, st, root)
			insertIntermediate(t, st, rootID, store.CA{
				CACertID: "AAAA", CertDER: root.currentIntermediate(t, "Issuing", signer.Public()), KeyURI: uri, Development: tc.development,
			})

			service, err := LoadWithKeys(context.Background(), st, discardLogger(), &tc.opener)
			if tc.wantText != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantText) {
					t.Fatalf("LoadWithKeys: got %v, want an error containing %q", err, tc.wantText)
				}
				return
			}
			if err != nil {
				t.Fatalf("LoadWithKeys: %v", err)
			}
			if len(service.Issuers()) != 1 {
				t.Errorf("Issuers() has %d CAs, want 1", len(service.Issuers()))
			}
		})
	}
}

func TestLoadWithKeysStartupChecks(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name     string
		status   string
		validity [2]time.Time
		wrongKey bool
		wantText string
	}{
		{name: "key of another CA", status: store.CAActive, validity: [2]time.Time{now.Add(-time.Hour), now.AddDate(1, 0, 0)}, wrongKey: true,
			wantText: "does not match the certificate's public key"},
		{name: "expired active CA", status: store.CAActive, validity: [2]time.Time{now.AddDate(-2, 0, 0), now.Add(-time.Hour)},
			wantText: "retire it with `docsign-ca ca retire --ca-cert-id AAAA`"},
		{name: "future active CA", status: store.CAActive, validity: [2]time.Time{now.Add(time.Hour), now.AddDate(1, 0, 0)}, wantText: "valid from"},
		{name: "key of another retired CA", status: store.CARetired, validity: [2]time.Time{now.Add(-time.Hour), now.AddDate(1, 0, 0)}, wrongKey: true,
			wantText: "does not match"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := newTestRoot(t)
			st := openTestStore(t)
			rootID := insertRoot(t, st, root)

			// A valid active CA, so that only the CA under test can fail.
			goodKey, goodURI := fileKey(t, false)
			insertIntermediate(t, st, rootID, store.CA{CACertID: "GOOD", CertDER: root.currentIntermediate(t, "Good", goodKey.Public()), KeyURI: goodURI})

			key, uri := fileKey(t, false)
			certKey := key.Public()
			if tc.wrongKey {
				certKey = goodKey.Public()
			}
			insertIntermediate(t, st, rootID, store.CA{
				CACertID: "AAAA", Status: tc.status, KeyURI: uri,
				CertDER: root.intermediate(t, "Under test", certKey, tc.validity[0], tc.validity[1]),
			})

			_, err := LoadWithKeys(context.Background(), st, discardLogger(), &keys.Opener{Passphrase: testPassphrase})
			if err == nil || !strings.Contains(err.Error(), tc.wantText) {
				t.Fatalf("LoadWithKeys: got %v, want an error containing %q", err, tc.wantText)
			}
			if !strings.Contains(err.Error(), "AAAA") {
				t.Errorf("error %q does not name the CA", err)
			}
		})
	}
}

func TestLoadWithKeysActiveAndRetired(t *testing.T) {
	ctx := context.Background()
	root := newTestRoot(t)
	st := openTestStore(t)
	rootID := insertRoot(t, st, root)
	now := time.Now()

	expiredKey, expiredURI := fileKey(t, false)
	expiredID := insertIntermediate(t, st, rootID, store.CA{CACertID: "OLD1", Status: store.CARetired, KeyURI: expiredURI,
		CertDER: root.intermediate(t, "Expired retired", expiredKey.Public(), now.AddDate(-3, 0, 0), now.Add(-time.Hour))})
	retiredKey, retiredURI := fileKey(t, false)
	retiredID := insertIntermediate(t, st, rootID, store.CA{CACertID: "OLD2", Status: store.CARetired, KeyURI: retiredURI,
		CertDER: root.currentIntermediate(t, "Retired", retiredKey.Public())})
	firstKey, firstURI := fileKey(t, false)
	firstID := insertIntermediate(t, st, rootID, store.CA{CACertID: "NEW1", KeyURI: firstURI, CertDER: root.currentIntermediate(t, "First", firstKey.Public())})
	secondKey, secondURI := fileKey(t, false)
	secondID := insertIntermediate(t, st, rootID, store.CA{CACertID: "NEW2", KeyURI: secondURI, CertDER: root.currentIntermediate(t, "Second", secondKey.Public())})

	service, err := LoadWithKeys(ctx, st, discardLogger(), &keys.Opener{Passphrase: testPassphrase})
	if err != nil {
		t.Fatalf("LoadWithKeys: %v", err)
	}

	if service.DefaultID != firstID {
		t.Errorf("DefaultID = %d, want the first active CA %d", service.DefaultID, firstID)
	}
	active := service.Issuers()
	if len(active) != 2 || active[0].Record.ID != firstID || active[1].Record.ID != secondID {
		t.Errorf("Issuers() = %v, want [%d %d]", issuerIDs(active), firstID, secondID)
	}
	for _, id := range []int64{expiredID, retiredID} {
		issuer, ok := service.Issuer(id)
		if !ok || issuer.Active() || issuer.Signer() == nil {
			t.Errorf("retired CA %d: loaded %v, want loaded, inactive, with a signer", id, ok)
		}
	}
	if _, ok := service.IssuerByCACertID("old2"); ok {
		t.Error("IssuerByCACertID returned a retired CA")
	}
	if issuer, ok := service.IssuerByCACertID("new2"); !ok || issuer.Record.ID != secondID {
		t.Error("IssuerByCACertID(new2) did not return the second active CA")
	}

	_, err = service.Issue(ctx, IssueRequest{OrderID: 1, CAID: retiredID})
	if err == nil || !strings.Contains(err.Error(), "was retired") {
		t.Errorf("Issue from a retired CA: got %v, want a retired error", err)
	}
}

func TestLoadWithKeysNoActiveCA(t *testing.T) {
	root := newTestRoot(t)
	st := openTestStore(t)
	rootID := insertRoot(t, st, root)
	key, uri := fileKey(t, false)
	insertIntermediate(t, st, rootID, store.CA{CACertID: "OLD1", Status: store.CARetired, KeyURI: uri, CertDER: root.currentIntermediate(t, "Retired", key.Public())})

	_, err := LoadWithKeys(context.Background(), st, discardLogger(), &keys.Opener{Passphrase: testPassphrase})
	if err == nil || !strings.Contains(err.Error(), "no active issuing CA") {
		t.Fatalf("LoadWithKeys: got %v, want a no-active-CA error", err)
	}
}

func issuerIDs(issuers []*Issuer) []int64 {
	ids := make([]int64, 0, len(issuers))
	for _, i := range issuers {
		ids = append(ids, i.Record.ID)
	}
	return ids
}
