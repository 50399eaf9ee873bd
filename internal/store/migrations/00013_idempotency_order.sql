-- +goose Up
-- order_id is the order that the request holding the key placed, written in
-- the transaction that stores the order. When the server dies before it
-- stores the response, a retry after the reservation's lease answers with
-- that order instead of placing a second one.
ALTER TABLE idempotency_keys ADD COLUMN order_id INTEGER;

-- +goose Down
ALTER TABLE idempotency_keys DROP COLUMN order_id;
