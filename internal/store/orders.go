package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Order statuses, as CertCentral names them.
const (
	OrderNeedsApproval = "needs_approval"
	OrderPending       = "pending"
	OrderIssued        = "issued"
	OrderRejected      = "rejected"
	OrderCanceled      = "canceled"
	OrderRevoked       = "revoked"
	// OrderReissuePending is an issued order whose reissue waits for approval.
	OrderReissuePending = "reissue_pending"
)

// Request statuses. A request approved by a person or by policy is stored as
// "approved"; the API shows it as "submitted" while the certificate waits for
// validation or key material.
const (
	RequestPending  = "pending"
	RequestApproved = "approved"
	RequestRejected = "rejected"
)

// Certificate statuses.
const (
	CertificatePending = "pending"
	CertificateIssued  = "issued"
	CertificateRevoked = "revoked"
	// CertificateCanceled is a certificate that will never be issued: its
	// order was rejected or canceled, or its reissue was rejected.
	CertificateCanceled = "canceled"
)

// Order is a ds_org order.
type Order struct {
	ID                 int64
	AccountID          int64
	ContainerID        int64
	OrganizationID     int64
	UserID             int64
	Status             string
	ProductNameID      string
	ProvisioningMethod string
	CSRPEM             string
	PublicKey          []byte // DER SubjectPublicKeyInfo; nil until key material arrives
	KeyType            string
	KeySize            int
	SignatureHash      string
	CAID               int64
	NotAfter           time.Time
	SkipApproval       bool
	RenewalOfOrderID   int64
	Details            json.RawMessage
	IssueError         string
	CancelNote         string
	RenewalStatus      string // "", "renewed" or "not_renewed"
	DateCreated        time.Time
	UpdatedAt          time.Time
}

// Request is an approval request for an order.
type Request struct {
	ID               int64
	AccountID        int64
	OrderID          int64
	Type             string
	Status           string
	RequesterID      int64
	ProcessorID      int64
	Comments         string
	ProcessorComment string
	Date             time.Time
	DateProcessed    time.Time
}

// Certificate is the certificate of an order, pending until issued.
type Certificate struct {
	ID           int64
	AccountID    int64
	OrderID      int64
	Status       string
	SerialNumber string
	Thumbprint   string
	DER          []byte
	CAID         int64
	ValidFrom    time.Time
	ValidTill    time.Time
	DateCreated  time.Time
	DateIssued   time.Time
	// PublicKey and CSRPEM are set for a duplicate, which has its own key;
	// otherwise the order's key is certified.
	PublicKey []byte
	CSRPEM    string
	Kind      string // "original", "reissue" or "duplicate"
}

// NewOrder is everything CreateOrder writes.
type NewOrder struct {
	Order Order
	// NewOrganization, when set, is created (or matched to a duplicate) in
	// the same transaction, and the order refers to it.
	NewOrganization    *Organization
	SkipDuplicateCheck bool
	// DuplicateScope limits the duplicate check of NewOrganization to the
	// organizations the caller may see; nil checks the whole account.
	DuplicateScope *Scope
	// RequestStatus is "" for no request (an administrator's skip_approval),
	// RequestPending, or RequestApproved (approved by account policy).
	RequestStatus   string
	RequestComments string
	// Payment, when set, is recorded in the same transaction. A balance
	// payment that the container cannot afford fails the whole order with
	// *InsufficientFundsError.
	Payment *NewPayment
}

// CreatedOrder holds the ids CreateOrder assigned.
type CreatedOrder struct {
	OrderID             int64
	RequestID           int64 // 0 when no request was created
	CertificateID       int64
	OrganizationID      int64
	OrganizationCreated bool
}

// CreateOrder writes an order, its pending certificate, its request and, if
// asked, a new organization, all in one transaction.
func (s *Store) CreateOrder(ctx context.Context, in NewOrder) (*CreatedOrder, error) {
	var out CreatedOrder
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		o := in.Order
		if in.NewOrganization != nil {
			org, created, err := createOrganizationTx(ctx, tx, *in.NewOrganization, in.SkipDuplicateCheck, in.DuplicateScope)
			if err != nil {
				return err
			}
			o.OrganizationID = org.ID
			out.OrganizationCreated = created
		}
		out.OrganizationID = o.OrganizationID

		t := now()
		var renewal any
		if o.RenewalOfOrderID != 0 {
			renewal = o.RenewalOfOrderID
		}
		err := insertID(ctx, tx, &out.OrderID,
			`INSERT INTO orders (account_id, container_id, organization_id, user_id, status, product_name_id,
			   provisioning_method, csr_pem, public_key, key_type, key_size, signature_hash, ca_id, not_after,
			   skip_approval, renewal_of_order_id, details, date_created, updated_at)
			 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			o.AccountID, o.ContainerID, o.OrganizationID, o.UserID, o.Status, o.ProductNameID,
			o.ProvisioningMethod, nullString(o.CSRPEM), nullBytes(o.PublicKey), o.KeyType, o.KeySize, o.SignatureHash,
			o.CAID, formatTime(o.NotAfter), boolInt(o.SkipApproval), renewal, string(o.Details), formatTime(t), formatTime(t))
		if err != nil {
			return fmt.Errorf("insert order: %w", err)
		}

		if err := insertStatusChange(ctx, tx, out.OrderID, o.AccountID, o.Status, t); err != nil {
			return err
		}
		if err := linkIdempotencyKeyTx(ctx, tx, out.OrderID); err != nil {
			return err
		}

		err = insertID(ctx, tx, &out.CertificateID,
			`INSERT INTO certificates (account_id, order_id, status, date_created) VALUES (?, ?, ?, ?)`,
			o.AccountID, out.OrderID, CertificatePending, formatTime(t))
		if err != nil {
			return fmt.Errorf("insert certificate: %w", err)
		}

		if in.Payment != nil {
			if err := recordPaymentTx(ctx, tx, o, out.OrderID, *in.Payment, t); err != nil {
				return err
			}
		}

		if in.RequestStatus == "" {
			return appendAudit(ctx, tx, orderPlacedEvent(o, &out, in.RequestStatus))
		}
		var processor, processed any
		if in.RequestStatus == RequestApproved {
			processor, processed = o.UserID, formatTime(t)
		}
		err = insertID(ctx, tx, &out.RequestID,
			`INSERT INTO requests (account_id, order_id, type, status, requester_id, processor_id, comments, date, date_processed)
			 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			o.AccountID, out.OrderID, RequestNewRequest, in.RequestStatus, o.UserID, processor, in.RequestComments, formatTime(t), processed)
		if err != nil {
			return fmt.Errorf("insert request: %w", err)
		}
		return appendAudit(ctx, tx, orderPlacedEvent(o, &out, in.RequestStatus))
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

func insertStatusChange(ctx context.Context, tx *sql.Tx, orderID, accountID int64, status string, t time.Time) error {
	_, err := tx.ExecContext(ctx,
		`INSERT INTO order_status_changes (order_id, account_id, status, changed_at) VALUES (?, ?, ?, ?)`,
		orderID, accountID, status, formatTime(t))
	if err != nil {
		return fmt.Errorf("record status %s of order %d: %w", status, orderID, err)
	}
	return nil
}

func setOrderStatus(ctx context.Context, tx *sql.Tx, orderID, accountID int64, status string, t time.Time) error {
	if _, err := tx.ExecContext(ctx, `UPDATE orders SET status = ?, updated_at = ? WHERE id = ?`,
		status, formatTime(t), orderID); err != nil {
		return fmt.Errorf("set status %s on order %d: %w", status, orderID, err)
	}
	return insertStatusChange(ctx, tx, orderID, accountID, status, t)
}

const orderColumns = `id, account_id, container_id, organization_id, user_id, status, product_name_id, provisioning_method,
	csr_pem, public_key, key_type, key_size, signature_hash, ca_id, not_after, skip_approval, renewal_of_order_id,
	details, issue_error, cancel_note, renewal_status, date_created, updated_at`

func scanOrder(row interface{ Scan(...any) error }) (*Order, error) {
	var o Order
	var csr sql.NullString
	var renewal sql.NullInt64
	var notAfter, details, created, updated string
	err := row.Scan(&o.ID, &o.AccountID, &o.ContainerID, &o.OrganizationID, &o.UserID, &o.Status, &o.ProductNameID,
		&o.ProvisioningMethod, &csr, &o.PublicKey, &o.KeyType, &o.KeySize, &o.SignatureHash, &o.CAID, &notAfter,
		&o.SkipApproval, &renewal, &details, &o.IssueError, &o.CancelNote, &o.RenewalStatus, &created, &updated)
	if err != nil {
		return nil, err
	}
	o.CSRPEM = csr.String
	o.RenewalOfOrderID = renewal.Int64
	o.NotAfter = parseTime(notAfter)
	o.Details = json.RawMessage(details)
	o.DateCreated = parseTime(created)
	o.UpdatedAt = parseTime(updated)
	return &o, nil
}

// Order returns an order of the account, or ErrNotFound.
func (s *Store) Order(ctx context.Context, accountID, id int64) (*Order, error) {
	row := s.db.QueryRowContext(ctx, `SELECT `+orderColumns+` FROM orders WHERE id = ? AND account_id = ?`, id, accountID)
	o, err := scanOrder(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read order %d: %w", id, err)
	}
	return o, nil
}

// OrderByID returns an order of any account, for the issuer and operator commands.
func (s *Store) OrderByID(ctx context.Context, id int64) (*Order, error) {
	row := s.db.QueryRowContext(ctx, `SELECT `+orderColumns+` FROM orders WHERE id = ?`, id)
	o, err := scanOrder(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read order %d: %w", id, err)
	}
	return o, nil
}

const requestColumns = `id, account_id, order_id, type, status, requester_id, processor_id, comments, processor_comment, date, date_processed`

func scanRequest(row interface{ Scan(...any) error }) (*Request, error) {
	var r Request
	var processor sql.NullInt64
	var date string
	var processed sql.NullString
	err := row.Scan(&r.ID, &r.AccountID, &r.OrderID, &r.Type, &r.Status, &r.RequesterID, &processor,
		&r.Comments, &r.ProcessorComment, &date, &processed)
	if err != nil {
		return nil, err
	}
	r.ProcessorID = processor.Int64
	r.Date = parseTime(date)
	r.DateProcessed = nullTime(processed)
	return &r, nil
}

// Request returns a request of the account, or ErrNotFound.
func (s *Store) Request(ctx context.Context, accountID, id int64) (*Request, error) {
	row := s.db.QueryRowContext(ctx, `SELECT `+requestColumns+` FROM requests WHERE id = ? AND account_id = ?`, id, accountID)
	r, err := scanRequest(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read request %d: %w", id, err)
	}
	return r, nil
}

// RequestsForOrder lists the requests of an order, oldest first.
func (s *Store) RequestsForOrder(ctx context.Context, orderID int64) ([]Request, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+requestColumns+` FROM requests WHERE order_id = ? ORDER BY id`, orderID)
	if err != nil {
		return nil, fmt.Errorf("list requests of order %d: %w", orderID, err)
	}
	defer rows.Close()

	var out []Request
	for rows.Next() {
		r, err := scanRequest(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *r)
	}
	return out, rows.Err()
}

// Request types.
const (
	RequestNewRequest = "new_request"
	RequestReissue    = "reissue"
)

// DecideRequest approves or rejects a pending request and applies the
// decision to its order (see applyDecision). Only one of several concurrent
// decisions wins; the others get ErrConflict and change nothing.
func (s *Store) DecideRequest(ctx context.Context, accountID, requestID, processorID int64, approve bool, comment string) (*Request, error) {
	status := RequestRejected
	if approve {
		status = RequestApproved
	}

	var decided *Request
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		row := tx.QueryRowContext(ctx, `SELECT `+requestColumns+` FROM requests WHERE id = ? AND account_id = ?`, requestID, accountID)
		r, err := scanRequest(row)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("read request %d: %w", requestID, err)
		}
		// A revoke request waits as "submitted", every other request as "pending".
		if r.Status != RequestPending && !(r.Type == RequestRevoke && r.Status == RequestSubmitted) {
			return fmt.Errorf("request %d is already %s: %w", requestID, r.Status, ErrConflict)
		}

		t := now()
		res, err := tx.ExecContext(ctx,
			`UPDATE requests SET status = ?, processor_id = ?, processor_comment = ?, date_processed = ?
			  WHERE id = ? AND status = ?`,
			status, processorID, comment, formatTime(t), requestID, r.Status)
		if err != nil {
			return fmt.Errorf("update request %d: %w", requestID, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("request %d was decided concurrently: %w", requestID, ErrConflict)
		}
		if err := applyDecision(ctx, tx, r, approve, t); err != nil {
			return err
		}

		r.Status, r.ProcessorID, r.ProcessorComment, r.DateProcessed = status, processorID, comment, t
		decided = r
		return appendAudit(ctx, tx, requestDecidedEvent(r, approve))
	})
	if err != nil {
		return nil, err
	}
	return decided, nil
}

// applyDecision moves the order of a decided request on, by request type:
//   - new_request: needs_approval becomes pending (approved) or rejected;
//   - reissue: reissue_pending becomes pending (approved), or returns to
//     issued with the waiting certificate canceled (rejected);
//   - revoke: the named certificates are revoked (approved), or nothing
//     changes (rejected).
func applyDecision(ctx context.Context, tx *sql.Tx, r *Request, approve bool, t time.Time) error {
	if r.Type == RequestRevoke {
		return decideRevokeRequestTx(ctx, tx, r, approve, t)
	}

	var current string
	if err := tx.QueryRowContext(ctx, `SELECT status FROM orders WHERE id = ?`, r.OrderID).Scan(&current); err != nil {
		return fmt.Errorf("read order %d: %w", r.OrderID, err)
	}

	switch {
	case r.Type == RequestNewRequest && current == OrderNeedsApproval && approve:
		return setOrderStatus(ctx, tx, r.OrderID, r.AccountID, OrderPending, t)
	case r.Type == RequestNewRequest && current == OrderNeedsApproval:
		if err := cancelPendingCertificates(ctx, tx, r.OrderID); err != nil {
			return err
		}
		if err := refundPaymentTx(ctx, tx, r.OrderID, "request rejected", t); err != nil {
			return err
		}
		return setOrderStatus(ctx, tx, r.OrderID, r.AccountID, OrderRejected, t)
	case r.Type == RequestReissue && current == OrderReissuePending && approve:
		return setOrderStatus(ctx, tx, r.OrderID, r.AccountID, OrderPending, t)
	case r.Type == RequestReissue && current == OrderReissuePending:
		if err := cancelPendingCertificates(ctx, tx, r.OrderID); err != nil {
			return err
		}
		return setOrderStatus(ctx, tx, r.OrderID, r.AccountID, OrderIssued, t)
	}
	return fmt.Errorf("order %d is %s, so its %s request %d cannot be decided: %w", r.OrderID, current, r.Type, r.ID, ErrConflict)
}

// cancelPendingCertificates marks the not-yet-issued certificates of an
// order canceled, so that issuance never picks them up.
func cancelPendingCertificates(ctx context.Context, tx *sql.Tx, orderID int64) error {
	_, err := tx.ExecContext(ctx, `UPDATE certificates SET status = ? WHERE order_id = ? AND status = ?`,
		CertificateCanceled, orderID, CertificatePending)
	if err != nil {
		return fmt.Errorf("cancel pending certificates of order %d: %w", orderID, err)
	}
	return nil
}

// CertificateForOrder returns the order's primary certificate: the newest
// one that is not a duplicate (the original, or the latest reissue).
func (s *Store) CertificateForOrder(ctx context.Context, orderID int64) (*Certificate, error) {
	row := s.db.QueryRowContext(ctx,
		`SELECT `+certificateColumns+` FROM certificates WHERE order_id = ? AND kind <> ? ORDER BY id DESC LIMIT 1`,
		orderID, CertificateDuplicate)
	c, err := scanCertificate(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read certificate of order %d: %w", orderID, err)
	}
	return c, nil
}

const certificateColumns = `id, account_id, order_id, status, serial_number, thumbprint, der, ca_id, valid_from, valid_till, date_created, date_issued, public_key, csr_pem, kind`

func scanCertificate(row interface{ Scan(...any) error }) (*Certificate, error) {
	var c Certificate
	var serial, thumb, from, till, issued sql.NullString
	var caID sql.NullInt64
	var created string
	var csr sql.NullString
	err := row.Scan(&c.ID, &c.AccountID, &c.OrderID, &c.Status, &serial, &thumb, &c.DER, &caID, &from, &till, &created, &issued,
		&c.PublicKey, &csr, &c.Kind)
	c.CSRPEM = csr.String
	if err != nil {
		return nil, err
	}
	c.SerialNumber, c.Thumbprint, c.CAID = serial.String, thumb.String, caID.Int64
	c.ValidFrom, c.ValidTill, c.DateIssued = nullTime(from), nullTime(till), nullTime(issued)
	c.DateCreated = parseTime(created)
	return &c, nil
}

// Certificate returns a certificate of the account, or ErrNotFound.
func (s *Store) Certificate(ctx context.Context, accountID, id int64) (*Certificate, error) {
	row := s.db.QueryRowContext(ctx, `SELECT `+certificateColumns+` FROM certificates WHERE id = ? AND account_id = ?`, id, accountID)
	c, err := scanCertificate(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read certificate %d: %w", id, err)
	}
	return c, nil
}

// ListCertificates lists the certificates the CA has signed, oldest first;
// orderID 0 lists all orders.
func (s *Store) ListCertificates(ctx context.Context, orderID int64) ([]Certificate, error) {
	query := `SELECT ` + certificateColumns + ` FROM certificates WHERE status IN (?, ?)`
	args := []any{CertificateIssued, CertificateRevoked}
	if orderID != 0 {
		query += ` AND order_id = ?`
		args = append(args, orderID)
	}
	rows, err := s.db.QueryContext(ctx, query+` ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("list certificates: %w", err)
	}
	defer rows.Close()

	var out []Certificate
	for rows.Next() {
		c, err := scanCertificate(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *c)
	}
	return out, rows.Err()
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// CertificateByThumbprint returns an issued certificate of the account by
// its SHA-1 thumbprint (upper-case hex), or ErrNotFound.
func (s *Store) CertificateByThumbprint(ctx context.Context, accountID int64, thumbprint string) (*Certificate, error) {
	row := s.db.QueryRowContext(ctx,
		`SELECT `+certificateColumns+` FROM certificates WHERE thumbprint = ? AND account_id = ?`, thumbprint, accountID)
	c, err := scanCertificate(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read certificate by thumbprint: %w", err)
	}
	return c, nil
}
