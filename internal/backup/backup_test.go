package backup

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/store"
)

// fixture is a data directory with a database that names three CA keys: a
// file under the data directory, a file elsewhere and a PKCS#11 key.
type fixture struct {
	dataDir      string
	st           *store.Store
	insideURI    string
	outsideURI   string
	tokenURI     string
	insideBytes  []byte
	outsideBytes []byte
}

func fileURI(path string) string { return "file:" + filepath.ToSlash(path) }

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{dataDir: t.TempDir(), tokenURI: "pkcs11:token=backup;object=issuing"}

	// The store never parses keys, so stand-in bytes do; real key files are
	// PKCS#8 PEM.
	f.insideBytes = []byte("stand-in key under the data directory\n")
	inside := filepath.Join(f.dataDir, "ca", "dev-1", "issuing-1.key")
	writeTestFile(t, inside, f.insideBytes)
	f.insideURI = fileURI(inside)

	f.outsideBytes = []byte("stand-in key elsewhere\n")
	outside := filepath.Join(t.TempDir(), "keys", "issuing-2.key")
	writeTestFile(t, outside, f.outsideBytes)
	f.outsideURI = fileURI(outside)

	st, err := store.Open(ctx, filepath.Join(f.dataDir, "docsign.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f.st = st

	for i, uri := range []string{f.insideURI, f.outsideURI, f.tokenURI} {
		_, err := st.InsertCA(ctx, store.CA{CACertID: "CA" + string(rune('A'+i)), Role: store.CAIntermediate,
			CommonName: "Backup CA", CertDER: []byte{byte(i)}, KeyURI: uri})
		if err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func writeTestFile(t *testing.T, path string, content []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) archive(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := Create(context.Background(), f.st, f.dataDir, t.TempDir(), &buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func keyURIs(t *testing.T, dataDir string) map[string]string {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(dataDir, "docsign.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cas, err := st.CAs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, ca := range cas {
		out[ca.CACertID] = ca.KeyURI
	}
	return out
}

func TestBackupRestoreRoundTrip(t *testing.T) {
	f := newFixture(t)
	archive := f.archive(t)

	target := filepath.Join(t.TempDir(), "restored")
	m, err := Restore(context.Background(), bytes.NewReader(archive), target)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.KeyFiles) != 2 || len(m.TokenKeys) != 1 || m.TokenKeys[0] != f.tokenURI {
		t.Errorf("manifest key files %v, token keys %v; want two files and %s", m.KeyFiles, m.TokenKeys, f.tokenURI)
	}

	insidePath := filepath.Join(target, "ca", "dev-1", "issuing-1.key")
	outsidePath := filepath.Join(target, restoredKeysDir, "2-issuing-2.key")
	uris := keyURIs(t, target)
	want := map[string]string{"CAA": fileURI(insidePath), "CAB": fileURI(outsidePath), "CAC": f.tokenURI}
	for id, uri := range want {
		if uris[id] != uri {
			t.Errorf("CA %s key URI %q, want %q", id, uris[id], uri)
		}
	}

	for path, content := range map[string][]byte{insidePath: f.insideBytes, outsidePath: f.outsideBytes} {
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, content) {
			t.Errorf("%s = %q, want %q", path, got, content)
		}
		if info, _ := os.Stat(path); info.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", path, info.Mode().Perm())
		}
	}

	st, err := store.Open(context.Background(), filepath.Join(target, "docsign.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	v, err := st.VerifyAudit(context.Background())
	if err != nil || !v.Intact() {
		t.Fatalf("audit chain after restore: %v %+v", err, v)
	}
	var last store.AuditRecord
	_ = st.EachAuditRecord(context.Background(), 0, func(r *store.AuditRecord) error { last = *r; return nil })
	if last.Type != store.AuditRestored || !strings.Contains(string(last.Data), `"key_files_moved":2`) {
		t.Errorf("last audit row %s %s; want %s with two moved key files", last.Type, last.Data, store.AuditRestored)
	}
}

func TestBackupSeesCommittedRowsOnly(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()

	// A row committed before the copy is in it; a row committed after the
	// archive was written is not.
	if _, err := f.st.InsertCA(ctx, store.CA{CACertID: "BEFORE", Role: store.CARoot, CommonName: "Before", CertDER: []byte{9}, KeyURI: f.tokenURI}); err != nil {
		t.Fatal(err)
	}
	archive := f.archive(t)
	if _, err := f.st.InsertCA(ctx, store.CA{CACertID: "AFTER", Role: store.CARoot, CommonName: "After", CertDER: []byte{8}, KeyURI: f.tokenURI}); err != nil {
		t.Fatal(err)
	}

	target := t.TempDir()
	if _, err := Restore(ctx, bytes.NewReader(archive), target); err != nil {
		t.Fatal(err)
	}
	uris := keyURIs(t, target)
	if _, ok := uris["BEFORE"]; !ok {
		t.Error("a CA committed before the backup is missing from it")
	}
	if _, ok := uris["AFTER"]; ok {
		t.Error("a CA committed after the backup is in it")
	}
}

func TestRestoreRefusesNonEmptyDirectory(t *testing.T) {
	f := newFixture(t)
	archive := f.archive(t)

	target := t.TempDir()
	writeTestFile(t, filepath.Join(target, "notes.txt"), []byte("keep me"))

	_, err := Restore(context.Background(), bytes.NewReader(archive), target)
	if err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("Restore into a non-empty directory: err = %v; want a not-empty error", err)
	}
	entries, _ := os.ReadDir(target)
	if len(entries) != 1 || entries[0].Name() != "notes.txt" {
		t.Errorf("the directory changed: %v", entries)
	}
}

// entry is one file of a hand-made archive.
type entry struct {
	name     string
	body     []byte
	typeflag byte
	linkname string
}

// craftArchive builds a tar.gz from entries and, unless manifest is nil,
// a manifest.json listing the regular ones with their true hashes, passed
// through edit first.
func craftArchive(t *testing.T, entries []entry, edit func(m *Manifest)) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	m := Manifest{Format: FormatVersion, CreatedAt: time.Now().UTC()}
	for _, e := range entries {
		typeflag := e.typeflag
		if typeflag == 0 {
			typeflag = tar.TypeReg
		}
		h := &tar.Header{Name: e.name, Mode: 0o600, Size: int64(len(e.body)), Typeflag: typeflag, Linkname: e.linkname}
		if typeflag != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if typeflag == tar.TypeReg {
			if _, err := tw.Write(e.body); err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(e.body)
			m.Files = append(m.Files, File{Name: e.name, Size: int64(len(e.body)), SHA256: hex.EncodeToString(sum[:])})
		}
	}
	if edit != nil {
		edit(&m)
		body, _ := json.Marshal(m)
		if err := tw.WriteHeader(&tar.Header{Name: manifestEntry, Mode: 0o600, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRestoreRejectsBadArchives(t *testing.T) {
	db := []byte("not really a database")
	keep := func(*Manifest) {}
	cases := []struct {
		name     string
		archive  func(t *testing.T) []byte
		wantText string
	}{
		{"not gzip", func(t *testing.T) []byte { return []byte("plain text") }, "read the archive"},
		{"path traversal", func(t *testing.T) []byte {
			return craftArchive(t, []entry{{name: "docsign.db", body: db}, {name: "keys/../../escaped.key", body: []byte("x")}}, keep)
		}, "outside the data directory"},
		{"absolute path", func(t *testing.T) []byte {
			return craftArchive(t, []entry{{name: "keys//etc/passwd", body: []byte("x")}}, keep)
		}, "outside the data directory"},
		{"symbolic link", func(t *testing.T) []byte {
			return craftArchive(t, []entry{{name: "keys/link.key", typeflag: tar.TypeSymlink, linkname: "/etc/shadow"}}, keep)
		}, "not a regular file"},
		{"unexpected entry", func(t *testing.T) []byte {
			return craftArchive(t, []entry{{name: "docsign.db", body: db}, {name: "bootstrap-api-key", body: []byte("x")}}, keep)
		}, "unexpected"},
		{"no manifest", func(t *testing.T) []byte {
			return craftArchive(t, []entry{{name: "docsign.db", body: db}}, nil)
		}, "no manifest.json"},
		{"damaged file", func(t *testing.T) []byte {
			return craftArchive(t, []entry{{name: "docsign.db", body: db}}, func(m *Manifest) { m.Files[0].SHA256 = strings.Repeat("0", 64) })
		}, "damaged"},
		{"file missing from manifest", func(t *testing.T) []byte {
			return craftArchive(t, []entry{{name: "docsign.db", body: db}, {name: "keys/a.key", body: []byte("x")}},
				func(m *Manifest) { m.Files = m.Files[:1] })
		}, "manifest lists 1"},
		{"unknown format", func(t *testing.T) []byte {
			return craftArchive(t, []entry{{name: "docsign.db", body: db}}, func(m *Manifest) { m.Format = 99 })
		}, "format 99"},
		{"damaged database", func(t *testing.T) []byte {
			return craftArchive(t, []entry{{name: "docsign.db", body: db}}, keep)
		}, "database"},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			parent := t.TempDir()
			target := filepath.Join(parent, "restored")
			_, err := Restore(context.Background(), bytes.NewReader(tc.archive(t)), target)
			if err == nil {
				t.Fatal("Restore accepted the archive")
			}
			if !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("error %q does not contain %q", err, tc.wantText)
			}
			if _, statErr := os.Stat(target); !os.IsNotExist(statErr) {
				t.Errorf("the failed restore left %s behind", target)
			}
			if _, statErr := os.Stat(filepath.Join(parent, "escaped.key")); !os.IsNotExist(statErr) {
				t.Error("an entry was written outside the data directory")
			}
		})
	}
}
