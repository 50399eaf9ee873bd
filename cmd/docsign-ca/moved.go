package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// withMovedDataDirHint adds the restore command to err when err reports a
// missing file outside dataDir. The database stores absolute key paths, so
// that is how a moved or renamed data directory fails at start. When the
// missing file's relative path exists under dataDir, the hint names the old
// directory. Otherwise it shows OLD as a placeholder.
func withMovedDataDirHint(err error, dataDir string) error {
	var pathErr *fs.PathError
	if err == nil || !errors.As(err, &pathErr) || !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	newDir, absErr := filepath.Abs(dataDir)
	if absErr != nil {
		return err
	}
	missing := filepath.Clean(pathErr.Path)
	if _, inside := relativeInside(newDir, missing); inside {
		return err
	}

	oldDir, found := oldDataDir(missing, newDir)
	if !found {
		oldDir = "OLD"
	}
	return fmt.Errorf("%w; if the data directory was moved, run: docsign-ca restore --moved-from %s --data-dir %s",
		err, oldDir, dataDir)
}

// oldDataDir returns the ancestor of missing whose relative path to
// missing exists under newDir, trying the shortest such path first (the
// nearest ancestor), since a data directory keeps its keys a few levels
// down, such as ca/dev-TIME/issuing-1.key.
func oldDataDir(missing, newDir string) (string, bool) {
	for dir := filepath.Dir(missing); ; dir = filepath.Dir(dir) {
		rel, err := filepath.Rel(dir, missing)
		if err == nil {
			if _, statErr := os.Stat(filepath.Join(newDir, rel)); statErr == nil {
				return dir, true
			}
		}
		if parent := filepath.Dir(dir); parent == dir {
			return "", false
		}
	}
}

// relativeInside returns path relative to dir, and whether path is dir or a
// path inside it.
func relativeInside(dir, path string) (string, bool) {
	rel, err := filepath.Rel(dir, path)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", false
	}
	return rel, true
}
