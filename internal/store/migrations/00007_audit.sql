-- +goose Up
-- The audit log: one row per security-relevant event, written in the same
-- transaction as the change it records. Each row's hash is
-- SHA-256(prev_hash || canonical JSON of the row), and prev_hash is the hash
-- of the row before it (32 zero bytes for the first row), so that editing,
-- deleting or reordering a row breaks the chain at that row.
-- `docsign-ca audit verify` checks the chain; docs/security.md gives the
-- canonical form.
--
-- account_id, user_id and order_id are 0 when the event has none; the
-- columns carry no foreign keys, so that an event about a denied or
-- failed action can name ids that do not exist.
CREATE TABLE audit_log (
    id              INTEGER PRIMARY KEY,
    time            TEXT    NOT NULL,
    type            TEXT    NOT NULL,
    source          TEXT    NOT NULL,
    http_request_id TEXT    NOT NULL DEFAULT '',
    account_id      INTEGER NOT NULL DEFAULT 0,
    user_id         INTEGER NOT NULL DEFAULT 0,
    order_id        INTEGER NOT NULL DEFAULT 0,
    data            TEXT    NOT NULL,
    prev_hash       BLOB    NOT NULL,
    hash            BLOB    NOT NULL
);

CREATE INDEX audit_log_by_order ON audit_log (order_id);
CREATE INDEX audit_log_by_type ON audit_log (type);

-- Rows are append-only. The triggers stop the server and its operator
-- commands from changing a row by mistake; someone who can write the
-- database file can drop them, which the hash chain then shows.
-- +goose StatementBegin
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log rows are append-only');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log rows are append-only');
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER audit_log_no_delete;
DROP TRIGGER audit_log_no_update;
DROP TABLE audit_log;
