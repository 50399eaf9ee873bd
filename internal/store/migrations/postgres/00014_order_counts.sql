-- +goose Up
-- The number of orders per account, container and status, kept by a
-- trigger in the transaction that changes an order. A list filtered by
-- status alone reads its page total here instead of counting the orders.
CREATE TABLE order_counts (
    account_id   BIGINT NOT NULL,
    container_id BIGINT NOT NULL,
    status       TEXT   NOT NULL,
    n            BIGINT NOT NULL,
    PRIMARY KEY (account_id, container_id, status)
);

INSERT INTO order_counts (account_id, container_id, status, n)
SELECT account_id, container_id, status, COUNT(*) FROM orders GROUP BY account_id, container_id, status;

-- +goose StatementBegin
CREATE FUNCTION order_counts_track() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE order_counts SET n = n - 1
         WHERE account_id = OLD.account_id AND container_id = OLD.container_id AND status = OLD.status;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO order_counts (account_id, container_id, status, n)
        VALUES (NEW.account_id, NEW.container_id, NEW.status, 1)
        ON CONFLICT (account_id, container_id, status) DO UPDATE SET n = order_counts.n + 1;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd

CREATE TRIGGER order_counts_insert AFTER INSERT ON orders
    FOR EACH ROW EXECUTE FUNCTION order_counts_track();
CREATE TRIGGER order_counts_update AFTER UPDATE OF account_id, container_id, status ON orders
    FOR EACH ROW WHEN (OLD.account_id IS DISTINCT FROM NEW.account_id OR OLD.container_id IS DISTINCT FROM NEW.container_id
                       OR OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION order_counts_track();
CREATE TRIGGER order_counts_delete AFTER DELETE ON orders
    FOR EACH ROW EXECUTE FUNCTION order_counts_track();

-- +goose Down
DROP TRIGGER order_counts_delete ON orders;
DROP TRIGGER order_counts_update ON orders;
DROP TRIGGER order_counts_insert ON orders;
DROP FUNCTION order_counts_track();
DROP TABLE order_counts;
