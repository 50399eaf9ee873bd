-- +goose Up
-- Provisioning flows: the e-mail queue, one-time pickup codes of client_app
-- orders, token shipments of ship_token orders, and one renewal per order.

-- The e-mail queue. A row is written in the same transaction as the event
-- it reports (an issued certificate, a new pickup code, a shipment), so a
-- crash or restart loses no message. The sender renders the message from
-- the order when it sends it. payload holds values that the database keeps
-- nowhere else, such as a pickup code or a token PIN; it is emptied once
-- the message is sent. dedupe_key, when set, makes an event queue at most
-- once (a renewal notice per order and threshold).
CREATE TABLE notifications (
    id              INTEGER PRIMARY KEY,
    kind            TEXT    NOT NULL,
    order_id        INTEGER NOT NULL REFERENCES orders (id),
    certificate_id  INTEGER REFERENCES certificates (id),
    dedupe_key      TEXT UNIQUE,
    payload         TEXT    NOT NULL DEFAULT '{}',
    status          TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT    NOT NULL,
    last_error      TEXT    NOT NULL DEFAULT '',
    message_id      TEXT    NOT NULL DEFAULT '',
    created_at      TEXT    NOT NULL,
    sent_at         TEXT
);

CREATE INDEX notifications_due ON notifications (status, next_attempt_at);
CREATE INDEX notifications_by_order ON notifications (order_id);

-- One-time codes with which the client app collects a client_app order's
-- certificate. The code is shown to nobody but its recipient: only the
-- SHA-256 of the whole code is stored. selector is the code's first
-- characters, stored in clear to find the row, so that wrong guesses at
-- one code can be counted and lock it.
CREATE TABLE pickup_codes (
    id          INTEGER PRIMARY KEY,
    order_id    INTEGER NOT NULL REFERENCES orders (id),
    selector    TEXT    NOT NULL UNIQUE,
    code_hash   BLOB    NOT NULL,
    status      TEXT    NOT NULL,
    failures    INTEGER NOT NULL DEFAULT 0,
    expires_at  TEXT    NOT NULL,
    created_at  TEXT    NOT NULL,
    redeemed_at TEXT
);

CREATE INDEX pickup_codes_by_order ON pickup_codes (order_id, status);

-- The hardware token of a ship_token order, from key generation to
-- shipment. key_id is the CKA_ID of the key pair and certificate on the
-- token; the private key never leaves the token.
CREATE TABLE shipments (
    order_id         INTEGER PRIMARY KEY REFERENCES orders (id),
    state            TEXT    NOT NULL,
    token_serial     TEXT    NOT NULL,
    token_label      TEXT    NOT NULL,
    key_label        TEXT    NOT NULL,
    key_id           BLOB    NOT NULL,
    carrier          TEXT    NOT NULL DEFAULT '',
    tracking_number  TEXT    NOT NULL DEFAULT '',
    key_generated_at TEXT    NOT NULL,
    provisioned_at   TEXT,
    shipped_at       TEXT
);

-- An order is renewed at most once. A rejected or canceled renewal renewed
-- nothing, so it does not count.
CREATE UNIQUE INDEX orders_one_renewal ON orders (renewal_of_order_id)
    WHERE renewal_of_order_id IS NOT NULL AND status NOT IN ('rejected', 'canceled');

-- +goose Down
DROP INDEX orders_one_renewal;
DROP TABLE shipments;
DROP TABLE pickup_codes;
DROP TABLE notifications;
