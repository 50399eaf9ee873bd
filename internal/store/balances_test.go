package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/pgtest"
	"github.com/pressly/goose/v3"
)

// placeOrderIn places an order of the fixture in container, paid as p.
func (f *auditFixture) placeOrderIn(t *testing.T, container int64, p NewPayment) *CreatedOrder {
	t.Helper()
	created, err := f.st.CreateOrder(context.Background(), NewOrder{
		Order: Order{
			AccountID: f.caller.Account.ID, ContainerID: container, OrganizationID: f.orgID,
			UserID: f.caller.User.ID, Status: OrderNeedsApproval, ProductNameID: "ds_org", ProvisioningMethod: "email",
			PublicKey: []byte("spki"), KeyType: "rsa", KeySize: 2048, SignatureHash: "sha256", CAID: f.caID,
			NotAfter: time.Now().AddDate(1, 0, 0), Details: json.RawMessage(`{}`),
		},
		RequestStatus: RequestPending,
		Payment:       &p,
	})
	if err != nil {
		t.Fatalf("CreateOrder in container %d: %v", container, err)
	}
	return created
}

func (f *auditFixture) exec(t *testing.T, query string, args ...any) {
	t.Helper()
	if _, err := f.st.DB().Exec(query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// TestStoredBalanceFollowsLedger changes the ledger in each way the store
// does, and by hand with UPDATE and DELETE, and compares container_balances
// with the sum of the ledger after each step.
func TestStoredBalanceFollowsLedger(t *testing.T) {
	ctx := context.Background()
	f := newAuditFixture(t)
	root := f.caller.Account.RootContainerID
	child, err := f.st.CreateContainer(ctx, f.caller.Account.ID, root, "Balance Division")
	if err != nil {
		t.Fatal(err)
	}

	var canceled, rejected *CreatedOrder
	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"deposit", func(t *testing.T) {
			if _, err := f.st.Deposit(ctx, root, 100000, "wire 1"); err != nil {
				t.Fatal(err)
			}
		}},
		{"deposit into a second container", func(t *testing.T) {
			if _, err := f.st.Deposit(ctx, child.ID, 30000, "wire 2"); err != nil {
				t.Fatal(err)
			}
		}},
		{"debit within the limit", func(t *testing.T) {
			canceled = f.placeOrderIn(t, root, balancePayment(24900, 0))
		}},
		{"debit with a promo code", func(t *testing.T) {
			p := balancePayment(24900, 0)
			p.ListPriceCents, p.DiscountCents, p.PromoCode = 27667, 2767, "SPRING10"
			rejected = f.placeOrderIn(t, root, p)
		}},
		{"debit below zero within the negative limit", func(t *testing.T) {
			f.placeOrderIn(t, child.ID, balancePayment(40000, 15000))
		}},
		{"debit with an unlimited negative balance", func(t *testing.T) {
			p := balancePayment(24900, 0)
			p.UnlimitedNegative = true
			f.placeOrderIn(t, child.ID, p)
		}},
		{"card payment writes no ledger row", func(t *testing.T) {
			f.placeOrderIn(t, root, NewPayment{Method: PaymentMethodCard, ListPriceCents: 24900, AmountCents: 24900, ChargeID: "ch_test_1"})
		}},
		{"refund of a canceled order", func(t *testing.T) {
			if err := f.st.CancelOrder(ctx, f.caller.Account.ID, canceled.OrderID, "not needed"); err != nil {
				t.Fatal(err)
			}
		}},
		{"refund of a rejected request", func(t *testing.T) {
			if _, err := f.st.DecideRequest(ctx, f.caller.Account.ID, rejected.RequestID, f.caller.User.ID, false, "no"); err != nil {
				t.Fatal(err)
			}
		}},
		{"amount changed by hand", func(t *testing.T) {
			f.exec(t, `UPDATE ledger_entries SET amount_cents = amount_cents + 500 WHERE kind = ? AND container_id = ?`, LedgerCredit, root)
		}},
		{"row moved to another container by hand", func(t *testing.T) {
			f.exec(t, `UPDATE ledger_entries SET container_id = ? WHERE kind = ? AND container_id = ?`, child.ID, LedgerCredit, root)
		}},
		{"note changed by hand", func(t *testing.T) {
			f.exec(t, `UPDATE ledger_entries SET note = 'corrected' WHERE kind = ?`, LedgerCredit)
		}},
		{"rows deleted by hand", func(t *testing.T) {
			f.exec(t, `DELETE FROM ledger_entries WHERE kind = ? AND container_id = ?`, LedgerRefund, root)
		}},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			step.run(t)
			expectBalancesMatchLedger(t, f.st)
		})
	}
}

// expectBalancesMatchLedger compares container_balances, and Balance for
// each container of the ledger, with the sum of the ledger by container.
// A container whose balance is 0 may have a row or none.
func expectBalancesMatchLedger(t *testing.T, st *Store) {
	t.Helper()
	stored := balancesByContainer(t, st, `SELECT container_id, balance_cents FROM container_balances`)
	summed := balancesByContainer(t, st,
		`SELECT container_id, CAST(SUM(amount_cents) AS BIGINT) FROM ledger_entries GROUP BY container_id`)

	if len(stored) != len(summed) {
		t.Errorf("container_balances = %v, expected the ledger sums %v", stored, summed)
	}
	for container, sum := range summed {
		if stored[container] != sum {
			t.Errorf("container_balances[%d] = %d, expected the ledger sum %d", container, stored[container], sum)
		}
		balance, err := st.Balance(context.Background(), container)
		if err != nil {
			t.Fatal(err)
		}
		if balance != sum {
			t.Errorf("Balance(%d) = %d, expected the ledger sum %d", container, balance, sum)
		}
	}
}

// balancesByContainer reads (container id, cents) rows into a map,
// leaving out zero balances.
func balancesByContainer(t *testing.T, st *Store, query string) map[int64]int64 {
	t.Helper()
	rows, err := st.DB().Query(query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()

	out := map[int64]int64{}
	for rows.Next() {
		var container, cents int64
		if err := rows.Scan(&container, &cents); err != nil {
			t.Fatal(err)
		}
		if cents != 0 {
			out[container] = cents
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestBalanceOfContainerWithoutLedger(t *testing.T) {
	f := newAuditFixture(t)
	balance, err := f.st.Balance(context.Background(), f.caller.Account.RootContainerID)
	if err != nil {
		t.Fatal(err)
	}
	if balance != 0 {
		t.Errorf("balance = %d, expected 0 for a container without ledger rows", balance)
	}
}

// TestMigrationFillsContainerBalances runs 00015_container_balances.sql on
// a database whose ledger was written before that migration existed.
func TestMigrationFillsContainerBalances(t *testing.T) {
	ctx := context.Background()
	db, reopen := openOldDatabase(t, 14)

	// Account 1 has a container with credit, debit and refund rows, a
	// container that went negative and a container without rows. Account 2
	// has one row.
	seed := []string{
		`INSERT INTO accounts (id, name, created_at) VALUES (1, 'First', '2026-01-01T00:00:00Z'), (2, 'Second', '2026-01-01T00:00:00Z')`,
		`INSERT INTO containers (id, account_id, parent_id, name, created_at) VALUES
		   (1, 1, NULL, 'First', '2026-01-01T00:00:00Z'), (2, 1, 1, 'Division', '2026-01-01T00:00:00Z'),
		   (3, 1, 1, 'Empty', '2026-01-01T00:00:00Z'), (4, 2, NULL, 'Second', '2026-01-01T00:00:00Z')`,
		`INSERT INTO ledger_entries (account_id, container_id, kind, amount_cents, created_at) VALUES
		   (1, 1, 'credit', 50000, '2026-01-02T00:00:00Z'), (1, 1, 'debit', -24900, '2026-01-03T00:00:00Z'),
		   (1, 1, 'refund', 24900, '2026-01-04T00:00:00Z'), (1, 1, 'debit', -9900, '2026-01-05T00:00:00Z'),
		   (1, 2, 'credit', 100, '2026-01-02T00:00:00Z'), (1, 2, 'debit', -300, '2026-01-03T00:00:00Z'),
		   (2, 4, 'credit', 700, '2026-01-02T00:00:00Z')`,
	}
	for _, query := range seed {
		if _, err := db.ExecContext(ctx, query); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
	}
	db.Close()

	st := reopen()
	expectBalancesMatchLedger(t, st)
	expected := map[int64]int64{1: 40100, 2: -200, 3: 0, 4: 700}
	for container, cents := range expected {
		balance, err := st.Balance(ctx, container)
		if err != nil {
			t.Fatal(err)
		}
		if balance != cents {
			t.Errorf("Balance(%d) = %d, expected %d", container, balance, cents)
		}
	}

	// The insert trigger, created by the migration, keeps the balance of a later deposit.
	if _, err := st.Deposit(ctx, 3, 1200, "after the migration"); err != nil {
		t.Fatal(err)
	}
	expectBalancesMatchLedger(t, st)
}

// openOldDatabase creates an empty database migrated up to version, on
// PostgreSQL when the run names a server and on SQLite otherwise. It
// returns the database handle and a function that opens the store on it,
// which applies the remaining migrations.
func openOldDatabase(t *testing.T, version int64) (*sql.DB, func() *Store) {
	t.Helper()
	ctx := context.Background()
	var (
		db      *sql.DB
		dialect goose.Dialect
		fsys    = migrationsFS()
		open    func() (*Store, error)
		err     error
	)
	if u := pgtest.NewDatabase(t); u != "" {
		db, err = sql.Open("pgx", u)
		dialect, fsys = goose.DialectPostgres, postgresMigrationsFS()
		open = func() (*Store, error) { return OpenPostgres(ctx, u, DefaultPostgresOptions) }
	} else {
		path := filepath.Join(t.TempDir(), "old.db")
		db, err = sql.Open("sqlite", "file:"+path)
		dialect = goose.DialectSQLite3
		open = func() (*Store, error) { return Open(ctx, path) }
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })

	provider, err := goose.NewProvider(dialect, db, fsys)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := provider.UpTo(ctx, version); err != nil {
		t.Fatalf("migrate to version %d: %v", version, err)
	}

	reopen := func() *Store {
		st, err := open()
		if err != nil {
			t.Fatalf("open the store, which applies the remaining migrations: %v", err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	return db, reopen
}
