package notify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// Outbox is the sender used when no SMTP relay is configured: it writes
// each message as an RFC 5322 .eml file, which mail clients open, into a
// directory. Files are mode 0600 because a message may carry a pickup code
// or a token PIN.
type Outbox struct {
	Dir string
	Log *slog.Logger
}

// Describe names the outbox directory.
func (o *Outbox) Describe() string { return "outbox " + o.Dir }

// Send writes the message to <Dir>/<UTC time>-<random>.eml. The file
// appears complete or not at all: it is written under a temporary name
// and renamed.
func (o *Outbox) Send(_ context.Context, _ string, to []string, message []byte) error {
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return fmt.Errorf("create outbox %s: %w", o.Dir, err)
	}
	random := make([]byte, 6)
	if _, err := rand.Read(random); err != nil {
		return err
	}
	// The time leads the name, so a directory listing is in sending order.
	name := time.Now().UTC().Format("20060102T150405.000000000") + "Z-" + hex.EncodeToString(random) + ".eml"
	path := filepath.Join(o.Dir, name)

	tmp, err := os.CreateTemp(o.Dir, ".writing-*")
	if err != nil {
		return fmt.Errorf("write outbox message: %w", err)
	}
	if err := writeAndClose(tmp, message); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write outbox message %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("move outbox message to %s: %w", path, err)
	}
	o.Log.Info("e-mail written to the outbox", "path", path, "recipients", len(to))
	return nil
}

// writeAndClose writes data, syncs it to disk and closes the file.
// os.CreateTemp creates files with mode 0600.
func writeAndClose(f *os.File, data []byte) error {
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
