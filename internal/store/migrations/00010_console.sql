-- +goose Up
-- Web console sign-in. A user signs in to the console with a password, and
-- with a TOTP code when totp_secret is set; API keys never sign in there.
-- password_hash is an encoded argon2id hash with its parameters and salt.
-- totp_last_step is the RFC 6238 time step of the last accepted code, so a
-- code is accepted once.
CREATE TABLE console_credentials (
    user_id        INTEGER PRIMARY KEY REFERENCES users (id),
    password_hash  TEXT    NOT NULL,
    totp_secret    TEXT    NOT NULL DEFAULT '',
    totp_last_step INTEGER NOT NULL DEFAULT 0,
    created_at     TEXT    NOT NULL,
    updated_at     TEXT    NOT NULL
);

-- Console sessions. token_hash is the SHA-256 of the session cookie's
-- value; the value itself is never stored. csrf_token is the token every
-- form of the session must send back.
CREATE TABLE console_sessions (
    id           INTEGER PRIMARY KEY,
    token_hash   BLOB    NOT NULL UNIQUE,
    user_id      INTEGER NOT NULL REFERENCES users (id),
    csrf_token   TEXT    NOT NULL,
    created_at   TEXT    NOT NULL,
    last_seen_at TEXT    NOT NULL
);

CREATE INDEX console_sessions_by_user ON console_sessions (user_id);

-- +goose Down
DROP INDEX console_sessions_by_user;
DROP TABLE console_sessions;
DROP TABLE console_credentials;
