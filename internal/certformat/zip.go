package certformat

import (
	"archive/zip"
	"bytes"
	"crypto/x509"
	"fmt"
	"strings"
	"time"
)

// Zip format names, as CertCentral spells them.
const (
	ZipDefault    = "default"     // leaf, intermediate and root as separate PEM .crt files
	ZipApache     = "apache"      // leaf .crt plus a bundle.crt of intermediate and root
	ZipDefaultPEM = "default_pem" // as default, with .pem names
	ZipDefaultCER = "default_cer" // as default, DER .cer files
)

// ContentTypeZip is the content type of every zip format.
const ContentTypeZip = "application/zip"

// ZipFormats returns the zip format names.
func ZipFormats() []string {
	return []string{ZipDefault, ZipApache, ZipDefaultPEM, ZipDefaultCER}
}

// IsZipFormat reports whether format is one of ZipFormats.
func IsZipFormat(format string) bool {
	for _, f := range ZipFormats() {
		if f == format {
			return true
		}
	}
	return false
}

// EncodeZip returns leaf and its chain ([intermediate, root]) as a zip
// archive in one of the zip formats. Entry names start with baseName, a
// file-name-safe form of the certificate's common name.
func EncodeZip(format string, leaf *x509.Certificate, chain []*x509.Certificate) ([]byte, error) {
	if len(chain) < 2 {
		return nil, fmt.Errorf("encode zip: the chain must hold an intermediate and a root, got %d certificates", len(chain))
	}
	base := FileName(leaf.Subject.CommonName)
	intermediate, root := chain[0], chain[len(chain)-1]

	var files []zipEntry
	switch format {
	case ZipDefault:
		files = pemEntries(base, ".crt", leaf, intermediate, root)
	case ZipDefaultPEM:
		files = pemEntries(base, ".pem", leaf, intermediate, root)
	case ZipDefaultCER:
		files = []zipEntry{
			{base + ".cer", leaf.Raw},
			{"intermediate.cer", intermediate.Raw},
			{"root.cer", root.Raw},
		}
	case ZipApache:
		files = []zipEntry{
			{base + ".crt", encodePEM([]*x509.Certificate{leaf})},
			{"bundle.crt", encodePEM([]*x509.Certificate{intermediate, root})},
		}
	default:
		return nil, fmt.Errorf("%w %q; allowed: %s", ErrUnknownFormat, format, strings.Join(append(Formats(), ZipFormats()...), ", "))
	}
	return writeZip(files, leaf.NotBefore)
}

// ZipFile returns one file in a zip archive, for a PEM download that a
// client asked to receive zipped (Accept: application/zip).
func ZipFile(name string, body []byte, modified time.Time) ([]byte, error) {
	return writeZip([]zipEntry{{name, body}}, modified)
}

type zipEntry struct {
	name string
	body []byte
}

func pemEntries(base, ext string, leaf, intermediate, root *x509.Certificate) []zipEntry {
	return []zipEntry{
		{base + ext, encodePEM([]*x509.Certificate{leaf})},
		{"intermediate" + ext, encodePEM([]*x509.Certificate{intermediate})},
		{"root" + ext, encodePEM([]*x509.Certificate{root})},
	}
}

// writeZip stamps every entry with the certificate's notBefore, so that the
// same certificate always zips to the same bytes.
func writeZip(files []zipEntry, modified time.Time) ([]byte, error) {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, f := range files {
		fw, err := w.CreateHeader(&zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: modified.UTC()})
		if err != nil {
			return nil, fmt.Errorf("zip %s: %w", f.name, err)
		}
		if _, err := fw.Write(f.body); err != nil {
			return nil, fmt.Errorf("zip %s: %w", f.name, err)
		}
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("close zip: %w", err)
	}
	return buf.Bytes(), nil
}

// FileName turns a common name into a file name: letters and digits are
// kept, every other run of characters becomes one underscore.
func FileName(commonName string) string {
	var b strings.Builder
	underscore := false
	for _, r := range strings.ToLower(commonName) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			underscore = false
			continue
		}
		if !underscore && b.Len() > 0 {
			b.WriteByte('_')
			underscore = true
		}
	}
	name := strings.TrimSuffix(b.String(), "_")
	if name == "" {
		return "certificate"
	}
	return name
}
