package certformat

import (
	"archive/zip"
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"testing"
)

func TestEncodeZipFormats(t *testing.T) {
	c := newTestChain(t)
	leaf, chain := c.leaf, []*x509.Certificate{c.intermediate, c.root}

	cases := []struct {
		format string
		files  map[string]int // entry name → number of certificates in it
		der    bool
	}{
		{ZipDefault, map[string]int{"certformat_test_leaf.crt": 1, "intermediate.crt": 1, "root.crt": 1}, false},
		{ZipDefaultPEM, map[string]int{"certformat_test_leaf.pem": 1, "intermediate.pem": 1, "root.pem": 1}, false},
		{ZipDefaultCER, map[string]int{"certformat_test_leaf.cer": 1, "intermediate.cer": 1, "root.cer": 1}, true},
		{ZipApache, map[string]int{"certformat_test_leaf.crt": 1, "bundle.crt": 2}, false},
	}
	for _, tc := range cases {
		t.Run(tc.format, func(t *testing.T) {
			body, err := EncodeZip(tc.format, leaf, chain)
			if err != nil {
				t.Fatal(err)
			}
			r, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
			if err != nil {
				t.Fatal(err)
			}
			if len(r.File) != len(tc.files) {
				t.Fatalf("%d entries, expected %d", len(r.File), len(tc.files))
			}
			for _, f := range r.File {
				expected, ok := tc.files[f.Name]
				if !ok {
					t.Errorf("unexpected entry %s", f.Name)
					continue
				}
				if got := countCertificates(t, f, tc.der); got != expected {
					t.Errorf("%s holds %d certificates, expected %d", f.Name, got, expected)
				}
			}
		})
	}
}

func countCertificates(t *testing.T, f *zip.File, der bool) int {
	t.Helper()
	rc, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(rc); err != nil {
		t.Fatal(err)
	}
	if der {
		if _, err := x509.ParseCertificate(buf.Bytes()); err != nil {
			t.Fatalf("%s is not a DER certificate: %v", f.Name, err)
		}
		return 1
	}
	n, rest := 0, buf.Bytes()
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return n
		}
		n++
	}
}

func TestEncodeZipUnknownFormat(t *testing.T) {
	c := newTestChain(t)
	_, err := EncodeZip("tar", c.leaf, []*x509.Certificate{c.intermediate, c.root})
	if !errors.Is(err, ErrUnknownFormat) {
		t.Fatalf("error %v, expected ErrUnknownFormat", err)
	}
}

func TestFileName(t *testing.T) {
	cases := map[string]string{
		"Example Legal Department Inc": "example_legal_department_inc",
		"  --  ":                       "certificate",
		"Ünïcode & Co.":                "n_code_co",
	}
	for in, expected := range cases {
		if got := FileName(in); got != expected {
			t.Errorf("FileName(%q) = %q, expected %q", in, got, expected)
		}
	}
}
