package order

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"slices"
	"strings"

	"github.com/docsign-ca/docsign-ca/internal/ca"
	"github.com/docsign-ca/docsign-ca/internal/errs"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

// ProductNameID is the CertCentral product this workflow serves.
const ProductNameID = "ds_org"

// PlacedOrder is the outcome of PlaceDSOrder.
type PlacedOrder struct {
	OrderID   int64
	RequestID int64 // 0 when the order skipped approval
	// RequestStatus is what the wire shows: "pending", "submitted" (approved,
	// waiting for validation or key material) or "approved" (and issued).
	RequestStatus       string
	CertificateID       int64
	OrganizationID      int64
	OrganizationCreated bool
	// Certificate and Chain are set when the certificate was issued within the call.
	Certificate []byte
	Chain       []*x509.Certificate
}

// details is the part of a validated order kept as JSON with the order.
// The card number and CVV are not in it: only brand and last four digits.
type details struct {
	Usages                      []string        `json:"usages"`
	ServerPlatformID            int             `json:"server_platform_id"`
	CACertID                    string          `json:"ca_cert_id,omitempty"`
	ShipInfo                    *ShipInfo       `json:"ship_info,omitempty"`
	Contacts                    []Contact       `json:"contacts,omitempty"`
	OrganizationContact         *Contact        `json:"organization_contact,omitempty"`
	TechnicalContact            *Contact        `json:"technical_contact,omitempty"`
	AdditionalEmails            []string        `json:"additional_emails,omitempty"`
	CustomRenewalMessage        string          `json:"custom_renewal_message,omitempty"`
	Comments                    string          `json:"comments,omitempty"`
	UserIDAssignments           []int64         `json:"user_id_assignments,omitempty"`
	RenewedThumbprint           string          `json:"renewed_thumbprint,omitempty"`
	Validity                    Validity        `json:"validity"`
	PaymentMethod               string          `json:"payment_method"`
	CardBrand                   string          `json:"card_brand,omitempty"`
	CardLastFour                string          `json:"card_last_four,omitempty"`
	BillingAddress              *BillingAddress `json:"billing_address,omitempty"`
	DisableRenewalNotifications bool            `json:"disable_renewal_notifications"`
	PromoCode                   string          `json:"promo_code,omitempty"`
}

// Details decodes the JSON details stored with an order.
func Details(o *store.Order) (*details, error) {
	var d details
	if err := json.Unmarshal(o.Details, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// PlaceDSOrder checks what the validator could not (that every id in the
// body names something the caller may see), then stores the order, its
// certificate placeholder, its request and any new organization in one
// transaction. When nothing else is missing, the certificate is issued
// within the call. parseErr is ParseDSOrg's error for req, if any: its
// problems are reported together with the id checks in one response.
func (s *Service) PlaceDSOrder(ctx context.Context, caller *store.Caller, req *DSOrgRequest, parseErr error) (*PlacedOrder, error) {
	if req.SkipApproval {
		if err := requireAdministrator(caller, "skip approval (skip_approval: true)"); err != nil {
			return nil, err
		}
	}

	var problems errs.List
	if e := errs.As(parseErr); e != nil {
		for _, p := range e.Problems {
			problems.Add(p.Code, "%s", p.Message)
		}
	} else if parseErr != nil {
		return nil, parseErr
	}
	sc, err := s.scope(ctx, caller)
	if err != nil {
		return nil, err
	}
	org, newOrg := s.resolveOrganization(ctx, caller, req, &problems)
	s.checkContacts(ctx, caller, req, &problems)
	containerID := s.resolveContainer(ctx, caller, req, &problems)
	if newOrg != nil {
		// A new organization belongs to the container of the order that
		// creates it.
		newOrg.ContainerID = containerID
	}
	s.checkRenewal(ctx, caller, req, &problems)
	if err := s.checkAssignments(ctx, caller, req, containerID, &problems); err != nil {
		return nil, err
	}
	issuer := s.resolveIssuer(req, &problems)
	promo := s.resolvePromoCode(ctx, req.PromoCode, &problems)
	profile := s.resolvePaymentProfile(ctx, caller, req, &problems)
	if issuer != nil {
		checkHashForIssuer(req.SignatureHash, issuer, &problems)
	}
	if issuer != nil && req.Validity.EndDate.After(issuer.Cert.NotAfter) {
		problems.Invalid("order_validity", "the validity ends %s, after the issuing CA's certificate expires (%s); choose a shorter validity",
			req.Validity.EndDate.Format("2006-01-02"), issuer.Cert.NotAfter.UTC().Format("2006-01-02"))
	}
	if err := problems.Err(); err != nil {
		return nil, err
	}

	in, err := s.newOrder(caller, req, org, newOrg, containerID, issuer)
	if err != nil {
		return nil, err
	}
	in.DuplicateScope = sc
	created, err := s.createPaidOrder(ctx, caller, req, in, s.priceOrder(req, promo), profile)
	if err != nil {
		return nil, err
	}
	s.log.Info("order placed", "order_id", created.OrderID, "account_id", caller.Account.ID, "user_id", caller.User.ID,
		"organization_id", created.OrganizationID, "provisioning_method", req.ProvisioningMethod, "request_id", created.RequestID)

	if err := s.ensureValidationSubmitted(ctx, created.OrganizationID); err != nil {
		return nil, err
	}

	placed := &PlacedOrder{
		OrderID:             created.OrderID,
		RequestID:           created.RequestID,
		RequestStatus:       store.RequestPending,
		CertificateID:       created.CertificateID,
		OrganizationID:      created.OrganizationID,
		OrganizationCreated: created.OrganizationCreated,
	}
	if in.RequestStatus == store.RequestApproved {
		placed.RequestStatus = "submitted"
	}
	if in.Order.Status == store.OrderPending {
		if der := s.tryIssue(ctx, created.OrderID); der != nil {
			placed.Certificate = der
			placed.Chain = issuer.Chain
			if in.RequestStatus == store.RequestApproved {
				placed.RequestStatus = store.RequestApproved
			}
		}
	}
	return placed, nil
}

// createPaidOrder charges a card or profile payment, then stores the order
// with its payment in one transaction. When that transaction fails after a
// successful charge, the charge is refunded.
func (s *Service) createPaidOrder(ctx context.Context, caller *store.Caller, req *DSOrgRequest, in *store.NewOrder,
	q quote, profile *store.PaymentProfile) (*store.CreatedOrder, error) {
	paid, err := s.charge(ctx, caller, req, q, profile)
	if err != nil {
		return nil, err
	}
	in.Payment = paid

	created, err := s.store.CreateOrder(ctx, *in)
	if err == nil {
		return created, nil
	}
	s.refundFailedOrder(ctx, paid, err)

	var short *store.InsufficientFundsError
	if errors.As(err, &short) {
		s.log.Info("order rejected for insufficient funds", "account_id", caller.Account.ID, "container_id", short.ContainerID,
			"balance_cents", short.BalanceCents, "price_cents", short.PriceCents, "limit_cents", short.LimitCents)
		return nil, insufficientFunds(short)
	}
	return nil, internal(err, "store order")
}

// newOrder assembles the rows CreateOrder writes.
func (s *Service) newOrder(caller *store.Caller, req *DSOrgRequest, org *store.Organization, newOrg *store.Organization,
	containerID int64, issuer *ca.Issuer) (*store.NewOrder, error) {
	d := details{
		Usages:                      req.Usages,
		ServerPlatformID:            req.ServerPlatformID,
		CACertID:                    issuer.Record.CACertID,
		ShipInfo:                    req.ShipInfo,
		Contacts:                    req.Organization.Contacts,
		OrganizationContact:         req.OrganizationContact,
		TechnicalContact:            req.TechnicalContact,
		AdditionalEmails:            req.AdditionalEmails,
		CustomRenewalMessage:        req.CustomRenewalMessage,
		Comments:                    req.Comments,
		UserIDAssignments:           req.UserIDAssignments,
		RenewedThumbprint:           req.RenewedThumbprint,
		Validity:                    req.Validity,
		PaymentMethod:               req.PaymentMethod,
		BillingAddress:              req.BillingAddress,
		DisableRenewalNotifications: req.DisableRenewalNotifications,
		PromoCode:                   req.PromoCode,
	}
	if req.Card != nil {
		d.CardBrand, d.CardLastFour = req.Card.Brand, req.Card.LastFour
	}
	raw, err := json.Marshal(d)
	if err != nil {
		return nil, errs.Wrap(err, "encode order details")
	}

	o := store.Order{
		AccountID:          caller.Account.ID,
		ContainerID:        containerID,
		UserID:             caller.User.ID,
		ProductNameID:      ProductNameID,
		ProvisioningMethod: req.ProvisioningMethod,
		KeyType:            req.KeyType,
		KeySize:            req.KeySize,
		SignatureHash:      req.SignatureHash,
		CAID:               issuer.Record.ID,
		NotAfter:           req.Validity.EndDate,
		SkipApproval:       req.SkipApproval,
		RenewalOfOrderID:   req.RenewalOfOrderID,
		Details:            raw,
	}
	if org != nil {
		o.OrganizationID = org.ID
	}
	if req.CSR != nil {
		o.CSRPEM = req.CSR.PEM
		o.PublicKey = req.CSR.PublicKeyDER
	}

	in := &store.NewOrder{Order: o, NewOrganization: newOrg, RequestComments: req.Comments}
	if req.Organization.New != nil {
		in.SkipDuplicateCheck = req.Organization.New.SkipDuplicateOrgCheck
	}
	switch {
	case req.SkipApproval:
		in.Order.Status = store.OrderPending
	case caller.User.Role == store.RoleAdministrator && caller.Account.ApprovalPolicy == store.ApprovalSkipForAdministrators:
		in.RequestStatus = store.RequestApproved
		in.Order.Status = store.OrderPending
	default:
		in.RequestStatus = store.RequestPending
		in.Order.Status = store.OrderNeedsApproval
	}
	return in, nil
}

// resolveOrganization returns the existing organization named by id, which
// must be in the caller's scope, or the organization row to create from new
// details. The caller sets the new row's container.
func (s *Service) resolveOrganization(ctx context.Context, caller *store.Caller, req *DSOrgRequest, problems *errs.List) (*store.Organization, *store.Organization) {
	if req.Organization.ID != 0 {
		org, err := s.visibleOrganization(ctx, caller, req.Organization.ID)
		if err != nil {
			problems.Invalid("organization.id", "organization %d is not an organization you may use; list yours with GET /services/v2/organization", req.Organization.ID)
			return nil, nil
		}
		if !org.IsActive {
			problems.Invalid("organization.id", "organization %d is inactive; choose an active organization", req.Organization.ID)
		}
		return org, nil
	}
	if req.Organization.New == nil {
		return nil, nil
	}
	return nil, s.organizationRow(caller, 0, req.Organization.New, req.OrganizationContact)
}

// organizationRow turns validated organization details into a store row of
// the container. Without an organization contact, the caller becomes the
// contact, as CertCentral does.
func (s *Service) organizationRow(caller *store.Caller, containerID int64, in *OrganizationInput, override *Contact) *store.Organization {
	contact := store.Contact{
		ID:        caller.User.ID,
		FirstName: caller.User.FirstName,
		LastName:  caller.User.LastName,
		Email:     caller.User.Email,
		JobTitle:  caller.User.JobTitle,
		Telephone: caller.User.Telephone,
	}
	if c := in.OrganizationContact; c != nil {
		contact = storeContact(c)
	}
	if override != nil && !override.Existing() {
		contact = storeContact(override)
	}
	return &store.Organization{
		AccountID:           caller.Account.ID,
		ContainerID:         containerID,
		Name:                in.Name,
		AssumedName:         in.AssumedName,
		Address:             in.Address,
		Address2:            in.Address2,
		City:                in.City,
		State:               in.State,
		Zip:                 in.Zip,
		Country:             in.Country,
		Telephone:           in.Telephone,
		NormalizedKey:       in.NormalizedKey(),
		OrganizationContact: contact,
	}
}

func storeContact(c *Contact) store.Contact {
	return store.Contact{
		FirstName: c.FirstName,
		LastName:  c.LastName,
		Email:     c.Email,
		JobTitle:  c.JobTitle,
		Telephone: c.Telephone,
	}
}

// checkContacts requires every existing contact to name a user of the account.
func (s *Service) checkContacts(ctx context.Context, caller *store.Caller, req *DSOrgRequest, problems *errs.List) {
	for i, c := range req.Organization.Contacts {
		s.checkContact(ctx, caller, &c, "organization.contacts["+fmtID(int64(i))+"]", problems)
	}
	if req.OrganizationContact != nil {
		s.checkContact(ctx, caller, req.OrganizationContact, "organization_contact", problems)
	}
	if req.TechnicalContact != nil {
		s.checkContact(ctx, caller, req.TechnicalContact, "technical_contact", problems)
	}
}

// checkContact checks one existing contact. docsign-ca's contacts are the
// account's users, so a contact id and a user_id name the same thing.
func (s *Service) checkContact(ctx context.Context, caller *store.Caller, c *Contact, path string, problems *errs.List) {
	if !c.Existing() {
		return
	}
	id, field := c.UserID, "user_id"
	if id == 0 {
		id, field = c.ID, "id"
	}
	if _, err := s.store.UserInAccount(ctx, caller.Account.ID, id); err != nil {
		problems.Invalid(path+"."+field, "user %d is not a user of this account; name an existing user, or send first_name, last_name, email, job_title and telephone for a new contact", id)
	}
}

// resolveContainer returns the order's container: container.id, which must
// be in the caller's subtree, or else the caller's own container. It
// returns 0 after recording a problem.
func (s *Service) resolveContainer(ctx context.Context, caller *store.Caller, req *DSOrgRequest, problems *errs.List) int64 {
	if req.ContainerID == 0 {
		return caller.User.ContainerID
	}
	if _, err := s.visibleContainer(ctx, caller, req.ContainerID); err != nil {
		problems.Invalid("container.id", "container %d is not your container or one below it; list yours with GET /services/v2/container, or omit container.id to use your own", req.ContainerID)
		return 0
	}
	return req.ContainerID
}

func (s *Service) checkRenewal(ctx context.Context, caller *store.Caller, req *DSOrgRequest, problems *errs.List) {
	renewedOrderOK, path := false, "renewal_of_order_id"
	if req.RenewalOfOrderID == 0 {
		path = "renewed_thumbprint"
	}
	if req.RenewalOfOrderID != 0 {
		if _, err := s.visibleOrder(ctx, caller, req.RenewalOfOrderID); err != nil {
			problems.Invalid("renewal_of_order_id", "order %d is not an order you may see; send the id of the order this one renews, or 0", req.RenewalOfOrderID)
		} else {
			renewedOrderOK = true
		}
	}
	if req.RenewedThumbprint != "" {
		cert, err := s.store.CertificateByThumbprint(ctx, caller.Account.ID, req.RenewedThumbprint)
		if err == nil {
			err = s.requireCertificateInScope(ctx, caller, cert)
		}
		if err != nil {
			problems.Invalid("renewed_thumbprint", "no certificate of this account has thumbprint %s; send the SHA-1 thumbprint of the certificate this order renews", req.RenewedThumbprint)
		} else {
			renewedOrderOK = s.linkRenewedThumbprint(req, cert, problems)
		}
	}
	if renewedOrderOK {
		s.checkRenewedOnce(ctx, req.RenewalOfOrderID, path, problems)
	}
}

// checkAssignments requires every assigned user to be an active user of the
// order's container or of a container below it. containerID is 0 when
// container.id was rejected, and then nothing is checked.
func (s *Service) checkAssignments(ctx context.Context, caller *store.Caller, req *DSOrgRequest, containerID int64, problems *errs.List) error {
	if len(req.UserIDAssignments) == 0 || containerID == 0 {
		return nil
	}
	containers, err := s.store.ContainerSubtree(ctx, caller.Account.ID, containerID)
	if err != nil {
		return internal(err, "read the containers below container "+fmtID(containerID))
	}
	for i, id := range req.UserIDAssignments {
		u, err := s.store.ActiveUserInAccount(ctx, caller.Account.ID, id)
		if err != nil || !slices.Contains(containers, u.ContainerID) {
			problems.Invalid("user_id_assignments["+fmtID(int64(i))+"]",
				"user %d is not in container %d, where the order is placed, or a container below it; assign a user of that subtree, or set container.id to the user's container",
				id, containerID)
		}
	}
	return nil
}

func (s *Service) resolveIssuer(req *DSOrgRequest, problems *errs.List) *ca.Issuer {
	if req.CACertID == "" {
		issuer, _ := s.ca.Issuer(s.ca.DefaultID)
		return issuer
	}
	issuer, ok := s.ca.IssuerByCACertID(req.CACertID)
	if !ok {
		allowed := make([]string, 0)
		for _, i := range s.ca.Issuers() {
			allowed = append(allowed, i.Record.CACertID)
		}
		problems.Invalid("certificate.ca_cert_id", "ca_cert_id %q names no active issuing CA; allowed: %s", req.CACertID, strings.Join(allowed, ", "))
	}
	return issuer
}

// ensureValidationSubmitted submits a "ds" validation for an organization
// that has none, as CertCentral does when an order names an organization
// not yet validated for the product.
func (s *Service) ensureValidationSubmitted(ctx context.Context, orgID int64) error {
	validations, err := s.store.Validations(ctx, orgID)
	if err != nil {
		return internal(err, "read validations")
	}
	for _, v := range validations {
		if v.Type == "ds" {
			return nil
		}
	}
	if err := s.store.SubmitValidations(ctx, orgID, []string{"ds"}, nil); err != nil {
		return internal(err, "submit validation")
	}
	if s.AutoValidate {
		return s.CompleteValidation(ctx, orgID, "ds")
	}
	return nil
}

// tryIssue issues the order's certificate when everything is in place and
// returns its DER, or nil. A failure is recorded on the order by the CA and
// does not fail the caller's request: the order itself was stored.
func (s *Service) tryIssue(ctx context.Context, orderID int64) []byte {
	der, _ := s.issueLogged(ctx, orderID)
	return der
}

// issueLogged is tryIssue that also returns the error.
func (s *Service) issueLogged(ctx context.Context, orderID int64) ([]byte, error) {
	der, err := s.issue(ctx, orderID)
	if errors.Is(err, errNotReady) {
		// A client_app order gets its key from the client app: it moves to
		// waiting_pickup with a pickup code once approved and validated.
		s.startPickup(ctx, orderID)
	}
	if err != nil && !errors.Is(err, ca.ErrAlreadyIssuing) && !errors.Is(err, errNotReady) {
		s.log.Warn("order not issued", "order_id", orderID, "error", err)
	}
	return der, err
}

// errNotReady means the order still waits for approval, validation or key material.
var errNotReady = errors.New("order is not ready for issuance")

func (s *Service) issue(ctx context.Context, orderID int64) ([]byte, error) {
	o, err := s.store.OrderByID(ctx, orderID)
	if err != nil {
		return nil, err
	}
	if o.Status != store.OrderPending || len(o.PublicKey) == 0 || o.IssueError != "" {
		return nil, errNotReady
	}
	cert, err := s.store.CertificateForOrder(ctx, o.ID)
	if err != nil {
		return nil, err
	}
	if cert.Status != store.CertificatePending {
		return nil, errNotReady
	}
	return s.issueCertificate(ctx, o, cert)
}

// issueCertificate issues one pending certificate of an order whose
// organization has an active ds validation.
func (s *Service) issueCertificate(ctx context.Context, o *store.Order, cert *store.Certificate) ([]byte, error) {
	ok, err := s.store.HasActiveValidation(ctx, o.OrganizationID, "ds")
	if err != nil || !ok {
		return nil, errNotReady
	}
	org, err := s.store.OrganizationByID(ctx, o.OrganizationID)
	if err != nil {
		return nil, err
	}
	d, err := Details(o)
	if err != nil {
		return nil, err
	}

	// A duplicate certifies its own key; every other certificate the order's.
	publicKey := o.PublicKey
	if len(cert.PublicKey) > 0 {
		publicKey = cert.PublicKey
	}

	// RFC 5280 §4.1.2.6: the subject names the validated organization. The
	// CSR's subject is never used: the customer contributes only a key.
	return s.ca.Issue(ctx, ca.IssueRequest{
		OrderID:       o.ID,
		AccountID:     o.AccountID,
		CertificateID: cert.ID,
		CAID:          o.CAID,
		PublicKeyDER:  publicKey,
		CommonName:    org.Name,
		Organization:  org.Name,
		Locality:      org.City,
		Province:      org.State,
		Country:       org.Country,
		Usages:        d.Usages,
		NotAfter:      o.NotAfter,
		SignatureHash: o.SignatureHash,
	})
}

// IssueReady claims the orders that are ready as issue_certificate jobs,
// issues them, and returns how many were issued. The server runs it
// periodically, which picks up validations that an operator completed from
// another process and approvals whose server died before it issued.
func (s *Service) IssueReady(ctx context.Context) int {
	claimed, err := s.store.ClaimReadyOrders(ctx, 100)
	if err != nil {
		s.log.Error("claim orders ready for issuance", "error", err)
		return 0
	}
	issued := 0
	for _, r := range claimed {
		der, err := s.issueLogged(ctx, r.OrderID)
		if der != nil {
			issued++
		}
		// Another server that signs it first, or an order that turns out
		// not to be ready (a client_app order now waits for its pickup),
		// ends the job too: nothing is left for it to do.
		if errors.Is(err, ca.ErrAlreadyIssuing) || errors.Is(err, errNotReady) {
			err = nil
		}
		if err := s.store.FinishJob(ctx, store.JobIssueCertificate, r.CertificateID, err); err != nil {
			s.log.Error("finish issuance job", "order_id", r.OrderID, "certificate_id", r.CertificateID, "error", err)
		}
	}
	return issued
}

// checkHashForIssuer rejects a signature hash the issuing CA's key may not
// sign with. Mozilla's root store policy (§5.1) pairs ECDSA P-256 with
// SHA-256 and P-384 with SHA-384, and the pre-issuance lints enforce it; RSA
// issuers sign with any of the three hashes.
func checkHashForIssuer(hash string, issuer *ca.Issuer, problems *errs.List) {
	key, ok := issuer.Cert.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return
	}
	allowed := "sha256"
	if key.Curve.Params().BitSize == 384 {
		allowed = "sha384"
	}
	if hash != allowed {
		problems.Invalid("certificate.signature_hash", "the issuing CA %s has an ECDSA P-%d key, which signs with %s only; send signature_hash %s",
			issuer.Record.CACertID, key.Curve.Params().BitSize, allowed, allowed)
	}
}
