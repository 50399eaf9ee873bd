-- +goose Up
-- lease_until is when the server that wrote a signing intent gives it up.
-- Several servers share a PostgreSQL database: until the lease ends, no
-- other server signs the intent's TBSCertificate, and after it ends one of
-- them claims the intent and completes it (a server killed while signing
-- leaves such an intent). NULL, on intents written before this column, is
-- an ended lease.
ALTER TABLE issuance_intents ADD COLUMN lease_until TEXT;

CREATE INDEX issuance_intents_open ON issuance_intents (status, lease_until);

-- +goose Down
DROP INDEX issuance_intents_open;
ALTER TABLE issuance_intents DROP COLUMN lease_until;
