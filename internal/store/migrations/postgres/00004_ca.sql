-- +goose Up
-- development marks the CAs of the hierarchy that the first start creates.
-- Their keys are unencrypted files, which `serve` accepts only for these
-- CAs, or for every CA with --dev. Before this migration only the first
-- start created CAs, always with file keys, so those rows are marked.
ALTER TABLE cas ADD COLUMN development BIGINT NOT NULL DEFAULT 0;
UPDATE cas SET development = 1 WHERE key_uri LIKE 'file:%';

-- retired_at is when `docsign-ca ca retire` set status to 'retired'. A
-- retired intermediate issues no new certificates but still signs CRLs and
-- OCSP responder certificates.
ALTER TABLE cas ADD COLUMN retired_at TEXT;

-- +goose Down
ALTER TABLE cas DROP COLUMN retired_at;
ALTER TABLE cas DROP COLUMN development;
