-- +goose Up
-- Payment for orders. Amounts are whole US cents.
--
-- ledger_entries is the balance of each container: one row per movement,
-- and the balance is the sum of amount_cents. A credit (operator deposit)
-- and a refund are positive, a debit (an order paid from the balance) is
-- negative. The partial unique index lets an order be debited once and
-- refunded once.
CREATE TABLE ledger_entries (
    id               INTEGER PRIMARY KEY,
    account_id       INTEGER NOT NULL REFERENCES accounts (id),
    container_id     INTEGER NOT NULL REFERENCES containers (id),
    order_id         INTEGER REFERENCES orders (id),
    kind             TEXT    NOT NULL,
    amount_cents     INTEGER NOT NULL,
    list_price_cents INTEGER NOT NULL DEFAULT 0,
    discount_cents   INTEGER NOT NULL DEFAULT 0,
    promo_code       TEXT    NOT NULL DEFAULT '',
    note             TEXT    NOT NULL DEFAULT '',
    created_at       TEXT    NOT NULL
);

CREATE INDEX ledger_entries_by_container ON ledger_entries (container_id);
CREATE UNIQUE INDEX ledger_entries_once_per_order ON ledger_entries (order_id, kind) WHERE order_id IS NOT NULL;

-- payment_profiles are saved cards. processor_token is the payment
-- processor's token for the card; the card number and CVV are never stored.
-- is_default is 0 or 1, and at most one profile of an account has 1.
CREATE TABLE payment_profiles (
    id               INTEGER PRIMARY KEY,
    account_id       INTEGER NOT NULL REFERENCES accounts (id),
    user_id          INTEGER NOT NULL REFERENCES users (id),
    processor_token  TEXT    NOT NULL,
    card_brand       TEXT    NOT NULL,
    card_last_four   TEXT    NOT NULL,
    expiration_month INTEGER NOT NULL,
    expiration_year  INTEGER NOT NULL,
    cardholder_name  TEXT    NOT NULL,
    billing_address  TEXT    NOT NULL,
    is_default       INTEGER NOT NULL DEFAULT 0,
    created_at       TEXT    NOT NULL
);

CREATE INDEX payment_profiles_by_account ON payment_profiles (account_id);

-- order_payments records how each order was paid, one row per order.
-- status is paid, refund_pending (a card refund waits for the processor)
-- or refunded. charge_id and refund_id are the processor's ids.
CREATE TABLE order_payments (
    order_id         INTEGER PRIMARY KEY REFERENCES orders (id),
    account_id       INTEGER NOT NULL REFERENCES accounts (id),
    container_id     INTEGER NOT NULL REFERENCES containers (id),
    method           TEXT    NOT NULL,
    list_price_cents INTEGER NOT NULL,
    discount_cents   INTEGER NOT NULL,
    amount_cents     INTEGER NOT NULL,
    promo_code       TEXT    NOT NULL DEFAULT '',
    charge_id        TEXT    NOT NULL DEFAULT '',
    card_brand       TEXT    NOT NULL DEFAULT '',
    card_last_four   TEXT    NOT NULL DEFAULT '',
    profile_id       INTEGER REFERENCES payment_profiles (id),
    status           TEXT    NOT NULL,
    refund_id        TEXT    NOT NULL DEFAULT '',
    refunded_at      TEXT,
    created_at       TEXT    NOT NULL
);

CREATE INDEX order_payments_by_status ON order_payments (status);

-- promo_codes are percentage discounts that the operator adds. code is
-- stored upper-case; expires_at is the last second of the last valid day.
CREATE TABLE promo_codes (
    code       TEXT    PRIMARY KEY,
    percent    INTEGER NOT NULL,
    expires_at TEXT    NOT NULL,
    created_at TEXT    NOT NULL
);

-- +goose Down
DROP TABLE promo_codes;
DROP INDEX order_payments_by_status;
DROP TABLE order_payments;
DROP INDEX payment_profiles_by_account;
DROP TABLE payment_profiles;
DROP INDEX ledger_entries_once_per_order;
DROP INDEX ledger_entries_by_container;
DROP TABLE ledger_entries;
