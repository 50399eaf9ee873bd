package order

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"errors"
	"strings"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/csr"
	"github.com/docsign-ca/docsign-ca/internal/errs"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

// Defaults of ProvisioningConfig.
const (
	DefaultPickupCodeTTL     = 30 * 24 * time.Hour
	DefaultMaxPickupFailures = 5
)

// ProvisioningConfig configures the pickup codes of client_app orders.
// Zero values take the defaults.
type ProvisioningConfig struct {
	// PickupCodeTTL is how long a pickup code can be redeemed.
	PickupCodeTTL time.Duration
	// MaxPickupFailures is the number of wrong guesses at one code after
	// which the code is locked.
	MaxPickupFailures int
}

func (c ProvisioningConfig) codeTTL() time.Duration {
	if c.PickupCodeTTL > 0 {
		return c.PickupCodeTTL
	}
	return DefaultPickupCodeTTL
}

func (c ProvisioningConfig) maxFailures() int {
	if c.MaxPickupFailures > 0 {
		return c.MaxPickupFailures
	}
	return DefaultMaxPickupFailures
}

// Error codes of the pickup endpoints.
const (
	CodeInvalidPickupCode = "invalid_pickup_code"
	CodePickupCodeUsed    = "pickup_code_used"
	CodePickupCodeExpired = "pickup_code_expired"
	CodePickupCodeLocked  = "pickup_code_locked"
)

// A pickup code is 24 symbols of a 32-symbol alphabet without the
// look-alikes 0, O, 1 and I: 120 random bits. The first 8 symbols are the
// selector that finds the stored row; the whole code is hashed. The code
// is shown in groups of four separated by dashes.
const (
	codeAlphabet       = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	codeLength         = 24
	codeSelectorLength = 8
	codeGroupLength    = 4
)

// newPickupCode returns a random code in its display form.
func newPickupCode() (string, error) {
	raw := make([]byte, codeLength)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	var b strings.Builder
	for i, v := range raw {
		if i > 0 && i%codeGroupLength == 0 {
			b.WriteByte('-')
		}
		// 256 is a multiple of 32, so v%32 is uniform.
		b.WriteByte(codeAlphabet[int(v)%len(codeAlphabet)])
	}
	return b.String(), nil
}

// normalizePickupCode removes dashes and spaces and upper-cases a code as a
// person may have typed it. It returns false for anything that is not a
// code of the right length and alphabet.
func normalizePickupCode(code string) (string, bool) {
	var b strings.Builder
	for _, r := range strings.ToUpper(code) {
		switch {
		case r == '-' || r == ' ' || r == '\t':
			continue
		case r > 127 || !strings.ContainsRune(codeAlphabet, r):
			return "", false
		}
		b.WriteRune(r)
	}
	if b.Len() != codeLength {
		return "", false
	}
	return b.String(), true
}

func hashPickupCode(normalized string) []byte {
	sum := sha256.Sum256([]byte(normalized))
	return sum[:]
}

// storedPickupCode builds the row and e-mail for a new code of an order.
func (s *Service) storedPickupCode(orderID int64) (code string, stored store.NewPickupCode, err error) {
	code, err = newPickupCode()
	if err != nil {
		return "", store.NewPickupCode{}, err
	}
	normalized, _ := normalizePickupCode(code)
	expires := s.now().Add(s.Provisioning.codeTTL()).UTC().Truncate(time.Second)
	return code, store.NewPickupCode{
		Selector:  normalized[:codeSelectorLength],
		Hash:      hashPickupCode(normalized),
		ExpiresAt: expires,
		Notice: store.Notification{
			Kind:    store.NoticePickupCode,
			OrderID: orderID,
			Payload: map[string]string{"code": code, "expires_at": expires.Format(time.RFC3339)},
		},
	}, nil
}

// startPickup moves a client_app order that is approved and validated, and
// has no key material, to waiting_pickup with a new code, which is e-mailed
// to the requester. Orders in any other state are left alone.
func (s *Service) startPickup(ctx context.Context, orderID int64) bool {
	o, err := s.store.OrderByID(ctx, orderID)
	if err != nil || o.ProvisioningMethod != store.ProvisioningClientApp || o.Status != store.OrderPending || len(o.PublicKey) > 0 {
		return false
	}

	// A selector collision (40 random bits) is retried once with a new code.
	for attempt := 0; attempt < 2; attempt++ {
		_, stored, err := s.storedPickupCode(orderID)
		if err != nil {
			s.log.Error("generate pickup code", "order_id", orderID, "error", err)
			return false
		}
		err = s.store.StartPickup(ctx, orderID, stored)
		var stateErr *store.StateError
		switch {
		case err == nil:
			s.log.Info("order waits for pickup; pickup code e-mailed to the requester", "order_id", orderID,
				"code_expires_at", stored.ExpiresAt.Format(time.RFC3339))
			return true
		case errors.As(err, &stateErr):
			return false
		case !errors.Is(err, store.ErrConflict):
			s.log.Error("start pickup", "order_id", orderID, "error", err)
			return false
		}
	}
	return false
}

// PreparePickups moves every client_app order that became ready outside a
// request (for example after an operator validation) to waiting_pickup,
// and returns how many it moved. The server runs it with the issuance sweep.
func (s *Service) PreparePickups(ctx context.Context) int {
	ids, err := s.store.ClientAppOrdersReady(ctx, 100)
	if err != nil {
		s.log.Error("list client_app orders ready for pickup", "error", err)
		return 0
	}
	moved := 0
	for _, id := range ids {
		if s.startPickup(ctx, id) {
			moved++
		}
	}
	return moved
}

// PickupOrder is what the client app learns about the order before it
// generates the key.
type PickupOrder struct {
	OrderID          int64
	Status           string
	KeyType          string
	KeySize          int
	SignatureHash    string
	OrganizationName string
	CodeExpiresAt    time.Time
}

// PickupResult is the outcome of a redemption or a certificate poll.
// Certificate is nil while the certificate is not issued.
type PickupResult struct {
	OrderID       int64
	CertificateID int64
	Certificate   []byte
	Chain         []*x509.Certificate
	// Failed is true when the CA refused to issue; the order's issuance
	// error is shown to the account's users, not to the code's holder.
	Failed bool
}

// PickupCodeIsFailure reports whether err is a wrong or reused code, which
// counts toward the lockout of the address that sent it.
func PickupCodeIsFailure(err error) bool {
	e := errs.As(err)
	if e == nil || len(e.Problems) == 0 {
		return false
	}
	code := e.Problems[0].Code
	return code == CodeInvalidPickupCode || code == CodePickupCodeUsed
}

func invalidPickupCode() error {
	return errs.New(errs.Forbidden, CodeInvalidPickupCode,
		"the pickup code is not valid; check it against the e-mail that delivered it, or ask the account's administrator for a new code")
}

// verifyPickupCode finds the stored code that code names and checks that
// it may be used: active and unexpired, or also redeemed when
// allowRedeemed is true. A wrong code whose selector exists counts toward
// that code's lock.
func (s *Service) verifyPickupCode(ctx context.Context, code string, allowRedeemed bool) (*store.PickupCode, error) {
	normalized, ok := normalizePickupCode(code)
	if !ok {
		return nil, invalidPickupCode()
	}
	stored, err := s.store.PickupCodeBySelector(ctx, normalized[:codeSelectorLength])
	if errors.Is(err, store.ErrNotFound) {
		return nil, invalidPickupCode()
	}
	if err != nil {
		return nil, internal(err, "read pickup code")
	}

	if subtle.ConstantTimeCompare(stored.Hash, hashPickupCode(normalized)) != 1 {
		return nil, s.countPickupFailure(ctx, stored)
	}

	switch {
	case stored.Status == store.PickupLocked:
		return nil, errs.New(errs.Forbidden, CodePickupCodeLocked,
			"the pickup code is locked after %d wrong attempts; ask the account's administrator for a new code", stored.Failures)
	case stored.Status == store.PickupWithdrawn:
		return nil, errs.New(errs.Forbidden, CodeInvalidPickupCode,
			"the pickup code was replaced by a newer code for order %d; use the newest code you received", stored.OrderID)
	case stored.Status == store.PickupRedeemed && !allowRedeemed:
		return nil, errs.New(errs.Conflict, CodePickupCodeUsed,
			"the pickup code was already used at %s for order %d, and a code can be used once; collect the certificate with `docsign pickup` and the same code, or ask the administrator for a new code",
			stored.RedeemedAt.Format(time.RFC3339), stored.OrderID)
	case !s.now().Before(stored.ExpiresAt):
		return nil, errs.New(errs.Forbidden, CodePickupCodeExpired,
			"the pickup code expired at %s; ask the account's administrator for a new code", stored.ExpiresAt.Format(time.RFC3339))
	}
	return stored, nil
}

func (s *Service) countPickupFailure(ctx context.Context, stored *store.PickupCode) error {
	status, err := s.store.RecordPickupFailure(ctx, stored.ID, s.Provisioning.maxFailures())
	if err != nil {
		return internal(err, "count pickup code failure")
	}
	if status == store.PickupLocked && stored.Status == store.PickupActive {
		s.log.Warn("pickup code locked after wrong attempts", "order_id", stored.OrderID, "pickup_code_id", stored.ID)
	}
	return invalidPickupCode()
}

// PickupInfo returns the key the client app must generate for the order
// that code belongs to. It does not use the code up.
func (s *Service) PickupInfo(ctx context.Context, code string) (*PickupOrder, error) {
	stored, err := s.verifyPickupCode(ctx, code, false)
	if err != nil {
		return nil, err
	}
	o, err := s.store.OrderByID(ctx, stored.OrderID)
	if err != nil {
		return nil, internal(err, "read order")
	}
	org, err := s.store.OrganizationByID(ctx, o.OrganizationID)
	if err != nil {
		return nil, internal(err, "read organization")
	}
	return &PickupOrder{
		OrderID: o.ID, Status: o.Status, KeyType: o.KeyType, KeySize: o.KeySize, SignatureHash: o.SignatureHash,
		OrganizationName: org.Name, CodeExpiresAt: stored.ExpiresAt,
	}, nil
}

// RedeemPickup uses code once: it checks that the CSR's key is the type
// and size the order names, stores the key and issues the certificate
// within the call when it can.
func (s *Service) RedeemPickup(ctx context.Context, code string, parsed *csr.Request) (*PickupResult, error) {
	stored, err := s.verifyPickupCode(ctx, code, false)
	if err != nil {
		return nil, err
	}
	o, err := s.store.OrderByID(ctx, stored.OrderID)
	if err != nil {
		return nil, internal(err, "read order")
	}
	if parsed.KeyType != o.KeyType || parsed.KeySize != o.KeySize {
		return nil, errs.New(errs.BadRequest, "invalid_value:csr",
			"the CSR's key is %s %d, but order %d requires %s %d; generate a %s %d key and send its CSR",
			parsed.KeyType, parsed.KeySize, o.ID, o.KeyType, o.KeySize, o.KeyType, o.KeySize)
	}

	err = s.store.RedeemPickup(ctx, stored.ID, keyMaterial(parsed), s.now())
	var stateErr *store.StateError
	if errors.As(err, &stateErr) {
		return nil, errs.New(errs.Conflict, CodePickupCodeUsed,
			"the pickup code can no longer be used: order %d is %s", stateErr.OrderID, stateErr.Status)
	}
	if err != nil {
		return nil, internal(err, "redeem pickup code")
	}
	s.log.Info("pickup code redeemed", "order_id", o.ID, "pickup_code_id", stored.ID, "key_type", parsed.KeyType, "key_size", parsed.KeySize)

	s.tryIssue(ctx, o.ID)
	return s.pickupResult(ctx, o.ID)
}

// PickupCertificate returns the certificate of the order whose code was
// redeemed, or a result without one while issuance is pending. The code
// stays usable for this until it expires.
func (s *Service) PickupCertificate(ctx context.Context, code string) (*PickupResult, error) {
	stored, err := s.verifyPickupCode(ctx, code, true)
	if err != nil {
		return nil, err
	}
	if stored.Status != store.PickupRedeemed {
		return nil, errs.New(errs.BadRequest, "pickup_not_redeemed",
			"the pickup code of order %d has not been redeemed; send a CSR with it to POST /services/v2/pickup first", stored.OrderID)
	}
	return s.pickupResult(ctx, stored.OrderID)
}

func (s *Service) pickupResult(ctx context.Context, orderID int64) (*PickupResult, error) {
	o, err := s.store.OrderByID(ctx, orderID)
	if err != nil {
		return nil, internal(err, "read order")
	}
	cert, err := s.store.CertificateForOrder(ctx, orderID)
	if err != nil {
		return nil, internal(err, "read certificate")
	}

	result := &PickupResult{OrderID: orderID, CertificateID: cert.ID, Failed: o.IssueError != ""}
	if cert.Status == store.CertificateIssued {
		result.Certificate = cert.DER
		result.Chain = s.chainOf(cert.CAID)
		result.Failed = false
	}
	return result, nil
}

// NewPickupCodeResult is a code shown once to an administrator.
type NewPickupCodeResult struct {
	OrderID   int64
	Code      string
	ExpiresAt time.Time
}

// NewPickupCode replaces the code of a waiting_pickup order, for example
// after the first one expired, was locked or was lost. The old codes stop
// working, the new one is e-mailed to the requester and returned once.
func (s *Service) NewPickupCode(ctx context.Context, caller *store.Caller, orderID int64) (*NewPickupCodeResult, error) {
	if err := requireAdministrator(caller, "issue a new pickup code"); err != nil {
		return nil, err
	}
	if _, err := s.visibleOrder(ctx, caller, orderID); err != nil {
		return nil, err
	}
	code, stored, err := s.storedPickupCode(orderID)
	if err != nil {
		return nil, internal(err, "generate pickup code")
	}
	err = s.store.ReplacePickupCode(ctx, caller.Account.ID, orderID, stored)
	if e := stateError(err, "take a new pickup code; only a client_app order in waiting_pickup can"); e != nil {
		return nil, e
	}
	if err != nil {
		return nil, notFound(err, "order", orderID)
	}
	s.log.Info("pickup code replaced", "order_id", orderID, "user_id", caller.User.ID, "code_expires_at", stored.ExpiresAt.Format(time.RFC3339))
	return &NewPickupCodeResult{OrderID: orderID, Code: code, ExpiresAt: stored.ExpiresAt}, nil
}
