package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// readMissing returns the error that reading path gives, wrapped the way
// the CA loader wraps a key file error.
func readMissing(path string) error {
	_, err := os.ReadFile(path)
	return fmt.Errorf("open key of issuing CA 1A (Test CA): read key file: %w", err)
}

func TestMovedDataDirHint(t *testing.T) {
	root := t.TempDir()
	oldDir := filepath.Join(root, "docsign-data")
	newDir := filepath.Join(root, "elsewhere")
	keyRel := filepath.Join("ca", "dev-1", "issuing-1.key")
	if err := os.MkdirAll(filepath.Join(newDir, "ca", "dev-1"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(newDir, keyRel), []byte("not a key\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		err      error
		wantHint string // empty: the error stays unchanged
	}{
		{
			name:     "key moved with the directory",
			err:      readMissing(filepath.Join(oldDir, keyRel)),
			wantHint: "; if the data directory was moved, run: docsign-ca restore --moved-from " + oldDir + " --data-dir " + newDir,
		},
		{
			name:     "key not in the new directory",
			err:      readMissing(filepath.Join(root, "keys", "other.key")),
			wantHint: "; if the data directory was moved, run: docsign-ca restore --moved-from OLD --data-dir " + newDir,
		},
		{
			name: "key missing inside the data directory",
			err:  readMissing(filepath.Join(newDir, "ca", "dev-1", "gone.key")),
		},
		{
			name: "error other than a missing file",
			err:  errors.New("issuing CA 1A (Test CA): the key does not match the certificate"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := withMovedDataDirHint(tt.err, newDir)
			if !errors.Is(got, tt.err) {
				t.Errorf("the error with the hint does not wrap the original error %v", tt.err)
			}
			if want := tt.err.Error() + tt.wantHint; got.Error() != want {
				t.Errorf("error:\n%s\nwant:\n%s", got, want)
			}
			if tt.wantHint == "" && strings.Contains(got.Error(), "restore") {
				t.Errorf("error %q names restore, but the data directory was not moved", got)
			}
		})
	}
}

func TestRestoreFlagErrors(t *testing.T) {
	// An empty DOCSIGN_DATABASE_URL keeps these runs on SQLite when the
	// test run names a PostgreSQL server.
	t.Setenv("DOCSIGN_DATABASE_URL", "")
	empty := t.TempDir()

	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"no flags", nil, "missing --data-dir"},
		{"data directory only", []string{"--data-dir", empty}, "missing --in or --moved-from"},
		{"archive and old path", []string{"--in", "backup.tar.gz", "--moved-from", "/old", "--data-dir", empty},
			"--in and --moved-from exclude each other"},
		{"moved without a database", []string{"--moved-from", "/old", "--data-dir", empty}, "no database at " + empty},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := restoreDataDir(tt.args)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("restore %s: error %v; want one containing %q", strings.Join(tt.args, " "), err, tt.wantErr)
			}
		})
	}
}
