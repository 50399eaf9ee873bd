-- +goose Up
-- The balance of each container: the sum of amount_cents of its
-- ledger_entries rows, kept by triggers in the transaction that writes the
-- ledger row. A balance payment under a negative balance limit and
-- GET finance/balance read one row here instead of summing the ledger,
-- whose rows grow with every order of the container.
--
-- Triggers, rather than updates in the store's Go code, because they follow
-- every write to ledger_entries: the store only inserts ledger rows, but an
-- operator correcting a row by hand with UPDATE or DELETE keeps the
-- balance right too, as order_counts does for orders. A container without
-- ledger rows has no row here and a balance of 0.
CREATE TABLE container_balances (
    container_id  INTEGER PRIMARY KEY,
    account_id    INTEGER NOT NULL,
    balance_cents INTEGER NOT NULL
);

INSERT INTO container_balances (container_id, account_id, balance_cents)
SELECT c.id, c.account_id, SUM(l.amount_cents)
  FROM ledger_entries l JOIN containers c ON c.id = l.container_id
 GROUP BY c.id, c.account_id;

-- +goose StatementBegin
CREATE TRIGGER container_balances_insert AFTER INSERT ON ledger_entries
BEGIN
    INSERT INTO container_balances (container_id, account_id, balance_cents)
    VALUES (NEW.container_id, NEW.account_id, NEW.amount_cents)
    ON CONFLICT (container_id) DO UPDATE SET balance_cents = balance_cents + excluded.balance_cents;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER container_balances_update AFTER UPDATE OF container_id, amount_cents ON ledger_entries
WHEN OLD.container_id IS NOT NEW.container_id OR OLD.amount_cents IS NOT NEW.amount_cents
BEGIN
    UPDATE container_balances SET balance_cents = balance_cents - OLD.amount_cents
     WHERE container_id = OLD.container_id;
    INSERT INTO container_balances (container_id, account_id, balance_cents)
    VALUES (NEW.container_id, NEW.account_id, NEW.amount_cents)
    ON CONFLICT (container_id) DO UPDATE SET balance_cents = balance_cents + excluded.balance_cents;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER container_balances_delete AFTER DELETE ON ledger_entries
BEGIN
    UPDATE container_balances SET balance_cents = balance_cents - OLD.amount_cents
     WHERE container_id = OLD.container_id;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER container_balances_delete;
DROP TRIGGER container_balances_update;
DROP TRIGGER container_balances_insert;
DROP TABLE container_balances;
