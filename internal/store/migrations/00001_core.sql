-- +goose Up
-- Times are stored as RFC 3339 text in UTC, truncated to whole seconds.

CREATE TABLE accounts (
    id              INTEGER PRIMARY KEY,
    name            TEXT    NOT NULL,
    approval_policy TEXT    NOT NULL DEFAULT 'required',
    created_at      TEXT    NOT NULL
);

CREATE TABLE containers (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    parent_id  INTEGER REFERENCES containers (id),
    name       TEXT    NOT NULL,
    created_at TEXT    NOT NULL
);

CREATE TABLE users (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES accounts (id),
    container_id INTEGER NOT NULL REFERENCES containers (id),
    username     TEXT    NOT NULL UNIQUE,
    first_name   TEXT    NOT NULL,
    last_name    TEXT    NOT NULL,
    email        TEXT    NOT NULL,
    job_title    TEXT    NOT NULL DEFAULT '',
    telephone    TEXT    NOT NULL DEFAULT '',
    role         TEXT    NOT NULL,
    created_at   TEXT    NOT NULL
);

-- API keys are stored as a SHA-256 hash of the key. The prefix is the first
-- characters of the key, kept so that an operator can tell keys apart.
CREATE TABLE api_keys (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id),
    key_hash   BLOB    NOT NULL UNIQUE,
    key_prefix TEXT    NOT NULL,
    created_at TEXT    NOT NULL,
    revoked_at TEXT
);

CREATE TABLE organizations (
    id                   INTEGER PRIMARY KEY,
    account_id           INTEGER NOT NULL REFERENCES accounts (id),
    container_id         INTEGER NOT NULL REFERENCES containers (id),
    name                 TEXT    NOT NULL,
    assumed_name         TEXT    NOT NULL DEFAULT '',
    address              TEXT    NOT NULL,
    address2             TEXT    NOT NULL DEFAULT '',
    city                 TEXT    NOT NULL,
    state                TEXT    NOT NULL,
    zip                  TEXT    NOT NULL,
    country              TEXT    NOT NULL,
    telephone            TEXT    NOT NULL DEFAULT '',
    normalized_key       TEXT    NOT NULL,
    organization_contact TEXT    NOT NULL DEFAULT '{}',
    technical_contact    TEXT,
    is_active            INTEGER NOT NULL DEFAULT 1,
    created_at           TEXT    NOT NULL
);

CREATE INDEX organizations_by_key ON organizations (account_id, normalized_key);

CREATE TABLE validations (
    id              INTEGER PRIMARY KEY,
    organization_id INTEGER NOT NULL REFERENCES organizations (id),
    type            TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    verified_users  TEXT    NOT NULL DEFAULT '[]',
    date_created    TEXT    NOT NULL,
    validated_until TEXT,
    UNIQUE (organization_id, type)
);

-- The CA hierarchy. key_uri names where the private key lives; the key
-- itself is never stored in the database.
CREATE TABLE cas (
    id          INTEGER PRIMARY KEY,
    ca_cert_id  TEXT    NOT NULL UNIQUE,
    role        TEXT    NOT NULL,
    parent_id   INTEGER REFERENCES cas (id),
    common_name TEXT    NOT NULL,
    cert_der    BLOB    NOT NULL,
    key_uri     TEXT    NOT NULL,
    status      TEXT    NOT NULL DEFAULT 'active',
    created_at  TEXT    NOT NULL
);

CREATE TABLE orders (
    id                  INTEGER PRIMARY KEY,
    account_id          INTEGER NOT NULL REFERENCES accounts (id),
    container_id        INTEGER NOT NULL REFERENCES containers (id),
    organization_id     INTEGER NOT NULL REFERENCES organizations (id),
    user_id             INTEGER NOT NULL REFERENCES users (id),
    status              TEXT    NOT NULL,
    product_name_id     TEXT    NOT NULL,
    provisioning_method TEXT    NOT NULL,
    csr_pem             TEXT,
    public_key          BLOB,
    key_type            TEXT    NOT NULL,
    key_size            INTEGER NOT NULL,
    signature_hash      TEXT    NOT NULL,
    ca_id               INTEGER NOT NULL REFERENCES cas (id),
    not_after           TEXT    NOT NULL,
    skip_approval       INTEGER NOT NULL DEFAULT 0,
    renewal_of_order_id INTEGER REFERENCES orders (id),
    -- details is the validated request as JSON, without card data.
    details             TEXT    NOT NULL,
    issue_error         TEXT    NOT NULL DEFAULT '',
    date_created        TEXT    NOT NULL,
    updated_at          TEXT    NOT NULL
);

CREATE INDEX orders_ready ON orders (status);

CREATE TABLE order_status_changes (
    id         INTEGER PRIMARY KEY,
    order_id   INTEGER NOT NULL REFERENCES orders (id),
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    status     TEXT    NOT NULL,
    changed_at TEXT    NOT NULL
);

CREATE TABLE requests (
    id                INTEGER PRIMARY KEY,
    account_id        INTEGER NOT NULL REFERENCES accounts (id),
    order_id          INTEGER NOT NULL REFERENCES orders (id),
    type              TEXT    NOT NULL,
    status            TEXT    NOT NULL,
    requester_id      INTEGER NOT NULL REFERENCES users (id),
    processor_id      INTEGER REFERENCES users (id),
    comments          TEXT    NOT NULL DEFAULT '',
    processor_comment TEXT    NOT NULL DEFAULT '',
    date              TEXT    NOT NULL,
    date_processed    TEXT
);

-- A certificate row exists from the moment its order is placed, as in
-- CertCentral, whose order info carries certificate.id before issuance.
CREATE TABLE certificates (
    id            INTEGER PRIMARY KEY,
    account_id    INTEGER NOT NULL REFERENCES accounts (id),
    order_id      INTEGER NOT NULL REFERENCES orders (id),
    status        TEXT    NOT NULL,
    serial_number TEXT UNIQUE,
    thumbprint    TEXT,
    der           BLOB,
    ca_id         INTEGER REFERENCES cas (id),
    valid_from    TEXT,
    valid_till    TEXT,
    date_created  TEXT    NOT NULL,
    date_issued   TEXT
);

CREATE INDEX certificates_by_order ON certificates (order_id);

-- An issuance intent is written before the CA key signs anything. It
-- records the exact TBSCertificate, so that a certificate signed just before
-- a crash is still on record and can be completed at the next start.
CREATE TABLE issuance_intents (
    id             INTEGER PRIMARY KEY,
    certificate_id INTEGER NOT NULL UNIQUE REFERENCES certificates (id),
    order_id       INTEGER NOT NULL REFERENCES orders (id),
    serial_number  TEXT    NOT NULL UNIQUE,
    ca_id          INTEGER NOT NULL REFERENCES cas (id),
    tbs            BLOB    NOT NULL,
    status         TEXT    NOT NULL,
    created_at     TEXT    NOT NULL,
    completed_at   TEXT
);

-- +goose Down
DROP TABLE issuance_intents;
DROP TABLE certificates;
DROP TABLE requests;
DROP TABLE order_status_changes;
DROP TABLE orders;
DROP TABLE cas;
DROP TABLE validations;
DROP TABLE organizations;
DROP TABLE api_keys;
DROP TABLE users;
DROP TABLE containers;
DROP TABLE accounts;
