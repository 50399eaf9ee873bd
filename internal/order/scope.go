package order

import (
	"context"
	"errors"
	"slices"

	"github.com/docsign-ca/docsign-ca/internal/errs"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

// scope returns the part of the account the caller may see. That is the
// orders of its container subtree, or only its own orders for a limited
// user, and the organizations of that subtree or of a container above it.
// It is nil for a caller at the account's root container who is not a
// limited user, because that caller sees the whole account.
//
// Everything outside the scope is reported as not found, as an object of
// another account is, so that a caller cannot learn which ids exist in
// containers it may not see.
func (s *Service) scope(ctx context.Context, caller *store.Caller) (*store.Scope, error) {
	limited := caller.User.Role == store.RoleLimitedUser
	if caller.User.ContainerID == caller.Account.RootContainerID && !limited {
		return nil, nil
	}

	subtree, err := s.subtree(ctx, caller)
	if err != nil {
		return nil, err
	}
	ancestors, err := s.store.ContainerAncestors(ctx, caller.User.ContainerID)
	if err != nil {
		return nil, internal(err, "read containers above the caller's")
	}
	sc := &store.Scope{
		Containers:             subtree,
		OrganizationContainers: append(slices.Clone(subtree), ancestors...),
	}
	if limited {
		sc.OrderedBy = caller.User.ID
	}
	return sc, nil
}

// visibleOrder returns an order of the caller's scope.
func (s *Service) visibleOrder(ctx context.Context, caller *store.Caller, id int64) (*store.Order, error) {
	o, err := s.store.Order(ctx, caller.Account.ID, id)
	if err != nil {
		return nil, notFound(err, "order", id)
	}
	sc, err := s.scope(ctx, caller)
	if err != nil {
		return nil, err
	}
	if !sc.AllowsOrder(o.ContainerID, o.UserID) {
		return nil, errs.NotFoundf("order", "order %d not found", id)
	}
	return o, nil
}

// inScope reports whether the order with id is in the caller's scope. The
// id must come from an object read with the caller's account id, such as a
// certificate or a request, whose order always belongs to the same account.
// A caller who sees the whole account therefore needs no read of the order.
func (s *Service) inScope(ctx context.Context, caller *store.Caller, orderID int64) (bool, error) {
	sc, err := s.scope(ctx, caller)
	if err != nil {
		return false, err
	}
	if sc == nil {
		return true, nil
	}

	o, err := s.store.Order(ctx, caller.Account.ID, orderID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, internal(err, "read order")
	}
	return sc.AllowsOrder(o.ContainerID, o.UserID), nil
}

// visibleCertificate returns a certificate of an order of the caller's scope.
func (s *Service) visibleCertificate(ctx context.Context, caller *store.Caller, id int64) (*store.Certificate, error) {
	cert, err := s.store.Certificate(ctx, caller.Account.ID, id)
	if err != nil {
		return nil, notFound(err, "certificate", id)
	}
	if err := s.requireCertificateInScope(ctx, caller, cert); err != nil {
		return nil, err
	}
	return cert, nil
}

// requireCertificateInScope returns not_found|certificate when the
// certificate's order is outside the caller's scope.
func (s *Service) requireCertificateInScope(ctx context.Context, caller *store.Caller, cert *store.Certificate) error {
	ok, err := s.inScope(ctx, caller, cert.OrderID)
	if err != nil {
		return err
	}
	if !ok {
		return errs.NotFoundf("certificate", "certificate %d not found", cert.ID)
	}
	return nil
}

// visibleRequest returns a request of an order of the caller's scope.
func (s *Service) visibleRequest(ctx context.Context, caller *store.Caller, id int64) (*store.Request, error) {
	r, err := s.store.Request(ctx, caller.Account.ID, id)
	if err != nil {
		return nil, notFound(err, "request", id)
	}
	ok, err := s.inScope(ctx, caller, r.OrderID)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errs.NotFoundf("request", "request %d not found", id)
	}
	return r, nil
}

// visibleOrganization returns an organization of the caller's scope.
func (s *Service) visibleOrganization(ctx context.Context, caller *store.Caller, id int64) (*store.Organization, error) {
	org, err := s.store.Organization(ctx, caller.Account.ID, id)
	if err != nil {
		return nil, notFound(err, "organization", id)
	}
	sc, err := s.scope(ctx, caller)
	if err != nil {
		return nil, err
	}
	if !sc.AllowsOrganization(org.ContainerID) {
		return nil, errs.NotFoundf("organization", "organization %d not found", id)
	}
	return org, nil
}
