package order

import (
	"context"
	"errors"

	"github.com/docsign-ca/docsign-ca/internal/errs"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

// DecideRequest approves or rejects a pending request. Of several concurrent
// decisions on one request exactly one succeeds; the others get 409
// request_already_processed. An approval issues the certificate at once
// when the organization is validated and key material is present.
func (s *Service) DecideRequest(ctx context.Context, caller *store.Caller, requestID int64, approve bool, comment string) error {
	if err := requireAdministrator(caller, "approve or reject requests"); err != nil {
		return err
	}
	if _, err := s.visibleRequest(ctx, caller, requestID); err != nil {
		return err
	}

	decided, err := s.store.DecideRequest(ctx, caller.Account.ID, requestID, caller.User.ID, approve, comment)
	if errors.Is(err, store.ErrConflict) {
		current, readErr := s.store.Request(ctx, caller.Account.ID, requestID)
		status := "processed"
		if readErr == nil {
			status = current.Status
		}
		return errs.New(errs.Conflict, "request_already_processed",
			"request %d is already %s; only a pending request, or a submitted revoke request, can be approved or rejected", requestID, status)
	}
	if err != nil {
		return notFound(err, "request", requestID)
	}
	s.log.Info("request decided", "request_id", requestID, "order_id", decided.OrderID, "status", decided.Status, "processor_id", caller.User.ID)

	if decided.Type == store.RequestRevoke {
		s.logRevokeDecision(ctx, decided, approve, caller.User.ID)
		return nil
	}
	if approve {
		s.tryIssue(ctx, decided.OrderID)
	} else {
		s.refundOrderCard(ctx, decided.OrderID)
	}
	return nil
}

// OrderInfo is an order with everything its CertCentral view shows.
type OrderInfo struct {
	Order        *store.Order
	Details      *details
	Organization *store.Organization
	Requests     []store.Request
	Certificate  *store.Certificate
	Requester    *store.User
	CACertID     string
	CAName       string
	Provisioning *ProvisioningInfo
}

// Order returns an order of the caller's scope.
func (s *Service) Order(ctx context.Context, caller *store.Caller, id int64) (*OrderInfo, error) {
	o, err := s.visibleOrder(ctx, caller, id)
	if err != nil {
		return nil, err
	}
	info := &OrderInfo{Order: o}
	if info.Details, err = Details(o); err != nil {
		return nil, internal(err, "decode order details")
	}
	if info.Organization, err = s.store.OrganizationByID(ctx, o.OrganizationID); err != nil {
		return nil, internal(err, "read organization")
	}
	if info.Requests, err = s.store.RequestsForOrder(ctx, o.ID); err != nil {
		return nil, internal(err, "read requests")
	}
	if info.Certificate, err = s.store.CertificateForOrder(ctx, o.ID); err != nil {
		return nil, internal(err, "read certificate")
	}
	if info.Requester, err = s.store.UserInAccount(ctx, o.AccountID, o.UserID); err != nil {
		return nil, internal(err, "read requester")
	}
	if issuer, ok := s.ca.Issuer(o.CAID); ok {
		info.CACertID, info.CAName = issuer.Record.CACertID, issuer.Record.CommonName
	}
	if info.Provisioning, err = s.provisioningInfo(ctx, o); err != nil {
		return nil, internal(err, "read provisioning state")
	}
	return info, nil
}
