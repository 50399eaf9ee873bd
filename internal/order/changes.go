package order

import (
	"context"
	"crypto/x509"
	"errors"
	"strings"

	"github.com/docsign-ca/docsign-ca/internal/csr"
	"github.com/docsign-ca/docsign-ca/internal/errs"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

// maxNoteLength bounds the note of a status change, like an order's comments.
const maxNoteLength = maxFreeTextLength

// stateError maps a store state conflict to a 400 that names the status.
func stateError(err error, action string) error {
	var se *store.StateError
	if errors.As(err, &se) {
		return errs.New(errs.BadRequest, "invalid_order_status",
			"order %d is %s, so it cannot %s", se.OrderID, se.Status, action)
	}
	return nil
}

// UpdateOrderStatus applies PUT /order/certificate/{id}/status: "canceled"
// (with a required note) for an order not yet issued, or "renewed" and
// "not_renewed" for an issued order. Values match case-insensitively, since
// older clients send CANCELED.
func (s *Service) UpdateOrderStatus(ctx context.Context, caller *store.Caller, orderID int64, status, note string) error {
	if _, err := s.visibleOrder(ctx, caller, orderID); err != nil {
		return err
	}

	var err error
	switch strings.ToLower(status) {
	case "canceled":
		err = s.store.CancelOrder(ctx, caller.Account.ID, orderID, note)
	case "renewed", "not_renewed":
		err = s.store.SetRenewalStatus(ctx, caller.Account.ID, orderID, strings.ToLower(status))
	default:
		return errs.New(errs.BadRequest, "invalid_value:status", "status %q is not allowed; allowed: canceled, renewed, not_renewed", status)
	}
	if e := stateError(err, "be set to "+strings.ToLower(status)); e != nil {
		return e
	}
	if err != nil {
		return notFound(err, "order", orderID)
	}
	s.log.Info("order status changed", "order_id", orderID, "status", strings.ToLower(status), "user_id", caller.User.ID)
	if strings.EqualFold(status, "canceled") {
		s.refundOrderCard(ctx, orderID)
	}
	return nil
}

// ParseCSRField parses a CSR sent in a body field at path with the same
// rules as a ds_org order's certificate.csr.
func ParseCSRField(value any, path string) (*csr.Request, error) {
	var problems errs.List
	text, ok := value.(string)
	switch {
	case value == nil:
		problems.Required(path, "send the CSR or public key in PEM format in %s", path)
	case !ok:
		problems.Invalid(path, "%s must be a string holding a PEM CSR", path)
	case len(text) > maxCSRBytes:
		problems.Invalid(path, "%s is longer than the limit of %d bytes", path, maxCSRBytes)
	case strings.TrimSpace(text) == "":
		problems.Required(path, "send the CSR or public key in PEM format in %s", path)
	}
	if err := problems.Err(); err != nil {
		return nil, err
	}

	parsed, err := csr.Parse(text)
	if errors.Is(err, csr.ErrKeyNotAllowed) {
		problems.Invalid(path, "%s: %v", path, err)
		return nil, problems.Err()
	}
	if err != nil {
		problems.Add("csr_invalid_cannot_parse", "%s: %v", path, err)
		return nil, problems.Err()
	}
	return parsed, nil
}

func keyMaterial(parsed *csr.Request) store.KeyMaterial {
	return store.KeyMaterial{CSRPEM: parsed.PEM, PublicKey: parsed.PublicKeyDER, KeyType: parsed.KeyType, KeySize: parsed.KeySize}
}

// ReplaceCSR adds or replaces the CSR of an order that is not yet issued,
// then issues it when nothing else is missing.
func (s *Service) ReplaceCSR(ctx context.Context, caller *store.Caller, orderID int64, parsed *csr.Request) error {
	if _, err := s.visibleOrder(ctx, caller, orderID); err != nil {
		return err
	}

	err := s.store.ReplaceCSR(ctx, caller.Account.ID, orderID, keyMaterial(parsed))
	if e := stateError(err, "take a new CSR; reissue an issued order instead"); e != nil {
		return e
	}
	if err != nil {
		return notFound(err, "order", orderID)
	}
	s.log.Info("order CSR replaced", "order_id", orderID, "key_type", parsed.KeyType, "key_size", parsed.KeySize)
	s.tryIssue(ctx, orderID)
	return nil
}

// ReissueRequest is a validated body of POST /order/certificate/{id}/reissue.
type ReissueRequest struct {
	CSR           *csr.Request
	SignatureHash string
	Comments      string
	SkipApproval  bool
}

// Reissued is the outcome of a reissue or duplicate.
type Reissued struct {
	OrderID       int64
	RequestID     int64
	CertificateID int64
	Certificate   []byte
	Chain         []*x509.Certificate
}

// Reissue replaces the key of an issued order with a new certificate. It
// goes through the same approval as a new order unless an administrator
// skips it.
func (s *Service) Reissue(ctx context.Context, caller *store.Caller, orderID int64, req *ReissueRequest) (*Reissued, error) {
	if req.SkipApproval {
		if err := requireAdministrator(caller, "skip approval (skip_approval: true)"); err != nil {
			return nil, err
		}
	}
	o, err := s.visibleOrder(ctx, caller, orderID)
	if err != nil {
		return nil, err
	}
	hash := req.SignatureHash
	if hash == "" {
		hash = o.SignatureHash
	}

	requestID, certID, err := s.store.RequestReissue(ctx, store.Reissue{
		AccountID: caller.Account.ID, OrderID: orderID, RequesterID: caller.User.ID,
		Key: keyMaterial(req.CSR), SignatureHash: hash, Comments: req.Comments, Approved: req.SkipApproval,
	})
	if e := stateError(err, "be reissued; only an issued order can"); e != nil {
		return nil, e
	}
	if err != nil {
		return nil, internal(err, "store reissue")
	}
	s.log.Info("reissue requested", "order_id", orderID, "request_id", requestID, "certificate_id", certID)

	out := &Reissued{OrderID: orderID, RequestID: requestID, CertificateID: certID}
	if req.SkipApproval {
		out.Certificate = s.tryIssue(ctx, orderID)
		out.Chain = s.chainOf(o.CAID)
	}
	return out, nil
}

// Duplicate adds a certificate with another key to an issued order and
// issues it within the call. A duplicate needs no new approval: the order
// was approved, and the original certificate stays valid.
func (s *Service) Duplicate(ctx context.Context, caller *store.Caller, orderID int64, parsed *csr.Request) (*Reissued, error) {
	o, err := s.visibleOrder(ctx, caller, orderID)
	if err != nil {
		return nil, err
	}
	validated, err := s.store.HasActiveValidation(ctx, o.OrganizationID, "ds")
	if err != nil {
		return nil, internal(err, "read validation")
	}
	if !validated {
		return nil, errs.New(errs.BadRequest, "organization_not_validated",
			"organization %d of order %d has no active ds validation, so no duplicate can be issued; submit a validation first", o.OrganizationID, orderID)
	}
	certID, err := s.store.AddDuplicate(ctx, caller.Account.ID, orderID, keyMaterial(parsed))
	if e := stateError(err, "have a duplicate; only an issued order can"); e != nil {
		return nil, e
	}
	if err != nil {
		return nil, internal(err, "store duplicate")
	}

	cert, err := s.store.Certificate(ctx, caller.Account.ID, certID)
	if err != nil {
		return nil, internal(err, "read duplicate certificate")
	}
	der, err := s.issueCertificate(ctx, o, cert)
	if err != nil {
		return nil, errs.Wrap(err, "issue duplicate certificate of order %d", orderID)
	}
	s.log.Info("duplicate issued", "order_id", orderID, "certificate_id", certID)
	return &Reissued{OrderID: orderID, CertificateID: certID, Certificate: der, Chain: s.chainOf(o.CAID)}, nil
}

func (s *Service) chainOf(caID int64) []*x509.Certificate {
	if issuer, ok := s.ca.Issuer(caID); ok {
		return issuer.Chain
	}
	return nil
}
