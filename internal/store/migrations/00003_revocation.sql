-- +goose Up
-- Revocation: when and why a certificate was revoked, revoke requests, the
-- CRL of each issuing CA and its delegated OCSP responder certificates.

-- revocation_reason is the RFC 5280 §5.3.1 CRLReason code (0 unspecified,
-- 1 keyCompromise, ...). revoked_by is the user who revoked the certificate
-- or approved the revoke request.
ALTER TABLE certificates ADD COLUMN revoked_at TEXT;
ALTER TABLE certificates ADD COLUMN revocation_reason INTEGER;
ALTER TABLE certificates ADD COLUMN revoked_by INTEGER REFERENCES users (id);

CREATE INDEX certificates_revoked ON certificates (ca_id, status);

-- A revoke request names one certificate, or every certificate of its order
-- when certificate_id is NULL. Its reason is applied when it is approved.
ALTER TABLE requests ADD COLUMN certificate_id INTEGER REFERENCES certificates (id);
ALTER TABLE requests ADD COLUMN revocation_reason INTEGER;

-- The newest CRL of each issuing CA. number is the RFC 5280 §5.2.3
-- cRLNumber of that CRL; the next CRL takes a larger one, so a CA's numbers
-- only grow even when several servers share the database.
CREATE TABLE crls (
    ca_id       INTEGER PRIMARY KEY REFERENCES cas (id),
    number      INTEGER NOT NULL,
    this_update TEXT    NOT NULL,
    next_update TEXT    NOT NULL,
    der         BLOB    NOT NULL
);

-- Delegated OCSP responder certificates (RFC 6960 §4.2.2.2), signed by the
-- issuing CA. key_uri names the responder's key file; the key itself is
-- never stored in the database.
CREATE TABLE ocsp_responders (
    id         INTEGER PRIMARY KEY,
    ca_id      INTEGER NOT NULL REFERENCES cas (id),
    cert_der   BLOB    NOT NULL,
    key_uri    TEXT    NOT NULL,
    not_before TEXT    NOT NULL,
    not_after  TEXT    NOT NULL,
    created_at TEXT    NOT NULL
);

CREATE INDEX ocsp_responders_by_ca ON ocsp_responders (ca_id, not_after);

-- +goose Down
DROP TABLE ocsp_responders;
DROP TABLE crls;
ALTER TABLE requests DROP COLUMN revocation_reason;
ALTER TABLE requests DROP COLUMN certificate_id;
DROP INDEX certificates_revoked;
ALTER TABLE certificates DROP COLUMN revoked_by;
ALTER TABLE certificates DROP COLUMN revocation_reason;
ALTER TABLE certificates DROP COLUMN revoked_at;
