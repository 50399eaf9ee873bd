package order

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"strconv"
	"strings"

	"github.com/docsign-ca/docsign-ca/internal/errs"
	"github.com/docsign-ca/docsign-ca/internal/revocation"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

// RevokeInput is a validated body of a revoke endpoint.
type RevokeInput struct {
	Comments string
	Reason   revocation.Reason
	// SkipApproval revokes at once, without a revoke request. Only
	// administrators may set it.
	SkipApproval bool
}

// RevokeOutcome is the result of a revoke call.
type RevokeOutcome struct {
	// Request is the revoke request that waits for an administrator. It is
	// nil when the certificates were revoked at once (SkipApproval).
	Request   *store.Request
	Requester store.User
	// Revoked lists the certificates revoked at once.
	Revoked []store.RevokedCertificate
}

// RevokeCertificate revokes one certificate of the caller's scope, or
// submits a revoke request for an administrator to approve. ref is the
// certificate id or its serial number in hex (see certificateByRef).
func (s *Service) RevokeCertificate(ctx context.Context, caller *store.Caller, ref string, in RevokeInput) (*RevokeOutcome, error) {
	cert, err := s.certificateByRef(ctx, caller, ref)
	if err != nil {
		return nil, err
	}
	target := store.Revocation{AccountID: caller.Account.ID, CertificateID: cert.ID, OrderID: cert.OrderID}
	return s.revoke(ctx, caller, target, in)
}

// RevokeOrder revokes every issued certificate of an order of the caller's
// scope, or submits a revoke request for an administrator to approve.
func (s *Service) RevokeOrder(ctx context.Context, caller *store.Caller, orderID int64, in RevokeInput) (*RevokeOutcome, error) {
	if _, err := s.visibleOrder(ctx, caller, orderID); err != nil {
		return nil, err
	}
	target := store.Revocation{AccountID: caller.Account.ID, OrderID: orderID}
	return s.revoke(ctx, caller, target, in)
}

func (s *Service) revoke(ctx context.Context, caller *store.Caller, target store.Revocation, in RevokeInput) (*RevokeOutcome, error) {
	if in.SkipApproval {
		if err := requireAdministrator(caller, "revoke without approval (skip_approval: true)"); err != nil {
			return nil, err
		}
	}
	target.UserID = caller.User.ID
	target.Reason = int(in.Reason)
	target.Comments = in.Comments
	outcome := &RevokeOutcome{Requester: caller.User}

	if !in.SkipApproval {
		request, err := s.store.CreateRevokeRequest(ctx, target)
		if err != nil {
			return nil, revokeError(err, target)
		}
		s.log.Info("revoke request submitted", "request_id", request.ID, "order_id", request.OrderID,
			"certificate_id", target.CertificateID, "reason", in.Reason.String(), "user_id", caller.User.ID)
		outcome.Request = request
		return outcome, nil
	}

	revoked, err := s.store.RevokeNow(ctx, target)
	if err != nil {
		return nil, revokeError(err, target)
	}
	s.logRevoked(revoked, caller.User.ID, 0)
	outcome.Revoked = revoked
	return outcome, nil
}

// revokeError maps a store error of a revocation to the client's error.
func revokeError(err error, target store.Revocation) error {
	object, id := "certificate", target.CertificateID
	if id == 0 {
		object, id = "order", target.OrderID
	}
	if errors.Is(err, store.ErrNotFound) {
		return errs.NotFoundf(object, "%s %d not found", object, id)
	}

	var re *store.RevokeError
	if !errors.As(err, &re) {
		return internal(err, "revoke "+object)
	}
	switch {
	case errors.Is(re.Err, store.ErrAlreadyRevoked) && re.CertificateID != 0:
		return errs.New(errs.BadRequest, "certificate_already_revoked",
			"certificate %d is already revoked; a revocation is final", re.CertificateID)
	case errors.Is(re.Err, store.ErrAlreadyRevoked):
		return errs.New(errs.BadRequest, "certificate_already_revoked",
			"every certificate of order %d is already revoked; a revocation is final", re.OrderID)
	case errors.Is(re.Err, store.ErrRevokePending):
		return errs.New(errs.BadRequest, "revoke_request_pending",
			"revoke request %d for order %d is waiting for an administrator; approve or reject it with PUT /services/v2/request/%d/status",
			re.RequestID, re.OrderID, re.RequestID)
	case errors.Is(re.Err, store.ErrNotIssued) && re.CertificateID != 0:
		return errs.New(errs.BadRequest, "certificate_not_issued",
			"certificate %d is %s, not issued; only an issued certificate can be revoked", re.CertificateID, re.Status)
	case errors.Is(re.Err, store.ErrNotIssued):
		return errs.New(errs.BadRequest, "certificate_not_issued",
			"order %d has no issued certificate to revoke; an order that is not issued yet can be canceled with PUT /services/v2/order/certificate/%d/status",
			re.OrderID, re.OrderID)
	}
	return internal(err, "revoke "+object)
}

// logRevoked logs each certificate a revocation revoked. requestID is the
// approved revoke request, or 0 for a revocation without approval.
func (s *Service) logRevoked(revoked []store.RevokedCertificate, userID, requestID int64) {
	for _, c := range revoked {
		s.log.Info("certificate revoked", "certificate_id", c.ID, "order_id", c.OrderID, "serial", c.SerialNumber,
			"reason", revocation.Reason(c.Reason).String(), "user_id", userID, "request_id", requestID)
	}
}

// logRevokeDecision logs what a decided revoke request did.
func (s *Service) logRevokeDecision(ctx context.Context, decided *store.Request, approve bool, processorID int64) {
	if !approve {
		s.log.Info("revoke request rejected; nothing was revoked", "request_id", decided.ID, "order_id", decided.OrderID, "processor_id", processorID)
		return
	}
	revoked, err := s.store.RevokedCertificatesOfRequest(ctx, decided.ID)
	if err != nil {
		s.log.Error("listing the certificates of an approved revoke request failed", "request_id", decided.ID, "error", err)
		return
	}
	s.logRevoked(revoked, processorID, decided.ID)
}

// maxCertificateIDDigits is the longest {id} read as a certificate id. A
// serial number has 127 random bits (about 32 hex digits), so a shorter
// all-digit value is an id.
const maxCertificateIDDigits = 18

var serialPattern = regexp.MustCompile(`(?i)^(0x)?[0-9a-f]+(:[0-9a-f]+)*$`)

// certificateByRef returns a certificate of the caller's scope named by
// its id (up to 18 decimal digits) or by its serial number in hex, with or
// without a 0x prefix or colons between bytes, in any letter case.
func (s *Service) certificateByRef(ctx context.Context, caller *store.Caller, ref string) (*store.Certificate, error) {
	if len(ref) <= maxCertificateIDDigits && strings.Trim(ref, "0123456789") == "" && ref != "" {
		id, err := strconv.ParseInt(ref, 10, 64)
		if err == nil && id > 0 {
			return s.visibleCertificate(ctx, caller, id)
		}
	}

	serial, ok := canonicalSerial(ref)
	if !ok {
		return nil, errs.NotFoundf("certificate",
			"certificate %q not found; name a certificate by its id or by its serial number in hex", ref)
	}
	cert, err := s.store.CertificateBySerial(ctx, caller.Account.ID, serial)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errs.NotFoundf("certificate", "no certificate of this account has serial number %s", serial)
	}
	if err != nil {
		return nil, internal(err, "read certificate by serial number")
	}
	// A certificate outside the caller's scope gets the same response as
	// one that does not exist.
	visible, err := s.inScope(ctx, caller, cert.OrderID)
	if err != nil {
		return nil, err
	}
	if !visible {
		return nil, errs.NotFoundf("certificate", "no certificate of this account has serial number %s", serial)
	}
	return cert, nil
}

// canonicalSerial returns a hex serial number in the stored form: upper
// case, the big-endian bytes of a positive number with no leading zero byte.
func canonicalSerial(ref string) (string, bool) {
	if !serialPattern.MatchString(ref) {
		return "", false
	}
	digits := strings.ReplaceAll(ref, ":", "")
	digits = strings.TrimPrefix(strings.TrimPrefix(digits, "0x"), "0X")

	n, ok := new(big.Int).SetString(digits, 16)
	if !ok || n.Sign() <= 0 {
		return "", false
	}
	return fmt.Sprintf("%X", n.Bytes()), true
}
