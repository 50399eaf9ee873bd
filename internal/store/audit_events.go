package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// The events that store methods append inside their own transactions, one
// constructor per event, so that each method needs one added line.

func orderPlacedEvent(o Order, out *CreatedOrder, requestStatus string) AuditEvent {
	return AuditEvent{
		Type: AuditOrderPlaced, AccountID: o.AccountID, UserID: o.UserID, OrderID: out.OrderID,
		Data: map[string]any{
			"certificate_id":      out.CertificateID,
			"organization_id":     out.OrganizationID,
			"request_id":          out.RequestID,
			"request_status":      requestStatus,
			"status":              o.Status,
			"provisioning_method": o.ProvisioningMethod,
			"skip_approval":       o.SkipApproval,
			"ca_id":               o.CAID,
			"not_after":           formatTime(o.NotAfter),
			"public_key_sha256":   fingerprintOrEmpty(o.PublicKey),
		},
	}
}

func organizationCreatedEvent(o Organization) AuditEvent {
	return AuditEvent{
		Type: AuditOrganizationAdded, AccountID: o.AccountID,
		Data: map[string]any{"organization_id": o.ID, "name": o.Name, "country": o.Country},
	}
}

func requestDecidedEvent(r *Request, approve bool) AuditEvent {
	typ := AuditRequestRejected
	if approve {
		typ = AuditRequestApproved
	}
	return AuditEvent{
		Type: typ, AccountID: r.AccountID, UserID: r.ProcessorID, OrderID: r.OrderID,
		Data: map[string]any{"request_id": r.ID, "request_type": r.Type, "requester_id": r.RequesterID},
	}
}

func validationEvent(typ string, orgID int64, validationType string, until time.Time) AuditEvent {
	data := map[string]any{"organization_id": orgID, "type": validationType}
	if !until.IsZero() {
		data["validated_until"] = formatTime(until)
	}
	return AuditEvent{Type: typ, Data: data}
}

func intentEvent(in Intent, intentID int64) AuditEvent {
	return AuditEvent{
		Type: AuditIssuanceIntent, OrderID: in.OrderID,
		Data: map[string]any{
			"intent_id":      intentID,
			"certificate_id": in.CertificateID,
			"serial":         in.SerialNumber,
			"ca_id":          in.CAID,
			"tbs_sha256":     sha256Hex(in.TBS),
		},
	}
}

func certificateIssuedEvent(c IssuedCertificate) AuditEvent {
	return AuditEvent{
		Type: AuditCertificateIssued, AccountID: c.AccountID, OrderID: c.OrderID,
		Data: map[string]any{
			"intent_id":      c.IntentID,
			"certificate_id": c.CertificateID,
			"serial":         c.SerialNumber,
			"sha256":         sha256Hex(c.DER),
			"thumbprint":     c.Thumbprint,
			"ca_id":          c.CAID,
			"not_before":     formatTime(c.ValidFrom),
			"not_after":      formatTime(c.ValidTill),
		},
	}
}

func issuanceFailedEvent(orderID, intentID int64, reason string) AuditEvent {
	return AuditEvent{
		Type: AuditIssuanceFailed, OrderID: orderID,
		Data: map[string]any{"intent_id": intentID, "reason": reason},
	}
}

func certificateRevokedEvent(accountID, userID int64, c RevokedCertificate) AuditEvent {
	return AuditEvent{
		Type: AuditCertificateRevoked, AccountID: accountID, UserID: userID, OrderID: c.OrderID,
		Data: map[string]any{
			"certificate_id": c.ID,
			"serial":         c.SerialNumber,
			"ca_id":          c.CAID,
			"reason":         c.Reason,
			"revoked_at":     formatTime(c.RevokedAt),
		},
	}
}

func revocationRequestedEvent(in Revocation, r *Request) AuditEvent {
	return AuditEvent{
		Type: AuditRevocationRequested, AccountID: in.AccountID, UserID: in.UserID, OrderID: r.OrderID,
		Data: map[string]any{"request_id": r.ID, "certificate_id": in.CertificateID, "reason": in.Reason},
	}
}

func accountCreatedEvents(c *Caller, apiKeyID int64) []AuditEvent {
	return []AuditEvent{
		{
			Type: AuditAccountCreated, AccountID: c.Account.ID, UserID: c.User.ID,
			Data: map[string]any{"name": c.Account.Name, "approval_policy": c.Account.ApprovalPolicy, "administrator": c.User.Username},
		},
		{
			// The key and its hash stay out of the log; the id names the row.
			Type: AuditAPIKeyCreated, AccountID: c.Account.ID, UserID: c.User.ID,
			Data: map[string]any{"api_key_id": apiKeyID, "role": c.User.Role},
		},
	}
}

func orderChangeEvent(typ string, accountID, orderID int64, data map[string]any) AuditEvent {
	return AuditEvent{Type: typ, AccountID: accountID, OrderID: orderID, Data: data}
}

func caCreatedEvent(ca CA, id int64) AuditEvent {
	return AuditEvent{
		Type: AuditCACreated,
		Data: map[string]any{
			"ca_id":       id,
			"ca_cert_id":  ca.CACertID,
			"role":        ca.Role,
			"common_name": ca.CommonName,
			"key":         keyURIForAudit(ca.KeyURI),
			"development": ca.Development,
			"cert_sha256": sha256Hex(ca.CertDER),
		},
	}
}

func caRetiredEvent(ca CA) AuditEvent {
	return AuditEvent{
		Type: AuditCARetired,
		Data: map[string]any{"ca_id": ca.ID, "ca_cert_id": ca.CACertID, "common_name": ca.CommonName},
	}
}

func fingerprintOrEmpty(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return sha256Hex(b)
}

// validationEventTx appends a validation event with the account of the
// organization.
func validationEventTx(ctx context.Context, tx *sql.Tx, typ string, orgID int64, validationType string, until time.Time) error {
	e := validationEvent(typ, orgID, validationType, until)
	err := tx.QueryRowContext(ctx, `SELECT account_id FROM organizations WHERE id = ?`, orgID).Scan(&e.AccountID)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("read account of organization %d for the audit log: %w", orgID, err)
	}
	return appendAudit(ctx, tx, e)
}

// accountCreatedTx appends the events of a new account and its first API key.
func accountCreatedTx(ctx context.Context, tx *sql.Tx, c *Caller, keyHash []byte) error {
	var keyID int64
	if err := tx.QueryRowContext(ctx, `SELECT id FROM api_keys WHERE key_hash = ?`, keyHash).Scan(&keyID); err != nil {
		return fmt.Errorf("read new api key for the audit log: %w", err)
	}
	for _, e := range accountCreatedEvents(c, keyID) {
		if err := appendAudit(ctx, tx, e); err != nil {
			return err
		}
	}
	return nil
}

// CAKeyLoadedEvent is the event of an issuing CA whose key the server
// opened. The key is named by its URI without any query.
func CAKeyLoadedEvent(ca CA) AuditEvent {
	return AuditEvent{
		Type: AuditCAKeyLoaded,
		Data: map[string]any{
			"ca_id":       ca.ID,
			"ca_cert_id":  ca.CACertID,
			"common_name": ca.CommonName,
			"status":      ca.Status,
			"development": ca.Development,
			"key":         keyURIForAudit(ca.KeyURI),
		},
	}
}

func ocspResponderCreatedEvent(r OCSPResponder, id int64) AuditEvent {
	return AuditEvent{
		Type: AuditOCSPResponderCreated,
		Data: map[string]any{
			"responder_id": id,
			"ca_id":        r.CAID,
			"key":          keyURIForAudit(r.KeyURI),
			"cert_sha256":  sha256Hex(r.CertDER),
			"not_after":    formatTime(r.NotAfter),
		},
	}
}
