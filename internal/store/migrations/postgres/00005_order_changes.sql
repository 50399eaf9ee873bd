-- +goose Up
-- Order changes after placement: cancel notes, renewal marks, per-certificate
-- key material for duplicates, and idempotent POST replay.

ALTER TABLE orders ADD COLUMN cancel_note TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN renewal_status TEXT NOT NULL DEFAULT '';

-- A duplicate certificate has its own key; NULL means the order's key.
ALTER TABLE certificates ADD COLUMN public_key BYTEA;
ALTER TABLE certificates ADD COLUMN csr_pem TEXT;
ALTER TABLE certificates ADD COLUMN kind TEXT NOT NULL DEFAULT 'original';

-- One row per Idempotency-Key of an account. request_hash is the SHA-256
-- of method, path and body; a reuse with another hash is a conflict.
CREATE TABLE idempotency_keys (
    account_id   BIGINT NOT NULL REFERENCES accounts (id),
    key          TEXT    NOT NULL,
    request_hash BYTEA    NOT NULL,
    status       BIGINT NOT NULL,
    content_type TEXT    NOT NULL,
    body         BYTEA    NOT NULL,
    created_at   TEXT    NOT NULL,
    PRIMARY KEY (account_id, key)
);

-- +goose Down
DROP TABLE idempotency_keys;
ALTER TABLE certificates DROP COLUMN kind;
ALTER TABLE certificates DROP COLUMN csr_pem;
ALTER TABLE certificates DROP COLUMN public_key;
ALTER TABLE orders DROP COLUMN renewal_status;
ALTER TABLE orders DROP COLUMN cancel_note;
