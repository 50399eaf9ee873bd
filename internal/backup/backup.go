// Package backup writes a data directory to one tar.gz archive and
// restores it: a consistent copy of the SQLite database and the key files
// that the database names. Keys on a PKCS#11 token are never in an archive;
// the archive lists their URIs only.
//
// An archive holds, in this order:
//
//	docsign.db             the database, copied with VACUUM INTO
//	keys/<path>            a key file that lived under the data directory, at
//	                       its path relative to it
//	external-keys/<n>-<f>  a key file that lived elsewhere; a restore puts it
//	                       under restored-keys/ in the new data directory
//	manifest.json          the Manifest, with the SHA-256 of every file
package backup

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/store"
)

// Names inside an archive.
const (
	databaseEntry     = "docsign.db"
	manifestEntry     = "manifest.json"
	keysPrefix        = "keys/"
	externalKeyPrefix = "external-keys/"

	// restoredKeysDir is where a restore puts the key files that lived
	// outside the old data directory.
	restoredKeysDir = "restored-keys"

	// FormatVersion is the archive layout this package writes and reads.
	FormatVersion = 1
)

// Manifest describes an archive. It is the archive's last entry.
type Manifest struct {
	Format        int       `json:"format"`
	CreatedAt     time.Time `json:"created_at"`
	SourceDataDir string    `json:"source_data_dir"`
	Files         []File    `json:"files"`
	// KeyFiles maps each file: key URI in the database to the archive
	// entry with the file.
	KeyFiles []KeyFile `json:"key_files"`
	// TokenKeys are the other key URIs in the database, such as pkcs11:
	// URIs. Their keys are not in the archive.
	TokenKeys []string `json:"token_keys,omitempty"`
}

// File is one archive entry other than the manifest.
type File struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// KeyFile names the archive entry that holds the key file of a key URI.
type KeyFile struct {
	URI   string `json:"uri"`
	Entry string `json:"entry"`
}

// Create writes an archive of the data directory whose database st has
// open. tempDir holds the database copy while the archive is written; it
// needs room for one copy of the database.
//
// The database is copied first. Key files are written before their CA or
// responder row is committed and are never changed afterwards, so every
// key file that the copy names exists when it is read next.
func Create(ctx context.Context, st *store.Store, dataDir, tempDir string, w io.Writer) (*Manifest, error) {
	absDataDir, err := filepath.Abs(dataDir)
	if err != nil {
		return nil, fmt.Errorf("resolve data directory %s: %w", dataDir, err)
	}
	work, err := os.MkdirTemp(tempDir, "docsign-backup-")
	if err != nil {
		return nil, fmt.Errorf("create a temporary directory in %s: %w", tempDir, err)
	}
	defer os.RemoveAll(work)

	snapshot := filepath.Join(work, databaseEntry)
	if err := st.VacuumInto(ctx, snapshot); err != nil {
		return nil, err
	}
	uris, err := store.KeyURIsIn(ctx, snapshot)
	if err != nil {
		return nil, err
	}

	m := &Manifest{Format: FormatVersion, CreatedAt: time.Now().UTC().Truncate(time.Second), SourceDataDir: absDataDir}
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	if err := addFile(tw, m, databaseEntry, snapshot); err != nil {
		return nil, err
	}
	if err := addKeyFiles(tw, m, uris, absDataDir); err != nil {
		return nil, err
	}
	if err := addManifest(tw, m); err != nil {
		return nil, err
	}

	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("finish the archive: %w", err)
	}
	if err := gz.Close(); err != nil {
		return nil, fmt.Errorf("finish the archive: %w", err)
	}
	return m, nil
}

func addKeyFiles(tw *tar.Writer, m *Manifest, uris []string, absDataDir string) error {
	for i, uri := range uris {
		keyPath, isFile, err := FileKeyPath(uri)
		if err != nil {
			return err
		}
		if !isFile {
			m.TokenKeys = append(m.TokenKeys, uri)
			continue
		}

		entry := externalKeyPrefix + fmt.Sprintf("%d-%s", i+1, filepath.Base(keyPath))
		if rel, err := filepath.Rel(absDataDir, keyPath); err == nil && filepath.IsLocal(rel) {
			entry = keysPrefix + filepath.ToSlash(rel)
		}
		if err := addFile(tw, m, entry, keyPath); err != nil {
			return err
		}
		m.KeyFiles = append(m.KeyFiles, KeyFile{URI: uri, Entry: entry})
	}
	return nil
}

// FileKeyPath returns the local path of a "file:" key URI. Any other
// scheme returns isFile false.
func FileKeyPath(uri string) (keyPath string, isFile bool, err error) {
	parsed, err := url.Parse(uri)
	if err != nil || !strings.EqualFold(parsed.Scheme, "file") {
		return "", false, nil
	}
	if parsed.Opaque != "" || !filepath.IsAbs(parsed.Path) {
		return "", false, fmt.Errorf("key URI %q does not name an absolute path; a backup needs file:/absolute/path", uri)
	}
	return filepath.Clean(parsed.Path), true, nil
}

// addFile copies the file at src into the archive as name and records its
// size and SHA-256 in m.
func addFile(tw *tar.Writer, m *Manifest, name, src string) error {
	f, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("read %s for the archive: %w", src, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("read %s for the archive: %w", src, err)
	}

	header := &tar.Header{Name: name, Mode: 0o600, Size: info.Size(), ModTime: info.ModTime(), Typeflag: tar.TypeReg}
	if err := tw.WriteHeader(header); err != nil {
		return fmt.Errorf("write %s to the archive: %w", name, err)
	}
	sum := sha256.New()
	n, err := io.Copy(io.MultiWriter(tw, sum), f)
	if err != nil {
		return fmt.Errorf("write %s to the archive: %w", name, err)
	}
	m.Files = append(m.Files, File{Name: name, Size: n, SHA256: hex.EncodeToString(sum.Sum(nil))})
	return nil
}

func addManifest(tw *tar.Writer, m *Manifest) error {
	body, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	header := &tar.Header{Name: manifestEntry, Mode: 0o600, Size: int64(len(body)), ModTime: m.CreatedAt, Typeflag: tar.TypeReg}
	if err := tw.WriteHeader(header); err != nil {
		return fmt.Errorf("write the manifest: %w", err)
	}
	_, err = tw.Write(body)
	return err
}

// Restore unpacks an archive into dataDir, which must be missing or
// empty, checks every file against the manifest and the database with
// SQLite's integrity check, and points the database's file key URIs at
// the restored key files. On failure it removes what it wrote.
func Restore(ctx context.Context, r io.Reader, dataDir string) (m *Manifest, err error) {
	absDataDir, err := filepath.Abs(dataDir)
	if err != nil {
		return nil, fmt.Errorf("resolve data directory %s: %w", dataDir, err)
	}
	createdDir, err := prepareEmptyDir(absDataDir)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			cleanUp(absDataDir, createdDir)
		}
	}()

	m, written, err := unpack(r, absDataDir)
	if err != nil {
		return nil, err
	}
	if err := checkManifest(m, written); err != nil {
		return nil, err
	}
	return m, finishRestore(ctx, m, absDataDir)
}

// prepareEmptyDir creates dir with mode 0700, or checks that an existing
// dir is empty. It reports whether it created dir.
func prepareEmptyDir(dir string) (bool, error) {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return false, fmt.Errorf("create data directory %s: %w", dir, err)
		}
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("read data directory %s: %w", dir, err)
	}
	if len(entries) > 0 {
		return false, fmt.Errorf("data directory %s is not empty (it contains %s); restore into a new or empty directory",
			dir, entries[0].Name())
	}
	return false, nil
}

// cleanUp removes what a failed restore wrote into dir, which was empty.
func cleanUp(dir string, createdDir bool) {
	if createdDir {
		_ = os.RemoveAll(dir)
		return
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		_ = os.RemoveAll(filepath.Join(dir, e.Name()))
	}
}

// unpack writes every file entry into dataDir and returns the manifest
// and the SHA-256 and size of each file written, by entry name.
func unpack(r io.Reader, dataDir string) (*Manifest, map[string]File, error) {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return nil, nil, fmt.Errorf("read the archive: %w; is it a file that docsign-ca backup wrote?", err)
	}
	defer gz.Close()

	tr := tar.NewReader(gz)
	written := map[string]File{}
	var m *Manifest
	for {
		header, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("read the archive: %w", err)
		}
		if header.Typeflag != tar.TypeReg {
			return nil, nil, fmt.Errorf("archive entry %q is not a regular file; a docsign-ca archive contains regular files only", header.Name)
		}
		if _, seen := written[header.Name]; seen || (header.Name == manifestEntry && m != nil) {
			return nil, nil, fmt.Errorf("archive entry %q appears twice", header.Name)
		}

		if header.Name == manifestEntry {
			if m, err = readManifest(tr); err != nil {
				return nil, nil, err
			}
			continue
		}
		target, err := restoredPath(header.Name)
		if err != nil {
			return nil, nil, err
		}
		file, err := writeFile(filepath.Join(dataDir, target), tr)
		if err != nil {
			return nil, nil, err
		}
		file.Name = header.Name
		written[header.Name] = file
	}
	if m == nil {
		return nil, nil, fmt.Errorf("the archive has no %s; it is incomplete or not a docsign-ca backup", manifestEntry)
	}
	return m, written, nil
}

// restoredPath maps an archive entry to its path under the new data
// directory, and rejects any name that could leave it.
func restoredPath(name string) (string, error) {
	var rel string
	switch {
	case name == databaseEntry:
		return databaseEntry, nil
	case strings.HasPrefix(name, keysPrefix):
		rel = strings.TrimPrefix(name, keysPrefix)
	case strings.HasPrefix(name, externalKeyPrefix) && !strings.Contains(strings.TrimPrefix(name, externalKeyPrefix), "/"):
		rel = restoredKeysDir + "/" + strings.TrimPrefix(name, externalKeyPrefix)
	default:
		return "", fmt.Errorf("archive entry %q is unexpected; a docsign-ca archive contains only %s, %s, %s* and %s<name>",
			name, databaseEntry, manifestEntry, keysPrefix, externalKeyPrefix)
	}

	// Create writes clean relative names only, so anything else (.., an
	// empty or absolute segment) is rejected rather than cleaned.
	local := filepath.FromSlash(rel)
	if !filepath.IsLocal(local) || path.Clean(rel) != rel || local == databaseEntry {
		return "", fmt.Errorf("archive entry %q names a path outside the data directory or not in clean form", name)
	}
	return local, nil
}

func writeFile(target string, r io.Reader) (File, error) {
	if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
		return File{}, fmt.Errorf("create directory for %s: %w", target, err)
	}
	f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return File{}, fmt.Errorf("restore %s: %w", target, err)
	}
	sum := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, sum), r)
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return File{}, fmt.Errorf("restore %s: %w", target, err)
	}
	return File{Size: n, SHA256: hex.EncodeToString(sum.Sum(nil))}, nil
}

// maxManifestBytes bounds the manifest, which lists one line per key file.
const maxManifestBytes = 16 << 20

func readManifest(r io.Reader) (*Manifest, error) {
	body, err := io.ReadAll(io.LimitReader(r, maxManifestBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", manifestEntry, err)
	}
	if len(body) > maxManifestBytes {
		return nil, fmt.Errorf("%s is larger than %d bytes", manifestEntry, maxManifestBytes)
	}
	var m Manifest
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("decode %s: %w", manifestEntry, err)
	}
	if m.Format != FormatVersion {
		return nil, fmt.Errorf("archive format %d is not supported; this docsign-ca reads format %d", m.Format, FormatVersion)
	}
	return &m, nil
}

// checkManifest compares the files written with the manifest: the same
// names, sizes and SHA-256 sums, and a database among them.
func checkManifest(m *Manifest, written map[string]File) error {
	if _, ok := written[databaseEntry]; !ok {
		return fmt.Errorf("the archive has no %s", databaseEntry)
	}
	if len(m.Files) != len(written) {
		return fmt.Errorf("the archive has %d files, but its manifest lists %d", len(written), len(m.Files))
	}
	for _, want := range m.Files {
		got, ok := written[want.Name]
		if !ok {
			return fmt.Errorf("the manifest lists %s, which the archive lacks", want.Name)
		}
		if got.Size != want.Size || got.SHA256 != want.SHA256 {
			return fmt.Errorf("%s has %d bytes with SHA-256 %s, but the manifest records %d bytes with %s: the archive is damaged",
				want.Name, got.Size, got.SHA256, want.Size, want.SHA256)
		}
	}
	for _, k := range m.KeyFiles {
		if _, ok := written[k.Entry]; !ok {
			return fmt.Errorf("the manifest maps key %s to %s, which the archive lacks", k.URI, k.Entry)
		}
	}
	return nil
}

// finishRestore checks the restored database and moves its file key URIs
// to the restored key files.
func finishRestore(ctx context.Context, m *Manifest, dataDir string) error {
	st, err := store.Open(ctx, filepath.Join(dataDir, databaseEntry))
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.IntegrityCheck(ctx); err != nil {
		return err
	}

	moved := map[string]string{}
	for _, k := range m.KeyFiles {
		target, err := restoredPath(k.Entry)
		if err != nil {
			return err
		}
		uri := url.URL{Scheme: "file", Path: filepath.ToSlash(filepath.Join(dataDir, target)), OmitHost: true}
		moved[k.URI] = uri.String()
	}
	return st.RecordRestore(ctx, moved, map[string]any{
		"archive_created_at": m.CreatedAt.Format(time.RFC3339),
		"source_data_dir":    m.SourceDataDir,
		"token_keys":         len(m.TokenKeys),
	})
}
