-- +goose Up
-- The balance of each container: the sum of amount_cents of its
-- ledger_entries rows, kept by a trigger in the transaction that writes the
-- ledger row. A balance payment under a negative balance limit and
-- GET finance/balance read one row here instead of summing the ledger.
--
-- A trigger, rather than updates in the store's Go code, because it follows
-- every write to ledger_entries: the store only inserts ledger rows, but an
-- operator correcting a row by hand with UPDATE or DELETE keeps the
-- balance right too. A container without ledger rows has no row here and a
-- balance of 0.
CREATE TABLE container_balances (
    container_id  BIGINT PRIMARY KEY,
    account_id    BIGINT NOT NULL,
    balance_cents BIGINT NOT NULL
);

INSERT INTO container_balances (container_id, account_id, balance_cents)
SELECT c.id, c.account_id, SUM(l.amount_cents)
  FROM ledger_entries l JOIN containers c ON c.id = l.container_id
 GROUP BY c.id, c.account_id;

-- +goose StatementBegin
CREATE FUNCTION container_balances_track() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE container_balances SET balance_cents = balance_cents - OLD.amount_cents
         WHERE container_id = OLD.container_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO container_balances (container_id, account_id, balance_cents)
        VALUES (NEW.container_id, NEW.account_id, NEW.amount_cents)
        ON CONFLICT (container_id) DO UPDATE
        SET balance_cents = container_balances.balance_cents + EXCLUDED.balance_cents;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd

CREATE TRIGGER container_balances_insert AFTER INSERT ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION container_balances_track();
CREATE TRIGGER container_balances_update AFTER UPDATE OF container_id, amount_cents ON ledger_entries
    FOR EACH ROW WHEN (OLD.container_id IS DISTINCT FROM NEW.container_id OR OLD.amount_cents IS DISTINCT FROM NEW.amount_cents)
    EXECUTE FUNCTION container_balances_track();
CREATE TRIGGER container_balances_delete AFTER DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION container_balances_track();

-- +goose Down
DROP TRIGGER container_balances_delete ON ledger_entries;
DROP TRIGGER container_balances_update ON ledger_entries;
DROP TRIGGER container_balances_insert ON ledger_entries;
DROP FUNCTION container_balances_track();
DROP TABLE container_balances;
