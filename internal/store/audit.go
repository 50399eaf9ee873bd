package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"
)

// Audit event types. The store writes most of them itself, inside the
// transaction of the change they record. The others have no state change
// of their own, so callers write them with RecordAudit.
const (
	AuditServerStarted = "server.started" // RecordAudit: the configuration at start
	AuditCAKeyLoaded   = "ca.key_loaded"  // RecordAudit: an issuing CA's key was opened
	AuditCACreated     = "ca.created"
	AuditCARetired     = "ca.retired"
	// AuditOCSPResponderCreated is a new delegated OCSP responder key and
	// certificate.
	AuditOCSPResponderCreated = "ocsp_responder.created"

	AuditAccountCreated = "account.created"
	AuditAPIKeyCreated  = "api_key.created"
	// AuditAPIKeyRevoked is written by RevokeAPIKey and DeleteUser.
	AuditAPIKeyRevoked     = "api_key.revoked"
	AuditPermissionDenied  = "permission.denied" // RecordAudit: an authenticated caller lacked a role
	AuditOrganizationAdded = "organization.created"

	AuditValidationSubmitted = "validation.submitted"
	AuditValidationCompleted = "validation.completed"

	AuditOrderPlaced        = "order.placed"
	AuditOrderCanceled      = "order.canceled"
	AuditOrderKeyReplaced   = "order.key_replaced"
	AuditReissueRequested   = "order.reissue_requested"
	AuditDuplicateRequested = "order.duplicate_requested"
	AuditRequestApproved    = "request.approved"
	AuditRequestRejected    = "request.rejected"

	// AuditIssuanceIntent is written with the intent, before the CA key
	// signs; AuditCertificateIssued with the certificate, after.
	AuditIssuanceIntent    = "issuance.intent_recorded"
	AuditIssuanceFailed    = "issuance.failed"
	AuditCertificateIssued = "certificate.issued"

	AuditRevocationRequested = "revocation.requested"
	AuditCertificateRevoked  = "certificate.revoked"

	// Payment events. finance.deposit and promo_code.saved come from
	// operator commands; payment.refunded is written with the rejection or
	// cancellation, and payment.card_refunded when the processor refunded.
	AuditOrderPaid          = "order.paid"
	AuditFundsDeposited     = "finance.deposit"
	AuditPromoCodeSaved     = "promo_code.saved"
	AuditPaymentRefunded    = "payment.refunded"
	AuditCardRefundRecorded = "payment.card_refunded"

	AuditBackupCreated = "backup.created" // RecordAudit
	AuditRestored      = "backup.restored"
)

// Audit sources: what caused an event.
const (
	// AuditSourceServer is the server itself: start-up, crash recovery and
	// background issuance. It is the default (see SetDefaultAuditSource).
	AuditSourceServer = "server"
	// AuditSourceAPI is an HTTP request, named by the row's http_request_id.
	AuditSourceAPI = "api"
	// AuditSourceOperator is an operator command run on the data directory.
	AuditSourceOperator = "operator"
)

// auditGenesis is the prev_hash of the first row.
var auditGenesis = make([]byte, sha256.Size)

type auditSourceKey struct{}

type auditSource struct {
	source        string
	httpRequestID string
}

// WithAuditSource returns a context whose audit rows record source (one of
// the AuditSource constants) and, for AuditSourceAPI, the HTTP request id
// that the server log also carries.
func WithAuditSource(ctx context.Context, source, httpRequestID string) context.Context {
	return context.WithValue(ctx, auditSourceKey{}, auditSource{source: source, httpRequestID: httpRequestID})
}

// defaultAuditSource is the source of rows written under a context
// without WithAuditSource.
var defaultAuditSource atomic.Value

// SetDefaultAuditSource sets the source of audit rows whose context does
// not name one. It is a property of the process: an operator command sets
// AuditSourceOperator once at start, and the server keeps
// AuditSourceServer.
func SetDefaultAuditSource(source string) { defaultAuditSource.Store(source) }

func auditSourceOf(ctx context.Context) auditSource {
	if s, ok := ctx.Value(auditSourceKey{}).(auditSource); ok {
		return s
	}
	if source, ok := defaultAuditSource.Load().(string); ok {
		return auditSource{source: source}
	}
	return auditSource{source: AuditSourceServer}
}

// AuditEvent is one security-relevant event. The ids are 0 when the event
// has none; an event with an OrderID and no AccountID takes the order's
// account.
type AuditEvent struct {
	Type      string
	AccountID int64
	UserID    int64
	OrderID   int64
	// Data holds the details, encoded as JSON. It never holds a secret: no
	// API key, private key, PIN, card number or CVV.
	Data map[string]any
}

// AuditRecord is a stored row of the audit log.
type AuditRecord struct {
	ID int64
	// Time is the RFC 3339 UTC time with fractional seconds, as stored
	// and hashed.
	Time          string
	Type          string
	Source        string
	HTTPRequestID string
	AccountID     int64
	UserID        int64
	OrderID       int64
	Data          json.RawMessage
	PrevHash      []byte
	Hash          []byte
}

// canonicalAudit fixes the fields and their order in the JSON that a row's
// hash covers. docs/security.md repeats this form for external verifiers.
type canonicalAudit struct {
	ID            int64           `json:"id"`
	Time          string          `json:"time"`
	Type          string          `json:"type"`
	Source        string          `json:"source"`
	HTTPRequestID string          `json:"http_request_id"`
	AccountID     int64           `json:"account_id"`
	UserID        int64           `json:"user_id"`
	OrderID       int64           `json:"order_id"`
	Data          json.RawMessage `json:"data"`
}

// Canonical returns the JSON that the row's hash covers: one compact
// object with the fields in the order of canonicalAudit, encoded by
// encoding/json.
func (r *AuditRecord) Canonical() ([]byte, error) {
	return json.Marshal(canonicalAudit{
		ID: r.ID, Time: r.Time, Type: r.Type, Source: r.Source, HTTPRequestID: r.HTTPRequestID,
		AccountID: r.AccountID, UserID: r.UserID, OrderID: r.OrderID, Data: r.Data,
	})
}

// ExportLine returns the row as one line of JSON, without the newline. The
// line is the canonical JSON with "prev_hash" and "hash" (lower-case hex)
// added at the end. Cutting it at the last `,"prev_hash":` and closing the
// brace gives back the bytes the hash covers.
func (r *AuditRecord) ExportLine() ([]byte, error) {
	canonical, err := r.Canonical()
	if err != nil {
		return nil, err
	}
	line := bytes.NewBuffer(canonical[:len(canonical)-1])
	fmt.Fprintf(line, `,"prev_hash":"%x","hash":"%x"}`, r.PrevHash, r.Hash)
	return line.Bytes(), nil
}

// auditHash returns SHA-256(prev || canonical).
func auditHash(prev, canonical []byte) []byte {
	h := sha256.New()
	h.Write(prev)
	h.Write(canonical)
	return h.Sum(nil)
}

// isCanonicalData reports whether data is already in the form Canonical
// embeds: compact, with encoding/json's escaping. Otherwise a cosmetic edit
// of the data column (added spaces) would leave the hash unchanged.
func isCanonicalData(data json.RawMessage) bool {
	encoded, err := json.Marshal(data)
	return err == nil && bytes.Equal(encoded, data)
}

// appendAudit appends e to the audit log inside tx. Every transaction is
// BEGIN IMMEDIATE (see Open), so writers are serialized and the row read
// here as the last one stays the last one until tx ends: the chain is
// linear even with several processes on one database.
func appendAudit(ctx context.Context, tx *sql.Tx, e AuditEvent) error {
	data, err := auditData(e)
	if err != nil {
		return err
	}

	lastID, prev, err := lastAuditRow(ctx, tx)
	if err != nil {
		return err
	}

	accountID := e.AccountID
	if accountID == 0 && e.OrderID != 0 {
		if err := tx.QueryRowContext(ctx, `SELECT account_id FROM orders WHERE id = ?`, e.OrderID).Scan(&accountID); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("read account of order %d for the audit log: %w", e.OrderID, err)
		}
	}

	source := auditSourceOf(ctx)
	r := AuditRecord{
		ID: lastID + 1, Time: time.Now().UTC().Format(time.RFC3339Nano), Type: e.Type,
		Source: source.source, HTTPRequestID: source.httpRequestID,
		AccountID: accountID, UserID: e.UserID, OrderID: e.OrderID, Data: data, PrevHash: prev,
	}
	canonical, err := r.Canonical()
	if err != nil {
		return fmt.Errorf("encode audit event %s: %w", e.Type, err)
	}
	r.Hash = auditHash(prev, canonical)

	_, err = tx.ExecContext(ctx,
		`INSERT INTO audit_log (id, time, type, source, http_request_id, account_id, user_id, order_id, data, prev_hash, hash)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.Time, r.Type, r.Source, r.HTTPRequestID, r.AccountID, r.UserID, r.OrderID, string(r.Data), r.PrevHash, r.Hash)
	if err != nil {
		return fmt.Errorf("append audit event %s: %w", e.Type, err)
	}
	return nil
}

func auditData(e AuditEvent) (json.RawMessage, error) {
	if e.Type == "" {
		return nil, errors.New("audit event without a type")
	}
	if e.Data == nil {
		return json.RawMessage("{}"), nil
	}
	data, err := json.Marshal(e.Data)
	if err != nil {
		return nil, fmt.Errorf("encode data of audit event %s: %w", e.Type, err)
	}
	return data, nil
}

func lastAuditRow(ctx context.Context, tx *sql.Tx) (int64, []byte, error) {
	var id int64
	var hash []byte
	err := tx.QueryRowContext(ctx, `SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1`).Scan(&id, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, auditGenesis, nil
	}
	if err != nil {
		return 0, nil, fmt.Errorf("read the last audit row: %w", err)
	}
	return id, hash, nil
}

// RecordAudit appends an event that comes with no state change of its own
// (a key loaded, the configuration at start, a permission denied) in a
// transaction of its own.
func (s *Store) RecordAudit(ctx context.Context, e AuditEvent) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		return appendAudit(ctx, tx, e)
	})
}

// EachAuditRecord calls fn for every row with an id above afterID, oldest
// first. It reads in one read transaction, so rows that writers add
// meanwhile are not seen and the rows seen are consistent.
func (s *Store) EachAuditRecord(ctx context.Context, afterID int64, fn func(*AuditRecord) error) error {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("begin reading the audit log: %w", err)
	}
	defer func() { _ = tx.Rollback() }()

	rows, err := tx.QueryContext(ctx,
		`SELECT id, time, type, source, http_request_id, account_id, user_id, order_id, data, prev_hash, hash
		   FROM audit_log WHERE id > ? ORDER BY id`, afterID)
	if err != nil {
		return fmt.Errorf("read the audit log: %w", err)
	}
	defer rows.Close()

	for rows.Next() {
		var r AuditRecord
		var data string
		if err := rows.Scan(&r.ID, &r.Time, &r.Type, &r.Source, &r.HTTPRequestID, &r.AccountID, &r.UserID, &r.OrderID,
			&data, &r.PrevHash, &r.Hash); err != nil {
			return fmt.Errorf("read audit row: %w", err)
		}
		r.Data = json.RawMessage(data)
		if err := fn(&r); err != nil {
			return err
		}
	}
	return rows.Err()
}

// AuditAnchor is a row id and the hash an operator recorded for it
// earlier, for example from the output of `docsign-ca audit verify`. The
// chain alone cannot show rows cut off its end, nor a chain rewritten from
// the first row on; a recorded anchor can.
type AuditAnchor struct {
	ID   int64
	Hash []byte
}

// AuditVerification is the outcome of VerifyAudit.
type AuditVerification struct {
	Rows     int64
	LastID   int64
	HeadHash []byte // the hash of the last row, or 32 zero bytes for an empty log
	// BrokenAt is the id of the first row whose link is broken, or 0 when
	// the chain is intact. For a failed anchor it is the anchor's id.
	BrokenAt int64
	Problem  string
}

// Intact reports whether every link and every anchor checked out.
func (v *AuditVerification) Intact() bool { return v.Problem == "" }

// VerifyAudit recomputes the hash of every row and checks that each row's
// prev_hash is the hash of the row before it, and that each anchor's row
// still has the anchor's hash. It stops at the first broken link. An error
// means the log could not be read; a broken chain is reported in the
// result.
func (s *Store) VerifyAudit(ctx context.Context, anchors ...AuditAnchor) (*AuditVerification, error) {
	v := &AuditVerification{HeadHash: auditGenesis}
	expected := map[int64][]byte{}
	for _, a := range anchors {
		expected[a.ID] = a.Hash
	}
	seen := map[int64]bool{}

	errBroken := errors.New("broken")
	err := s.EachAuditRecord(ctx, 0, func(r *AuditRecord) error {
		if problem := checkAuditLink(r, v); problem != "" {
			v.BrokenAt, v.Problem = r.ID, problem
			return errBroken
		}
		if hash, ok := expected[r.ID]; ok {
			seen[r.ID] = true
			if !bytes.Equal(hash, r.Hash) {
				v.BrokenAt = r.ID
				v.Problem = fmt.Sprintf("row %d has hash %x, but the anchor recorded %x: the log was rewritten", r.ID, r.Hash, hash)
				return errBroken
			}
		}
		v.Rows++
		v.LastID, v.HeadHash = r.ID, r.Hash
		return nil
	})
	if err != nil && !errors.Is(err, errBroken) {
		return nil, err
	}
	if v.Problem != "" {
		return v, nil
	}

	for _, a := range anchors {
		if !seen[a.ID] {
			v.BrokenAt = a.ID
			v.Problem = fmt.Sprintf("row %d of the anchor is missing; the log ends at row %d: rows were removed from its end", a.ID, v.LastID)
			return v, nil
		}
	}
	return v, nil
}

// checkAuditLink checks one row against the row before it (v.HeadHash) and
// returns what is wrong, or "".
func checkAuditLink(r *AuditRecord, v *AuditVerification) string {
	if !bytes.Equal(r.PrevHash, v.HeadHash) {
		if v.Rows == 0 {
			return fmt.Sprintf("row %d is the first row, but its prev_hash is %x, not 32 zero bytes: rows before it were removed", r.ID, r.PrevHash)
		}
		return fmt.Sprintf("row %d: prev_hash %x is not the hash of row %d (%x): a row between them was removed, or rows were reordered or rewritten",
			r.ID, r.PrevHash, v.LastID, v.HeadHash)
	}
	if !isCanonicalData(r.Data) {
		return fmt.Sprintf("row %d: the data column is not in canonical JSON form: it was edited", r.ID)
	}

	canonical, err := r.Canonical()
	if err != nil {
		return fmt.Sprintf("row %d: the data column is not valid JSON: %v", r.ID, err)
	}
	if want := auditHash(r.PrevHash, canonical); !bytes.Equal(want, r.Hash) {
		return fmt.Sprintf("row %d: the stored hash %x does not match its contents (%x): the row was edited", r.ID, r.Hash, want)
	}
	return ""
}

// sha256Hex returns the SHA-256 of b in lower-case hex, the form the audit
// log uses for fingerprints.
func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// keyURIForAudit keeps a key URI up to any query, the same way the CA's log
// shows it. Stored key URIs carry no secret (the PKCS#11 PIN is server
// configuration), but a query could name a PIN source.
func keyURIForAudit(uri string) string {
	before, _, _ := strings.Cut(uri, "?")
	return before
}
