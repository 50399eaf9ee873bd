package order

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/ca"
	"github.com/docsign-ca/docsign-ca/internal/errs"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

// ValidationLifetime is how long a completed organization validation stays
// active. CertCentral reuses an OV-style organization validation for 825
// days; docsign-ca uses the same period for its "ds" validation.
const ValidationLifetime = 825 * 24 * time.Hour

// Service holds the business rules of the ds_org product: organizations and
// their validation, orders, approval and the hand-off to the CA.
type Service struct {
	store *store.Store
	ca    *ca.Service
	log   *slog.Logger
	// AutoValidate completes every submitted validation at once, for
	// development and sandbox use.
	AutoValidate bool
	// Provisioning configures the client_app pickup codes.
	Provisioning ProvisioningConfig
	// Payment sets prices, the negative balance limit and the card processor.
	Payment PaymentConfig
	now     func() time.Time
}

// NewService returns the order workflow over a store and a CA.
func NewService(st *store.Store, authority *ca.Service, log *slog.Logger) *Service {
	return &Service{store: st, ca: authority, log: log, Payment: defaultPaymentConfig(), now: func() time.Time { return time.Now().UTC() }}
}

// Now returns the service clock's current time in UTC.
func (s *Service) Now() time.Time { return s.now() }

// internal wraps an unexpected store error for the HTTP edge, which logs
// the cause and shows the client a generic message.
func internal(err error, action string) error {
	if errs.As(err) != nil {
		return err
	}
	return errs.Wrap(err, "%s failed", action)
}

// notFound maps store.ErrNotFound to the CertCentral code for the object.
func notFound(err error, object string, id int64) error {
	if errors.Is(err, store.ErrNotFound) {
		return errs.NotFoundf(object, "%s %d not found", object, id)
	}
	return internal(err, "read "+object)
}

// requireAdministrator rejects callers who are not administrators of their
// account.
func requireAdministrator(caller *store.Caller, action string) error {
	if caller.User.Role == store.RoleAdministrator {
		return nil
	}
	return errs.New(errs.Forbidden, "access_denied|missing_permission",
		"only an administrator may %s; user %d has role %s", action, caller.User.ID, caller.User.Role)
}

// CompleteValidation marks an organization's validation active; the operator
// command and --auto-validate use it. Orders that were waiting only for
// this validation are then issued by the issuance sweep.
func (s *Service) CompleteValidation(ctx context.Context, orgID int64, typ string) error {
	if _, err := s.store.OrganizationByID(ctx, orgID); err != nil {
		return notFound(err, "organization", orgID)
	}
	until := s.now().Add(ValidationLifetime)
	if err := s.store.CompleteValidation(ctx, orgID, typ, until); err != nil {
		return internal(err, "complete validation")
	}
	s.log.Info("organization validation completed", "organization_id", orgID, "type", typ, "validated_until", until.Format(time.RFC3339))
	return nil
}

// fmtID formats an id for messages.
func fmtID(id int64) string { return fmt.Sprintf("%d", id) }
