package keys

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpenerPlainFilePolicy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "plain.pem")
	if _, _, err := GenerateFile(path, ECDSAP256); err != nil {
		t.Fatal(err)
	}
	uri := "file:" + path

	strict := &Opener{Passphrase: testPassphrase}
	_, err := strict.Open(uri)
	if err == nil || !strings.Contains(err.Error(), "is not encrypted") {
		t.Fatalf("Open of a plain key without AllowPlainFiles: got %v, want a not-encrypted error", err)
	}

	if _, err := strict.WithPlainFiles().Open(uri); err != nil {
		t.Fatalf("WithPlainFiles().Open: %v", err)
	}
	if strict.AllowPlainFiles {
		t.Fatal("WithPlainFiles changed the original Opener")
	}
}

func TestOpenerGenerateKeyFile(t *testing.T) {
	tests := []struct {
		name        string
		opener      *Opener
		wantPEMType string
		wantErr     string
	}{
		{name: "passphrase", opener: &Opener{Passphrase: testPassphrase}, wantPEMType: "ENCRYPTED PRIVATE KEY"},
		{name: "passphrase wins over plain", opener: &Opener{Passphrase: testPassphrase, AllowPlainFiles: true}, wantPEMType: "ENCRYPTED PRIVATE KEY"},
		{name: "development", opener: &Opener{AllowPlainFiles: true}, wantPEMType: "PRIVATE KEY"},
		{name: "neither", opener: &Opener{}, wantErr: "no passphrase is configured"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "new.pem")

			signer, uri, err := tc.opener.GenerateKey("file:"+path, ECDSAP256)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("GenerateKey: got %v, want an error containing %q", err, tc.wantErr)
				}
				if _, statErr := os.Stat(path); statErr == nil {
					t.Fatal("GenerateKey failed but left a key file")
				}
				return
			}
			if err != nil {
				t.Fatalf("GenerateKey: %v", err)
			}

			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(data), "-----BEGIN "+tc.wantPEMType+"-----") {
				t.Errorf("key file starts with %.40q, want a %s block", data, tc.wantPEMType)
			}

			opened, err := tc.opener.Open(uri)
			if err != nil {
				t.Fatalf("Open(%q): %v", uri, err)
			}
			assertSameKey(t, signer, opened)
		})
	}
}

func TestOpenerKeyExistsFile(t *testing.T) {
	dir := t.TempDir()
	present := filepath.Join(dir, "present.pem")
	if err := os.WriteFile(present, []byte("anything"), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		path string
		want bool
	}{
		{name: "present", path: present, want: true},
		{name: "absent", path: filepath.Join(dir, "absent.pem"), want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := (&Opener{}).KeyExists("file:" + tc.path)
			if err != nil {
				t.Fatalf("KeyExists: %v", err)
			}
			if got != tc.want {
				t.Errorf("KeyExists = %v, want %v", got, tc.want)
			}
		})
	}
}
