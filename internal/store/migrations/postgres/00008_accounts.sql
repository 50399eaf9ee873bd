-- +goose Up
-- API keys carry a CertCentral restriction id (0 none, 100 orders, 101
-- orders, domains and organizations, 102 view only, 103 user management),
-- an optional name and an optional expiry after which the key no longer
-- authenticates.
ALTER TABLE api_keys ADD COLUMN restriction BIGINT NOT NULL DEFAULT 0;
ALTER TABLE api_keys ADD COLUMN name TEXT NOT NULL DEFAULT '';
ALTER TABLE api_keys ADD COLUMN expires_at TEXT;

CREATE INDEX api_keys_by_user ON api_keys (user_id);

-- A deleted user keeps its row, because orders and requests name it, but
-- its API keys are revoked and it no longer appears in lists.
ALTER TABLE users ADD COLUMN deleted_at TEXT;

-- +goose Down
ALTER TABLE users DROP COLUMN deleted_at;
DROP INDEX api_keys_by_user;
ALTER TABLE api_keys DROP COLUMN expires_at;
ALTER TABLE api_keys DROP COLUMN name;
ALTER TABLE api_keys DROP COLUMN restriction;
