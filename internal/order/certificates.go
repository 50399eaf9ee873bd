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
}

// DownloadCertificate encodes an issued certificate of the caller's account
// with its chain in one of CertCentral's download formats.
func (s *Service) DownloadCertificate(ctx context.Context, caller *store.Caller, certID int64, format string) (*Download, error) {
	cert, err := s.store.Certificate(ctx, caller.Account.ID, certID)
	if err != nil {
		return nil, notFound(err, "certificate", certID)
	}
	if cert.Status == store.CertificatePending {
		return nil, errs.New(errs.BadRequest, "cert_unavailable_processing",
			"certificate %d has not been issued yet; poll GET /services/v2/order/certificate/%d until its status is issued", certID, cert.OrderID)
	}

	leaf, err := x509.ParseCertificate(cert.DER)
	if err != nil {
		return nil, internal(err, "parse stored certificate")
	}
	issuer, ok := s.ca.Issuer(cert.CAID)
	if !ok {
		return nil, errs.Wrap(errors.New("issuing CA not loaded"), "load chain of certificate %d", certID)
	}

	contentType, body, err := certformat.Encode(format, leaf, issuer.Chain)
	if errors.Is(err, certformat.ErrUnknownFormat) {
		return nil, errs.New(errs.BadRequest, "invalid_value:format", "%s", err.Error())
	}
	if err != nil {
		return nil, internal(err, "encode certificate")
	}
	return &Download{ContentType: contentType, Body: body}, nil
}
