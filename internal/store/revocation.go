package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// RequestRevoke is the type of a request to revoke certificates.
const RequestRevoke = "revoke"

// RequestSubmitted is the stored status of a revoke request that waits for
// an administrator. CertCentral shows a new revoke request as "submitted",
// and storing the same word keeps every view of the request consistent.
const RequestSubmitted = "submitted"

// Reasons a revocation cannot start. RevokeError wraps one of them.
var (
	ErrAlreadyRevoked = errors.New("certificate is already revoked")
	ErrRevokePending  = errors.New("a revoke request is already waiting for approval")
	ErrNotIssued      = errors.New("certificate is not issued")
)

// RevokeError explains why a certificate or an order cannot be revoked.
type RevokeError struct {
	Err           error // ErrAlreadyRevoked, ErrRevokePending or ErrNotIssued
	CertificateID int64 // the certificate at fault, 0 for a whole order
	OrderID       int64
	Status        string // the certificate's status, for ErrNotIssued
	RequestID     int64  // the waiting revoke request, for ErrRevokePending
}

func (e *RevokeError) Error() string {
	if e.CertificateID != 0 {
		return fmt.Sprintf("certificate %d of order %d: %v", e.CertificateID, e.OrderID, e.Err)
	}
	return fmt.Sprintf("order %d: %v", e.OrderID, e.Err)
}

func (e *RevokeError) Unwrap() error { return e.Err }

// Revocation names what to revoke and why.
type Revocation struct {
	AccountID int64
	// CertificateID names one certificate. When it is 0, OrderID names an
	// order and every issued certificate of that order is revoked.
	CertificateID int64
	OrderID       int64
	// UserID is the user who requests the revocation, or the administrator
	// who revokes at once.
	UserID int64
	// Reason is the RFC 5280 §5.3.1 CRLReason code.
	Reason   int
	Comments string
}

// RevokedCertificate is a revoked certificate as CRLs and OCSP list it.
type RevokedCertificate struct {
	ID           int64
	OrderID      int64
	CAID         int64
	SerialNumber string
	RevokedAt    time.Time
	Reason       int
}

// CertificateStatus is the status that OCSP reports for one serial number.
type CertificateStatus struct {
	ID           int64
	CAID         int64
	SerialNumber string
	Status       string // CertificateIssued or CertificateRevoked
	RevokedAt    time.Time
	Reason       int
}

// CreateRevokeRequest records a revoke request for a certificate, or for
// every certificate of an order, after checking in the same transaction
// that the targets are issued, not revoked, and not already covered by a
// waiting revoke request. The request waits in status "submitted" until an
// administrator decides it with DecideRequest.
func (s *Store) CreateRevokeRequest(ctx context.Context, in Revocation) (*Request, error) {
	var created *Request
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		orderID, _, err := revocableCertificates(ctx, tx, &in)
		if err != nil {
			return err
		}

		var certificateID any
		if in.CertificateID != 0 {
			certificateID = in.CertificateID
		}
		t := now()
		var id int64
		err = insertID(ctx, tx, &id,
			`INSERT INTO requests (account_id, order_id, type, status, requester_id, comments, date, certificate_id, revocation_reason)
			 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			in.AccountID, orderID, RequestRevoke, RequestSubmitted, in.UserID, in.Comments, formatTime(t), certificateID, in.Reason)
		if err != nil {
			return fmt.Errorf("insert revoke request for order %d: %w", orderID, err)
		}

		created = &Request{
			ID: id, AccountID: in.AccountID, OrderID: orderID, Type: RequestRevoke, Status: RequestSubmitted,
			RequesterID: in.UserID, Comments: in.Comments, Date: t,
		}
		return appendAudit(ctx, tx, revocationRequestedEvent(in, created))
	})
	if err != nil {
		return nil, err
	}
	return created, nil
}

// RevokeNow revokes a certificate, or every issued certificate of an order,
// at once, with the same checks as CreateRevokeRequest. It returns the
// certificates it revoked.
func (s *Store) RevokeNow(ctx context.Context, in Revocation) ([]RevokedCertificate, error) {
	var revoked []RevokedCertificate
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		orderID, ids, err := revocableCertificates(ctx, tx, &in)
		if err != nil {
			return err
		}
		revoked, err = revokeCertificatesTx(ctx, tx, in.AccountID, orderID, ids, in.Reason, in.UserID, now())
		return err
	})
	if err != nil {
		return nil, err
	}
	return revoked, nil
}

// revocableCertificates returns the order and the ids of the certificates
// that in names, or a *RevokeError when they cannot be revoked. A
// certificate or order of another account is ErrNotFound.
func revocableCertificates(ctx context.Context, tx *sql.Tx, in *Revocation) (int64, []int64, error) {
	if in.CertificateID != 0 {
		return revocableCertificate(ctx, tx, in.AccountID, in.CertificateID)
	}

	if _, err := lockOrder(ctx, tx, in.AccountID, in.OrderID); err != nil {
		return 0, nil, err
	}
	if requestID, err := waitingRevokeRequest(ctx, tx, in.OrderID, 0); err != nil || requestID != 0 {
		if err != nil {
			return 0, nil, err
		}
		return 0, nil, &RevokeError{Err: ErrRevokePending, OrderID: in.OrderID, RequestID: requestID}
	}

	ids, revokedCount, err := orderCertificatesByStatus(ctx, tx, in.OrderID)
	if err != nil {
		return 0, nil, err
	}
	switch {
	case len(ids) > 0:
		return in.OrderID, ids, nil
	case revokedCount > 0:
		return 0, nil, &RevokeError{Err: ErrAlreadyRevoked, OrderID: in.OrderID}
	default:
		return 0, nil, &RevokeError{Err: ErrNotIssued, OrderID: in.OrderID}
	}
}

func revocableCertificate(ctx context.Context, tx *sql.Tx, accountID, certificateID int64) (int64, []int64, error) {
	var orderID int64
	var status string
	err := tx.QueryRowContext(ctx, `SELECT order_id, status FROM certificates WHERE id = ? AND account_id = ?`,
		certificateID, accountID).Scan(&orderID, &status)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil, ErrNotFound
	}
	if err != nil {
		return 0, nil, fmt.Errorf("read certificate %d: %w", certificateID, err)
	}

	switch status {
	case CertificateIssued:
	case CertificateRevoked:
		return 0, nil, &RevokeError{Err: ErrAlreadyRevoked, CertificateID: certificateID, OrderID: orderID}
	default:
		return 0, nil, &RevokeError{Err: ErrNotIssued, CertificateID: certificateID, OrderID: orderID, Status: status}
	}

	requestID, err := waitingRevokeRequest(ctx, tx, orderID, certificateID)
	if err != nil {
		return 0, nil, err
	}
	if requestID != 0 {
		return 0, nil, &RevokeError{Err: ErrRevokePending, CertificateID: certificateID, OrderID: orderID, RequestID: requestID}
	}
	return orderID, []int64{certificateID}, nil
}

// waitingRevokeRequest returns the id of a submitted revoke request that
// covers the certificate (or, with certificateID 0, any certificate of the
// order), or 0.
func waitingRevokeRequest(ctx context.Context, tx *sql.Tx, orderID, certificateID int64) (int64, error) {
	query := `SELECT id FROM requests WHERE order_id = ? AND type = ? AND status = ?`
	args := []any{orderID, RequestRevoke, RequestSubmitted}
	if certificateID != 0 {
		query += ` AND (certificate_id IS NULL OR certificate_id = ?)`
		args = append(args, certificateID)
	}

	var id int64
	err := tx.QueryRowContext(ctx, query+` ORDER BY id LIMIT 1`, args...).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read revoke requests of order %d: %w", orderID, err)
	}
	return id, nil
}

// orderCertificatesByStatus returns the ids of the order's issued
// certificates and the number of its revoked ones.
func orderCertificatesByStatus(ctx context.Context, tx *sql.Tx, orderID int64) ([]int64, int, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, status FROM certificates WHERE order_id = ? ORDER BY id`, orderID)
	if err != nil {
		return nil, 0, fmt.Errorf("list certificates of order %d: %w", orderID, err)
	}
	defer rows.Close()

	var issued []int64
	revoked := 0
	for rows.Next() {
		var id int64
		var status string
		if err := rows.Scan(&id, &status); err != nil {
			return nil, 0, err
		}
		switch status {
		case CertificateIssued:
			issued = append(issued, id)
		case CertificateRevoked:
			revoked++
		}
	}
	return issued, revoked, rows.Err()
}

// revokeCertificatesTx marks the certificates revoked, and the order revoked
// once none of its certificates is issued or waiting for issuance any more.
// A certificate that is no longer issued is skipped.
func revokeCertificatesTx(ctx context.Context, tx *sql.Tx, accountID, orderID int64, ids []int64, reason int, userID int64, t time.Time) ([]RevokedCertificate, error) {
	var revoked []RevokedCertificate
	for _, id := range ids {
		res, err := tx.ExecContext(ctx,
			`UPDATE certificates SET status = ?, revoked_at = ?, revocation_reason = ?, revoked_by = ?
			  WHERE id = ? AND status = ?`,
			CertificateRevoked, formatTime(t), reason, userID, id, CertificateIssued)
		if err != nil {
			return nil, fmt.Errorf("revoke certificate %d: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			continue
		}

		c := RevokedCertificate{ID: id, OrderID: orderID, RevokedAt: t, Reason: reason}
		var serial sql.NullString
		if err := tx.QueryRowContext(ctx, `SELECT ca_id, serial_number FROM certificates WHERE id = ?`, id).Scan(&c.CAID, &serial); err != nil {
			return nil, fmt.Errorf("read revoked certificate %d: %w", id, err)
		}
		c.SerialNumber = serial.String
		revoked = append(revoked, c)
		if err := appendAudit(ctx, tx, certificateRevokedEvent(accountID, userID, c)); err != nil {
			return nil, err
		}
	}

	if err := markOrderRevokedIfDone(ctx, tx, accountID, orderID, t); err != nil {
		return nil, err
	}
	return revoked, nil
}

// markOrderRevokedIfDone sets the order's status to revoked when every
// certificate is revoked or canceled. A certificate still waiting for
// issuance, such as a reissue, keeps the order's status.
func markOrderRevokedIfDone(ctx context.Context, tx *sql.Tx, accountID, orderID int64, t time.Time) error {
	var alive int
	err := tx.QueryRowContext(ctx,
		`SELECT COUNT(*) FROM certificates WHERE order_id = ? AND status NOT IN (?, ?)`,
		orderID, CertificateRevoked, CertificateCanceled).Scan(&alive)
	if err != nil {
		return fmt.Errorf("count certificates of order %d: %w", orderID, err)
	}
	if alive > 0 {
		return nil
	}

	var current string
	if err := tx.QueryRowContext(ctx, `SELECT status FROM orders WHERE id = ?`, orderID).Scan(&current); err != nil {
		return fmt.Errorf("read order %d: %w", orderID, err)
	}
	if current == OrderRevoked {
		return nil
	}
	return setOrderStatus(ctx, tx, orderID, accountID, OrderRevoked, t)
}

// decideRevokeRequestTx applies the decision on a revoke request. An
// approval revokes what the request names, with its reason, on behalf of
// the administrator who approved it; a rejection changes nothing else.
// DecideRequest calls it in its transaction after it recorded the decision.
func decideRevokeRequestTx(ctx context.Context, tx *sql.Tx, r *Request, approve bool, t time.Time) error {
	if !approve {
		return nil
	}

	var certificateID, processorID sql.NullInt64
	var reason int
	err := tx.QueryRowContext(ctx,
		`SELECT certificate_id, COALESCE(revocation_reason, 0), processor_id FROM requests WHERE id = ?`, r.ID).
		Scan(&certificateID, &reason, &processorID)
	if err != nil {
		return fmt.Errorf("read revoke request %d: %w", r.ID, err)
	}

	var ids []int64
	if certificateID.Valid {
		ids = []int64{certificateID.Int64}
	} else {
		ids, _, err = orderCertificatesByStatus(ctx, tx, r.OrderID)
		if err != nil {
			return err
		}
	}
	_, err = revokeCertificatesTx(ctx, tx, r.AccountID, r.OrderID, ids, reason, processorID.Int64, t)
	return err
}

// RevokedCertificatesOfRequest lists the certificates that an approved
// revoke request revoked.
func (s *Store) RevokedCertificatesOfRequest(ctx context.Context, requestID int64) ([]RevokedCertificate, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT c.id, c.order_id, c.ca_id, c.serial_number, c.revoked_at, COALESCE(c.revocation_reason, 0)
		   FROM certificates c JOIN requests r ON r.order_id = c.order_id
		  WHERE r.id = ? AND r.type = ? AND c.status = ? AND (r.certificate_id IS NULL OR r.certificate_id = c.id)
		  ORDER BY c.id`,
		requestID, RequestRevoke, CertificateRevoked)
	if err != nil {
		return nil, fmt.Errorf("list certificates of revoke request %d: %w", requestID, err)
	}
	return scanRevoked(rows)
}

// RevokedCertificates lists every revoked certificate that a CA issued,
// oldest revocation first.
func (s *Store) RevokedCertificates(ctx context.Context, caID int64) ([]RevokedCertificate, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT id, order_id, ca_id, serial_number, revoked_at, COALESCE(revocation_reason, 0)
		   FROM certificates WHERE ca_id = ? AND status = ? ORDER BY revoked_at, id`,
		caID, CertificateRevoked)
	if err != nil {
		return nil, fmt.Errorf("list revoked certificates of CA %d: %w", caID, err)
	}
	return scanRevoked(rows)
}

func scanRevoked(rows *sql.Rows) ([]RevokedCertificate, error) {
	defer rows.Close()

	var out []RevokedCertificate
	for rows.Next() {
		var c RevokedCertificate
		var serial, revokedAt sql.NullString
		if err := rows.Scan(&c.ID, &c.OrderID, &c.CAID, &serial, &revokedAt, &c.Reason); err != nil {
			return nil, err
		}
		c.SerialNumber = serial.String
		c.RevokedAt = nullTime(revokedAt)
		out = append(out, c)
	}
	return out, rows.Err()
}

// CertificateStatusBySerial returns the status of the certificate that a CA
// issued with a serial number (upper-case hex, as stored), whatever its
// account, or ErrNotFound. OCSP uses it, so only issued and revoked
// certificates are found.
func (s *Store) CertificateStatusBySerial(ctx context.Context, caID int64, serial string) (*CertificateStatus, error) {
	var c CertificateStatus
	var revokedAt sql.NullString
	err := s.db.QueryRowContext(ctx,
		`SELECT id, ca_id, serial_number, status, revoked_at, COALESCE(revocation_reason, 0)
		   FROM certificates WHERE serial_number = ? AND ca_id = ? AND status IN (?, ?)`,
		serial, caID, CertificateIssued, CertificateRevoked).
		Scan(&c.ID, &c.CAID, &c.SerialNumber, &c.Status, &revokedAt, &c.Reason)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read certificate with serial %s: %w", serial, err)
	}
	c.RevokedAt = nullTime(revokedAt)
	return &c, nil
}

// CertificateBySerial returns a certificate of the account by its serial
// number (upper-case hex, as stored), or ErrNotFound.
func (s *Store) CertificateBySerial(ctx context.Context, accountID int64, serial string) (*Certificate, error) {
	row := s.db.QueryRowContext(ctx,
		`SELECT `+certificateColumns+` FROM certificates WHERE serial_number = ? AND account_id = ?`, serial, accountID)
	c, err := scanCertificate(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read certificate with serial %s: %w", serial, err)
	}
	return c, nil
}

// CRLRecord is the newest CRL of an issuing CA.
type CRLRecord struct {
	CAID       int64
	Number     int64
	ThisUpdate time.Time
	NextUpdate time.Time
	DER        []byte
}

// CRL returns the newest stored CRL of a CA, or ErrNotFound.
func (s *Store) CRL(ctx context.Context, caID int64) (*CRLRecord, error) {
	var c CRLRecord
	var thisUpdate, nextUpdate string
	err := s.db.QueryRowContext(ctx, `SELECT ca_id, number, this_update, next_update, der FROM crls WHERE ca_id = ?`, caID).
		Scan(&c.CAID, &c.Number, &thisUpdate, &nextUpdate, &c.DER)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read CRL of CA %d: %w", caID, err)
	}
	c.ThisUpdate, c.NextUpdate = parseTime(thisUpdate), parseTime(nextUpdate)
	return &c, nil
}

// SaveCRL stores a CRL when its number is larger than the stored one's, and
// reports whether it did. A false result means that another server stored a
// CRL with the same or a larger number first. The caller then publishes the
// stored CRL, so that no two different CRLs of a CA carry the same number.
func (s *Store) SaveCRL(ctx context.Context, c CRLRecord) (bool, error) {
	res, err := s.execWriteResult(ctx,
		`INSERT INTO crls (ca_id, number, this_update, next_update, der) VALUES (?, ?, ?, ?, ?)
		 ON CONFLICT (ca_id) DO UPDATE SET number = excluded.number, this_update = excluded.this_update,
		        next_update = excluded.next_update, der = excluded.der
		  WHERE excluded.number > crls.number`,
		c.CAID, c.Number, formatTime(c.ThisUpdate), formatTime(c.NextUpdate), c.DER)
	if err != nil {
		return false, fmt.Errorf("store CRL %d of CA %d: %w", c.Number, c.CAID, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// OCSPResponder is a delegated OCSP responder certificate of an issuing CA.
type OCSPResponder struct {
	ID        int64
	CAID      int64
	CertDER   []byte
	KeyURI    string
	NotBefore time.Time
	NotAfter  time.Time
	CreatedAt time.Time
}

// LatestOCSPResponder returns the responder certificate of a CA that
// expires last, or ErrNotFound.
func (s *Store) LatestOCSPResponder(ctx context.Context, caID int64) (*OCSPResponder, error) {
	var r OCSPResponder
	var notBefore, notAfter, created string
	err := s.db.QueryRowContext(ctx,
		`SELECT id, ca_id, cert_der, key_uri, not_before, not_after, created_at
		   FROM ocsp_responders WHERE ca_id = ? ORDER BY not_after DESC, id DESC LIMIT 1`, caID).
		Scan(&r.ID, &r.CAID, &r.CertDER, &r.KeyURI, &notBefore, &notAfter, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read OCSP responder of CA %d: %w", caID, err)
	}
	r.NotBefore, r.NotAfter, r.CreatedAt = parseTime(notBefore), parseTime(notAfter), parseTime(created)
	return &r, nil
}

// InsertOCSPResponder records a new responder certificate and returns its id.
func (s *Store) InsertOCSPResponder(ctx context.Context, r OCSPResponder) (int64, error) {
	var id int64
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		err := insertID(ctx, tx, &id,
			`INSERT INTO ocsp_responders (ca_id, cert_der, key_uri, not_before, not_after, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			r.CAID, r.CertDER, r.KeyURI, formatTime(r.NotBefore), formatTime(r.NotAfter), formatTime(now()))
		if err != nil {
			return fmt.Errorf("insert OCSP responder of CA %d: %w", r.CAID, err)
		}
		return appendAudit(ctx, tx, ocspResponderCreatedEvent(r, id))
	})
	return id, err
}
