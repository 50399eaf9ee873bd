-- +goose Up
-- Background jobs that servers claim. A job is one unit of work, named by
-- its kind and the id of the row it works on: issue_certificate jobs issue
-- the pending certificate ref_id of an order that became ready outside a
-- request (after an operator's validation, or an approval whose server
-- died). A server claims a job with a lease; on PostgreSQL the claim locks
-- the rows with SKIP LOCKED, so replicas claiming at the same moment take
-- different jobs. A job whose server died is claimed again when its lease
-- ends, and attempts counts the claims.
CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY,
    kind        TEXT    NOT NULL,
    ref_id      INTEGER NOT NULL,
    status      TEXT    NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    lease_until TEXT    NOT NULL,
    last_error  TEXT    NOT NULL DEFAULT '',
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL,
    UNIQUE (kind, ref_id)
);

CREATE INDEX jobs_open ON jobs (status, lease_until);

-- +goose Down
DROP INDEX jobs_open;
DROP TABLE jobs;
