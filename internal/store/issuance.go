package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// CA roles and statuses.
const (
	CARoot         = "root"
	CAIntermediate = "intermediate"
	CAActive       = "active"
)

// CA is a certificate authority certificate of the hierarchy and where its key lives.
type CA struct {
	ID         int64
	CACertID   string
	Role       string
	ParentID   int64
	CommonName string
	CertDER    []byte
	KeyURI     string
	Status     string
	CreatedAt  time.Time
	// Development marks the hierarchy that the first start creates, whose
	// keys are unencrypted files.
	Development bool
	// RetiredAt is when the CA was retired; zero while it is active.
	RetiredAt time.Time
}

// Intent is the record written before the CA key signs a certificate.
type Intent struct {
	ID            int64
	CertificateID int64
	OrderID       int64
	SerialNumber  string
	CAID          int64
	TBS           []byte
	Status        string
	CreatedAt     time.Time
}

// Intent statuses.
const (
	IntentSigning   = "signing"
	IntentCompleted = "completed"
	IntentFailed    = "failed"
)

// InsertCA records a CA certificate and returns its id. An empty Status
// records the CA as active.
func (s *Store) InsertCA(ctx context.Context, ca CA) (int64, error) {
	var id int64
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		var err error
		id, err = insertCA(ctx, tx, ca)
		return err
	})
	return id, err
}

// CAs lists the CA certificates, oldest first.
func (s *Store) CAs(ctx context.Context) ([]CA, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT id, ca_cert_id, role, parent_id, common_name, cert_der, key_uri, status, created_at, development, retired_at
		   FROM cas ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list CAs: %w", err)
	}
	defer rows.Close()

	var out []CA
	for rows.Next() {
		var ca CA
		var parent sql.NullInt64
		var created string
		var retired sql.NullString
		if err := rows.Scan(&ca.ID, &ca.CACertID, &ca.Role, &parent, &ca.CommonName, &ca.CertDER, &ca.KeyURI, &ca.Status, &created,
			&ca.Development, &retired); err != nil {
			return nil, err
		}
		ca.ParentID = parent.Int64
		ca.CreatedAt = parseTime(created)
		ca.RetiredAt = nullTime(retired)
		out = append(out, ca)
	}
	return out, rows.Err()
}

// readyGrace is how long a just-changed order is left to the request that
// changed it, which issues it within the call. The background sweep takes
// only orders that have been ready for longer, so that it does not win the
// race and leave the client's answer without its certificate.
const readyGrace = 3 * time.Second

// Job kinds and statuses (see the jobs table).
const (
	JobIssueCertificate = "issue_certificate"

	JobRunning = "running"
	JobDone    = "done"
	JobFailed  = "failed"
)

// ReadyIssuance is an order whose pending certificate a claimed
// issue_certificate job issues.
type ReadyIssuance struct {
	OrderID       int64
	CertificateID int64
}

// ClaimReadyOrders claims up to limit orders that are ready for issuance,
// oldest first. A ready order has an approved (or skipped) request, an
// active ds validation of its organization, key material, and a pending
// certificate without an intent. It has no recorded issuance failure and no
// change in the last readyGrace. No issue_certificate job of that
// certificate is done or holds a running lease.
//
// Each claim is an issue_certificate job with a lease of IntentLease, and
// the caller reports the outcome with FinishJob. A job whose server died is
// claimed again once its lease ends.
func (s *Store) ClaimReadyOrders(ctx context.Context, limit int) ([]ReadyIssuance, error) {
	readyArgs := func(t time.Time) []any {
		return []any{CertificatePending, ValidationActive, OrderPending, formatTime(t),
			JobIssueCertificate, JobDone, JobRunning, formatTime(t), formatTime(t.Add(-readyGrace))}
	}
	// The sweep calls this every second on every server; most calls find
	// nothing, and a read outside a transaction does not take the writer.
	if found, err := s.anyRow(ctx, readyOrdersQuery, readyArgs(now())...); err != nil || !found {
		return nil, err
	}

	var claimed []ReadyIssuance
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		claimed = nil
		t := now()
		rows, err := tx.QueryContext(ctx, readyOrdersQuery+` ORDER BY o.id LIMIT ?`+s.skipLockedOf("o"),
			append(readyArgs(t), limit)...)
		if err != nil {
			return fmt.Errorf("list orders ready for issuance: %w", err)
		}
		var ready []ReadyIssuance
		for rows.Next() {
			var r ReadyIssuance
			if err := rows.Scan(&r.OrderID, &r.CertificateID); err != nil {
				rows.Close()
				return err
			}
			ready = append(ready, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}

		for _, r := range ready {
			if err := claimJobTx(ctx, tx, JobIssueCertificate, r.CertificateID, t.Add(s.IntentLease()), t); err != nil {
				return err
			}
			claimed = append(claimed, r)
		}
		return nil
	})
	return claimed, err
}

// readyOrdersQuery selects the orders that ClaimReadyOrders claims. Its
// arguments are in the order of ClaimReadyOrders' readyArgs.
const readyOrdersQuery = `SELECT o.id, c.id
   FROM orders o
   JOIN certificates c ON c.order_id = o.id AND c.status = ?
   JOIN validations v ON v.organization_id = o.organization_id AND v.type = 'ds' AND v.status = ?
  WHERE o.status = ? AND o.public_key IS NOT NULL AND o.issue_error = ''
    AND (v.validated_until IS NULL OR v.validated_until > ?)
    AND NOT EXISTS (SELECT 1 FROM issuance_intents i WHERE i.certificate_id = c.id)
    AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.kind = ? AND j.ref_id = c.id
                       AND (j.status = ? OR (j.status = ? AND j.lease_until > ?)))
    AND o.updated_at <= ?`

// anyRow reports whether query, run outside a transaction, returns a row.
func (s *Store) anyRow(ctx context.Context, query string, args ...any) (bool, error) {
	rows, err := s.db.QueryContext(ctx, query+` LIMIT 1`, args...)
	if err != nil {
		return false, fmt.Errorf("look for work to claim: %w", err)
	}
	defer rows.Close()
	return rows.Next(), rows.Err()
}

// claimJobTx starts or restarts the job of kind for refID with a lease
// that ends at leaseEnd.
func claimJobTx(ctx context.Context, tx *sql.Tx, kind string, refID int64, leaseEnd, t time.Time) error {
	_, err := tx.ExecContext(ctx,
		`INSERT INTO jobs (kind, ref_id, status, attempts, lease_until, created_at, updated_at)
		 VALUES (?, ?, ?, 1, ?, ?, ?)
		 ON CONFLICT (kind, ref_id) DO UPDATE SET status = excluded.status, attempts = jobs.attempts + 1,
		        lease_until = excluded.lease_until, updated_at = excluded.updated_at`,
		kind, refID, JobRunning, formatTime(leaseEnd), formatTime(t), formatTime(t))
	if err != nil {
		return fmt.Errorf("claim %s job %d: %w", kind, refID, err)
	}
	return nil
}

// FinishJob ends a running job: done when cause is nil, failed with
// cause's text otherwise. A failed job may be claimed again when its work
// becomes due again.
func (s *Store) FinishJob(ctx context.Context, kind string, refID int64, cause error) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		status, lastError := JobDone, ""
		if cause != nil {
			status, lastError = JobFailed, cause.Error()
		}
		_, err := tx.ExecContext(ctx,
			`UPDATE jobs SET status = ?, last_error = ?, updated_at = ? WHERE kind = ? AND ref_id = ? AND status = ?`,
			status, lastError, formatTime(now()), kind, refID, JobRunning)
		if err != nil {
			return fmt.Errorf("finish %s job %d: %w", kind, refID, err)
		}
		return nil
	})
}

// ReleaseRunningJobs ends the lease of every running job, so that the next
// claim takes them at once. Only a server that owns its database may call
// it: on SQLite at start, when no other server can be running a job.
func (s *Store) ReleaseRunningJobs(ctx context.Context) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		t := formatTime(now())
		if _, err := tx.ExecContext(ctx, `UPDATE jobs SET lease_until = ?, updated_at = ? WHERE status = ? AND lease_until > ?`,
			t, t, JobRunning, t); err != nil {
			return fmt.Errorf("release running jobs: %w", err)
		}
		return nil
	})
}

// Job is one row of the jobs table.
type Job struct {
	Kind       string
	RefID      int64
	Status     string
	Attempts   int
	LeaseUntil time.Time
	LastError  string
}

// JobByRef returns the job of kind for refID.
func (s *Store) JobByRef(ctx context.Context, kind string, refID int64) (*Job, error) {
	var j Job
	var lease string
	err := s.db.QueryRowContext(ctx,
		`SELECT kind, ref_id, status, attempts, lease_until, last_error FROM jobs WHERE kind = ? AND ref_id = ?`,
		kind, refID).Scan(&j.Kind, &j.RefID, &j.Status, &j.Attempts, &lease, &j.LastError)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read %s job %d: %w", kind, refID, err)
	}
	j.LeaseUntil = parseTime(lease)
	return &j, nil
}

// HasActiveValidation reports whether the organization has an active,
// unexpired validation of the type.
func (s *Store) HasActiveValidation(ctx context.Context, orgID int64, typ string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx,
		`SELECT COUNT(*) FROM validations WHERE organization_id = ? AND type = ? AND status = ?
		    AND (validated_until IS NULL OR validated_until > ?)`,
		orgID, typ, ValidationActive, formatTime(now())).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("read validation of organization %d: %w", orgID, err)
	}
	return n > 0, nil
}

// CreateIntent records the intent to sign tbs for a pending certificate of a
// pending order. A second intent for the same certificate, a reused serial,
// or an order that is no longer pending returns ErrConflict.
func (s *Store) CreateIntent(ctx context.Context, in Intent) (int64, error) {
	var id int64
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		var status string
		err := tx.QueryRowContext(ctx, `SELECT status FROM orders WHERE id = ?`, in.OrderID).Scan(&status)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("read order %d: %w", in.OrderID, err)
		}
		// An issued order may gain a duplicate certificate; any other
		// order must be pending.
		if status != OrderPending && status != OrderIssued {
			return fmt.Errorf("order %d is %s, not pending: %w", in.OrderID, status, ErrConflict)
		}
		var certStatus string
		if err := tx.QueryRowContext(ctx, `SELECT status FROM certificates WHERE id = ?`, in.CertificateID).Scan(&certStatus); err != nil {
			return fmt.Errorf("read certificate %d: %w", in.CertificateID, err)
		}
		if certStatus != CertificatePending {
			return fmt.Errorf("certificate %d is %s, not pending: %w", in.CertificateID, certStatus, ErrConflict)
		}

		err = insertID(ctx, tx, &id,
			`INSERT INTO issuance_intents (certificate_id, order_id, serial_number, ca_id, tbs, status, created_at, lease_until)
			 VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			in.CertificateID, in.OrderID, in.SerialNumber, in.CAID, in.TBS, IntentSigning, formatTime(now()),
			formatTime(now().Add(s.IntentLease())))
		if isUniqueViolation(err) {
			return fmt.Errorf("certificate %d already has an issuance intent: %w", in.CertificateID, ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("insert issuance intent: %w", err)
		}
		return appendAudit(ctx, tx, intentEvent(in, id))
	})
	return id, err
}

// IssuedCertificate is what CompleteIssuance stores.
type IssuedCertificate struct {
	IntentID      int64
	CertificateID int64
	OrderID       int64
	AccountID     int64
	CAID          int64
	SerialNumber  string
	Thumbprint    string
	DER           []byte
	ValidFrom     time.Time
	ValidTill     time.Time
}

// CompleteIssuance stores a signed certificate, closes its intent, queues
// the e-mail that announces the certificate and marks the order issued, in
// one transaction.
func (s *Store) CompleteIssuance(ctx context.Context, c IssuedCertificate) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		t := now()
		res, err := tx.ExecContext(ctx,
			`UPDATE certificates SET status = ?, serial_number = ?, thumbprint = ?, der = ?, ca_id = ?,
			        valid_from = ?, valid_till = ?, date_issued = ?
			  WHERE id = ? AND status = ?`,
			CertificateIssued, c.SerialNumber, c.Thumbprint, c.DER, c.CAID,
			formatTime(c.ValidFrom), formatTime(c.ValidTill), formatTime(t), c.CertificateID, CertificatePending)
		if err != nil {
			return fmt.Errorf("store certificate %d: %w", c.CertificateID, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("certificate %d is no longer pending: %w", c.CertificateID, ErrConflict)
		}

		if _, err := tx.ExecContext(ctx, `UPDATE issuance_intents SET status = ?, completed_at = ? WHERE id = ?`,
			IntentCompleted, formatTime(t), c.IntentID); err != nil {
			return fmt.Errorf("close issuance intent %d: %w", c.IntentID, err)
		}
		// The certificate's job, if a server claimed one, is done, whichever
		// server issued the certificate.
		if _, err := tx.ExecContext(ctx, `UPDATE jobs SET status = ?, updated_at = ? WHERE kind = ? AND ref_id = ? AND status = ?`,
			JobDone, formatTime(t), JobIssueCertificate, c.CertificateID, JobRunning); err != nil {
			return fmt.Errorf("close the job of certificate %d: %w", c.CertificateID, err)
		}
		if err := appendAudit(ctx, tx, certificateIssuedEvent(c)); err != nil {
			return err
		}
		if err := queueIssuedNoticeTx(ctx, tx, c.OrderID, c.CertificateID); err != nil {
			return err
		}
		var current string
		if err := tx.QueryRowContext(ctx, `SELECT status FROM orders WHERE id = ?`, c.OrderID).Scan(&current); err != nil {
			return fmt.Errorf("read order %d: %w", c.OrderID, err)
		}
		if current == OrderIssued {
			// A duplicate certificate: the order's status does not change.
			return nil
		}
		return setOrderStatus(ctx, tx, c.OrderID, c.AccountID, OrderIssued, t)
	})
}

// FailIssuance records why an order could not be issued, and closes the
// intent when one was written. The order keeps its status; the error is
// shown in order info so an operator can act on it.
func (s *Store) FailIssuance(ctx context.Context, orderID, intentID int64, reason string) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE orders SET issue_error = ?, updated_at = ? WHERE id = ?`,
			reason, formatTime(now()), orderID); err != nil {
			return fmt.Errorf("record issuance failure of order %d: %w", orderID, err)
		}
		if err := appendAudit(ctx, tx, issuanceFailedEvent(orderID, intentID, reason)); err != nil {
			return err
		}
		if intentID == 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE issuance_intents SET status = ? WHERE id = ?`, IntentFailed, intentID); err != nil {
			return fmt.Errorf("close issuance intent %d: %w", intentID, err)
		}
		return nil
	})
}

// DefaultIntentLease is how long a server keeps the intents it writes
// before another server may complete them.
const DefaultIntentLease = time.Minute

// SetIntentLease sets how long a server keeps the intents it writes. Set
// it before the store is used concurrently.
func (s *Store) SetIntentLease(d time.Duration) { s.intentLease = d }

// IntentLease returns the lease of new intents.
func (s *Store) IntentLease() time.Duration {
	if s.intentLease <= 0 {
		return DefaultIntentLease
	}
	return s.intentLease
}

// ClaimStaleIntents returns up to limit intents still in the signing state
// whose lease has ended, oldest first, and gives each a new lease for the
// caller. The server that wrote such an intent died or gave up before it
// stored the certificate. On PostgreSQL the rows are locked with SKIP
// LOCKED, so that servers claiming at the same moment take different ones.
func (s *Store) ClaimStaleIntents(ctx context.Context, limit int) ([]Intent, error) {
	const staleQuery = `SELECT ` + intentColumns + ` FROM issuance_intents
	  WHERE status = ? AND (lease_until IS NULL OR lease_until <= ?)`
	if found, err := s.anyRow(ctx, staleQuery, IntentSigning, formatTime(now())); err != nil || !found {
		return nil, err
	}

	var claimed []Intent
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		claimed = nil
		t := now()
		rows, err := tx.QueryContext(ctx, staleQuery+` ORDER BY id LIMIT ?`+s.skipLocked(),
			IntentSigning, formatTime(t), limit)
		if err != nil {
			return fmt.Errorf("list stale issuance intents: %w", err)
		}
		stale, err := scanIntents(rows)
		if err != nil {
			return err
		}

		lease := formatTime(t.Add(s.IntentLease()))
		for _, in := range stale {
			if _, err := tx.ExecContext(ctx, `UPDATE issuance_intents SET lease_until = ? WHERE id = ?`, lease, in.ID); err != nil {
				return fmt.Errorf("claim issuance intent %d: %w", in.ID, err)
			}
			claimed = append(claimed, in)
		}
		return nil
	})
	return claimed, err
}

// skipLocked ends a SELECT that claims rows of a queue. On PostgreSQL the
// rows are locked until the transaction ends, and rows that another
// transaction holds are passed over instead of waited for. SQLite has one
// writer at a time and needs no clause.
func (s *Store) skipLocked() string {
	if s.postgres {
		return " FOR UPDATE SKIP LOCKED"
	}
	return ""
}

// skipLockedOf is skipLocked for a join, locking only the rows of table.
func (s *Store) skipLockedOf(table string) string {
	if s.postgres {
		return " FOR UPDATE OF " + table + " SKIP LOCKED"
	}
	return ""
}

const intentColumns = `id, certificate_id, order_id, serial_number, ca_id, tbs, status, created_at`

func scanIntents(rows *sql.Rows) ([]Intent, error) {
	defer rows.Close()
	var out []Intent
	for rows.Next() {
		var in Intent
		var created string
		if err := rows.Scan(&in.ID, &in.CertificateID, &in.OrderID, &in.SerialNumber, &in.CAID, &in.TBS, &in.Status, &created); err != nil {
			return nil, err
		}
		in.CreatedAt = parseTime(created)
		out = append(out, in)
	}
	return out, rows.Err()
}

// OpenIntents lists intents still in the signing state: at start-up these
// are the issuances a crash interrupted.
func (s *Store) OpenIntents(ctx context.Context) ([]Intent, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT `+intentColumns+` FROM issuance_intents WHERE status = ? ORDER BY id`, IntentSigning)
	if err != nil {
		return nil, fmt.Errorf("list open issuance intents: %w", err)
	}
	return scanIntents(rows)
}
