package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// CARetired is the status of an intermediate that issues no new
// certificates. Its key still loads, so it keeps signing CRLs and OCSP
// responder certificates for the certificates it issued.
const CARetired = "retired"

// RetireCA sets the intermediate with the ca_cert_id (in any letter case)
// to CARetired and returns it as it is now. It returns ErrNotFound for an
// unknown ca_cert_id, and an error wrapping ErrConflict when the CA is a
// root, is already retired, or is the last active intermediate (the server
// needs one to start).
func (s *Store) RetireCA(ctx context.Context, caCertID string) (CA, error) {
	var retired CA
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		var id int64
		var role, status, name string
		err := tx.QueryRowContext(ctx, `SELECT id, role, status, common_name FROM cas WHERE upper(ca_cert_id) = upper(?)`, caCertID).
			Scan(&id, &role, &status, &name)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("CA %s: %w", caCertID, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("read CA %s: %w", caCertID, err)
		}

		if err := checkRetirable(ctx, tx, caCertID, role, status); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE cas SET status = ?, retired_at = ? WHERE id = ?`, CARetired, formatTime(now()), id); err != nil {
			return fmt.Errorf("retire CA %s: %w", caCertID, err)
		}
		retired = CA{ID: id, CACertID: strings.ToUpper(caCertID), Role: role, CommonName: name, Status: CARetired}
		return appendAudit(ctx, tx, caRetiredEvent(retired))
	})
	return retired, err
}

func checkRetirable(ctx context.Context, tx *sql.Tx, caCertID, role, status string) error {
	if role != CAIntermediate {
		return fmt.Errorf("CA %s is a %s CA, and only an issuing intermediate can be retired: %w", caCertID, role, ErrConflict)
	}
	if status == CARetired {
		return fmt.Errorf("CA %s is already retired: %w", caCertID, ErrConflict)
	}

	var others int
	err := tx.QueryRowContext(ctx,
		`SELECT COUNT(*) FROM cas WHERE role = ? AND status = ? AND upper(ca_cert_id) <> upper(?)`,
		CAIntermediate, CAActive, caCertID).Scan(&others)
	if err != nil {
		return fmt.Errorf("count active CAs: %w", err)
	}
	if others == 0 {
		return fmt.Errorf("CA %s is the last active issuing CA, and the server needs one to start; "+
			"create another with `docsign-ca ceremony --data-dir` first: %w", caCertID, ErrConflict)
	}
	return nil
}

// InsertHierarchy records a root and its intermediates in one transaction
// and returns the root's id and the intermediates' ids. A root whose
// ca_cert_id is already recorded (a ceremony that adds intermediates under
// an existing root) is reused; it must be the same certificate. Each
// intermediate's ParentID is set to the root. An intermediate whose
// ca_cert_id is already recorded is an error wrapping ErrConflict.
func (s *Store) InsertHierarchy(ctx context.Context, root CA, intermediates []CA) (int64, []int64, error) {
	var rootID int64
	var ids []int64
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		ids = nil
		var err error
		rootID, err = insertOrReuseRoot(ctx, tx, root)
		if err != nil {
			return err
		}
		for _, ca := range intermediates {
			ca.ParentID = rootID
			id, err := insertCA(ctx, tx, ca)
			if err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return nil
	})
	return rootID, ids, err
}

func insertOrReuseRoot(ctx context.Context, tx *sql.Tx, root CA) (int64, error) {
	var id int64
	var der []byte
	err := tx.QueryRowContext(ctx, `SELECT id, cert_der FROM cas WHERE ca_cert_id = ?`, root.CACertID).Scan(&id, &der)
	if errors.Is(err, sql.ErrNoRows) {
		return insertCA(ctx, tx, root)
	}
	if err != nil {
		return 0, fmt.Errorf("read CA %s: %w", root.CACertID, err)
	}
	if string(der) != string(root.CertDER) {
		return 0, fmt.Errorf("CA %s is recorded with another certificate: %w", root.CACertID, ErrConflict)
	}
	return id, nil
}

func insertCA(ctx context.Context, tx *sql.Tx, ca CA) (int64, error) {
	var parent any
	if ca.ParentID != 0 {
		parent = ca.ParentID
	}
	status := ca.Status
	if status == "" {
		status = CAActive
	}

	var id int64
	err := insertID(ctx, tx, &id,
		`INSERT INTO cas (ca_cert_id, role, parent_id, common_name, cert_der, key_uri, status, created_at, development)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		ca.CACertID, ca.Role, parent, ca.CommonName, ca.CertDER, ca.KeyURI, status, formatTime(now()), boolInt(ca.Development))
	if isUniqueViolation(err) {
		return 0, fmt.Errorf("CA %s (%s) is already recorded: %w", ca.CACertID, ca.CommonName, ErrConflict)
	}
	if err != nil {
		return 0, fmt.Errorf("insert CA %s: %w", ca.CommonName, err)
	}
	return id, appendAudit(ctx, tx, caCreatedEvent(ca, id))
}
