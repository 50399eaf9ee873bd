package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSecretSources(t *testing.T) {
	dir := t.TempDir()
	pinFile := filepath.Join(dir, "pin")
	if err := os.WriteFile(pinFile, []byte("1234\r\nignored second line\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	emptyFile := filepath.Join(dir, "empty")
	if err := os.WriteFile(emptyFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		path     string
		env      *string
		want     string
		wantText string
	}{
		{name: "file", path: pinFile, want: "1234"},
		{name: "environment", env: ptr("5678"), want: "5678"},
		{name: "neither", want: ""},
		{name: "both", path: pinFile, env: ptr("5678"), wantText: "keep one"},
		{name: "empty environment", env: ptr(""), wantText: "is set but empty"},
		{name: "empty file", path: emptyFile, wantText: "is empty"},
		{name: "missing file", path: filepath.Join(dir, "absent"), wantText: "--pkcs11-pin-file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != nil {
				t.Setenv(envPKCS11PIN, *tc.env)
			} else {
				t.Setenv(envPKCS11PIN, "")
				os.Unsetenv(envPKCS11PIN)
			}

			got, err := secret(tc.path, envPKCS11PIN, "--pkcs11-pin-file")
			if tc.wantText != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantText) {
					t.Fatalf("secret: got %v, want an error containing %q", err, tc.wantText)
				}
				return
			}
			if err != nil {
				t.Fatalf("secret: %v", err)
			}
			if got != tc.want {
				t.Errorf("secret = %q, want %q", got, tc.want)
			}
		})
	}
}

func ptr(s string) *string { return &s }
