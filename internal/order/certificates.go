package order

import (
	"context"
	"crypto/x509"
	"errors"

	"github.com/docsign-ca/docsign-ca/internal/certformat"
	"github.com/docsign-ca/docsign-ca/internal/errs"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

// Download is an encoded certificate ready to send.
type Download struct {
	ContentType string
	Body        []byte
	FileName    string // set for zip archives, for Content-Disposition
}

// IssuedCertificate is an issued certificate of the caller's account with its chain.
type IssuedCertificate struct {
	Record *store.Certificate
	Leaf   *x509.Certificate
	Chain  []*x509.Certificate // [intermediate, root]
}

// Certificate returns an issued certificate of an order of the caller's scope.
func (s *Service) Certificate(ctx context.Context, caller *store.Caller, certID int64) (*IssuedCertificate, error) {
	cert, err := s.visibleCertificate(ctx, caller, certID)
	if err != nil {
		return nil, err
	}
	return s.issued(cert)
}

// CertificateOfOrder returns the newest issued certificate of an order of the caller's scope.
func (s *Service) CertificateOfOrder(ctx context.Context, caller *store.Caller, orderID int64) (*IssuedCertificate, error) {
	if _, err := s.visibleOrder(ctx, caller, orderID); err != nil {
		return nil, err
	}
	certs, err := s.store.CertificatesForOrder(ctx, orderID)
	if err != nil {
		return nil, internal(err, "list certificates")
	}
	for i := len(certs) - 1; i >= 0; i-- {
		if certs[i].Status == store.CertificateIssued || certs[i].Status == store.CertificateRevoked {
			return s.issued(&certs[i])
		}
	}
	return nil, errs.New(errs.BadRequest, "cert_unavailable_processing",
		"order %d has no issued certificate yet; poll GET /services/v2/order/certificate/%d until its status is issued", orderID, orderID)
}

func (s *Service) issued(cert *store.Certificate) (*IssuedCertificate, error) {
	if cert.Status != store.CertificateIssued && cert.Status != store.CertificateRevoked {
		return nil, errs.New(errs.BadRequest, "cert_unavailable_processing",
			"certificate %d is %s, not issued; poll GET /services/v2/order/certificate/%d until its status is issued", cert.ID, cert.Status, cert.OrderID)
	}
	leaf, err := x509.ParseCertificate(cert.DER)
	if err != nil {
		return nil, internal(err, "parse stored certificate")
	}
	issuer, ok := s.ca.Issuer(cert.CAID)
	if !ok {
		return nil, errs.Wrap(errors.New("issuing CA not loaded"), "load chain of certificate %d", cert.ID)
	}
	return &IssuedCertificate{Record: cert, Leaf: leaf, Chain: issuer.Chain}, nil
}

// Encode encodes an issued certificate in one of CertCentral's download
// formats. zipped wraps a single-file format in a zip archive, for clients
// that send Accept: application/zip.
func Encode(c *IssuedCertificate, format string, zipped bool) (*Download, error) {
	base := certformat.FileName(c.Leaf.Subject.CommonName)
	if certformat.IsZipFormat(format) {
		body, err := certformat.EncodeZip(format, c.Leaf, c.Chain)
		if err != nil {
			return nil, internal(err, "encode certificate")
		}
		return &Download{ContentType: certformat.ContentTypeZip, Body: body, FileName: base + ".zip"}, nil
	}

	contentType, body, err := certformat.Encode(format, c.Leaf, c.Chain)
	if errors.Is(err, certformat.ErrUnknownFormat) {
		return nil, errs.New(errs.BadRequest, "invalid_value:format", "unknown format %q; allowed: %s", format, allFormats())
	}
	if err != nil {
		return nil, internal(err, "encode certificate")
	}
	if !zipped {
		return &Download{ContentType: contentType, Body: body}, nil
	}

	body, err = certformat.ZipFile(base+"."+extension(format), body, c.Leaf.NotBefore)
	if err != nil {
		return nil, internal(err, "zip certificate")
	}
	return &Download{ContentType: certformat.ContentTypeZip, Body: body, FileName: base + ".zip"}, nil
}

func extension(format string) string {
	switch format {
	case certformat.P7B:
		return "p7b"
	case certformat.CER:
		return "cer"
	}
	return "pem"
}

func allFormats() string {
	out := ""
	for i, f := range append(certformat.Formats(), certformat.ZipFormats()...) {
		if i > 0 {
			out += ", "
		}
		out += f
	}
	return out
}
