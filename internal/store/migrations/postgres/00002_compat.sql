-- +goose Up
-- Indexes for the CertCentral list endpoints. Every list is scoped to one
-- account, so each index starts with account_id and then names the column
-- that a filter or the default sort reads.

CREATE INDEX orders_by_account_created ON orders (account_id, date_created);
CREATE INDEX orders_by_account_status ON orders (account_id, status);
CREATE INDEX orders_by_account_organization ON orders (account_id, organization_id);
-- is_renewed looks for an order that renews the listed one.
CREATE INDEX orders_by_renewal ON orders (renewal_of_order_id);

CREATE INDEX certificates_by_account_valid_till ON certificates (account_id, valid_till);

-- GET order/certificate/status-changes reads a time window of one account.
CREATE INDEX order_status_changes_by_account_time ON order_status_changes (account_id, changed_at);

CREATE INDEX requests_by_account_status ON requests (account_id, status);
CREATE INDEX requests_by_order ON requests (order_id);

CREATE INDEX organizations_by_account_name ON organizations (account_id, name COLLATE NOCASE);

CREATE INDEX users_by_account ON users (account_id, container_id);
CREATE INDEX containers_by_account ON containers (account_id, parent_id);

-- +goose Down
DROP INDEX containers_by_account;
DROP INDEX users_by_account;
DROP INDEX organizations_by_account_name;
DROP INDEX requests_by_order;
DROP INDEX requests_by_account_status;
DROP INDEX order_status_changes_by_account_time;
DROP INDEX certificates_by_account_valid_till;
DROP INDEX orders_by_renewal;
DROP INDEX orders_by_account_organization;
DROP INDEX orders_by_account_status;
DROP INDEX orders_by_account_created;
