package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/store"
)

// Seeding copies one issued order many times, straight into the database,
// so that docsign-bench can measure reads against a large store. It is for
// benchmarks only: the copies share the template's certificate DER, and
// their serial numbers and thumbprints are made up from the order id.
const (
	// seedBatchOrders is the number of orders written per transaction.
	seedBatchOrders = 50_000

	// seedOrdersPerOrganization is the number of seeded orders per new
	// organization, as an account with many customers spreads its orders.
	seedOrdersPerOrganization = 100

	// seedSpacingSeconds is the time between two seeded orders. The copy
	// with order id N is dated (N − template id) × 60 s before the template,
	// so a status-changes window of a few minutes contains the same few
	// orders at every store size.
	seedSpacingSeconds = 60
)

// seedTables are the tables that seeding writes, which PostgreSQL analyzes
// afterwards.
var seedTables = []string{"organizations", "validations", "orders", "certificates", "issuance_intents", "requests", "order_status_changes"}

// seedTemplate is the issued order whose rows the seeded orders copy.
type seedTemplate struct {
	orderID        int64
	organizationID int64
	certificateID  int64
	upperSerial    bool
}

// devSeed runs `docsign-ca dev seed`.
func devSeed(args []string) error {
	fs := flag.NewFlagSet("docsign-ca dev seed", flag.ContinueOnError)
	dataDir := fs.String("data-dir", "./docsign-data", "data directory of a stopped server that has issued at least one order")
	orders := fs.Int("orders", 0, "number of orders to add (required)")
	if help, err := parseOperatorFlags(fs, args, "docsign-ca dev seed --orders N --data-dir DIR"); help || err != nil {
		return err
	}
	if *orders < 1 {
		return fmt.Errorf("--orders %d must be at least 1", *orders)
	}

	ctx := context.Background()
	st, err := openExistingDataDir(ctx, *dataDir)
	if err != nil {
		return err
	}
	defer st.Close()

	started := time.Now()
	first, last, err := seedOrders(ctx, st, *orders)
	if err != nil {
		return err
	}
	fmt.Printf("added orders %d to %d in %s; for benchmarks only, as every copy reuses one certificate's DER\n",
		first, last, time.Since(started).Round(time.Millisecond))
	return nil
}

// seedOrders adds count copies of the newest issued order, with their
// organizations, validations, requests, certificates, issuance intents and
// status changes, in transactions of seedBatchOrders orders. It returns the
// first and last new order id. Audit log rows are not copied, because the
// audit log is a hash chain that copies would break.
//
// The server must be stopped. On PostgreSQL the batches do not take the
// store's writer lock, so an order that a running server places at the same
// time fails with a duplicate id, or makes the batch fail.
func seedOrders(ctx context.Context, st *store.Store, count int) (first, last int64, err error) {
	db := st.DB()
	tmpl, err := findSeedTemplate(ctx, db)
	if err != nil {
		return 0, 0, err
	}

	for done := 0; done < count; done += seedBatchOrders {
		n := min(seedBatchOrders, count-done)
		batchFirst, err := seedBatch(ctx, db, st.Postgres(), tmpl, n)
		if err != nil {
			return 0, 0, err
		}
		if first == 0 {
			first = batchFirst
		}
		last = batchFirst + int64(n) - 1
	}

	if st.Postgres() {
		if err := analyzeSeedTables(ctx, db); err != nil {
			return 0, 0, err
		}
	}
	return first, last, nil
}

// analyzeSeedTables updates PostgreSQL's planner statistics of the copied
// tables at once. Autovacuum would do it within about a minute (its
// default naptime), but a server started right after the seed would plan its
// first reads for the old, small tables.
func analyzeSeedTables(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, `ANALYZE `+strings.Join(seedTables, ", ")); err != nil {
		return fmt.Errorf("analyze the seeded tables: %w", err)
	}
	return nil
}

func findSeedTemplate(ctx context.Context, db *sql.DB) (*seedTemplate, error) {
	var t seedTemplate
	var serial string
	err := db.QueryRowContext(ctx,
		`SELECT o.id, o.organization_id, c.id, c.serial_number
		   FROM orders o JOIN certificates c ON c.order_id = o.id
		  WHERE o.status = 'issued' AND c.der IS NOT NULL AND c.serial_number IS NOT NULL
		  ORDER BY o.id DESC LIMIT 1`).Scan(&t.orderID, &t.organizationID, &t.certificateID, &serial)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errors.New("no issued order to copy; run docsign-bench --orders 10 against the server first, then stop it")
	}
	if err != nil {
		return nil, fmt.Errorf("find an issued order to copy: %w", err)
	}

	t.upperSerial = serial == strings.ToUpper(serial)
	return &t, nil
}

// seedBatch writes n orders in one transaction and returns the first id.
func seedBatch(ctx context.Context, db *sql.DB, postgres bool, tmpl *seedTemplate, n int) (int64, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("begin seed transaction: %w", err)
	}
	defer tx.Rollback()

	if postgres {
		// A batch of 50,000 orders may take longer than the statement
		// timeout of --database-statement-timeout, which is sized for the
		// server's statements.
		if _, err := tx.ExecContext(ctx, `SET LOCAL statement_timeout = 0`); err != nil {
			return 0, fmt.Errorf("turn off the statement timeout of the seed transaction: %w", err)
		}
	}

	firstOrder, err := nextID(ctx, tx, "orders")
	if err != nil {
		return 0, err
	}
	firstOrganization, err := nextID(ctx, tx, "organizations")
	if err != nil {
		return 0, err
	}
	firstCertificate, err := nextID(ctx, tx, "certificates")
	if err != nil {
		return 0, err
	}

	lastOrder := firstOrder + int64(n) - 1
	organizations := (int64(n) + seedOrdersPerOrganization - 1) / seedOrdersPerOrganization
	plan := seedPlan{
		postgres:          postgres,
		template:          tmpl,
		firstOrder:        firstOrder,
		firstOrganization: firstOrganization,
		certificateDelta:  firstCertificate - firstOrder,
	}
	if err := plan.copyOrganizations(ctx, tx, organizations); err != nil {
		return 0, err
	}
	if err := plan.copyOrderRows(ctx, tx, lastOrder); err != nil {
		return 0, err
	}

	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("commit seed transaction: %w", err)
	}
	return firstOrder, nil
}

func nextID(ctx context.Context, tx *sql.Tx, table string) (int64, error) {
	var id int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) + 1 FROM `+table).Scan(&id); err != nil {
		return 0, fmt.Errorf("read the next id of %s: %w", table, err)
	}
	return id, nil
}

// seedPlan is the id ranges of one batch and the SQL dialect of the
// database. In the statements, seq.i is the new order id (or organization
// id) and src the template's row. Each expression gives the same text on
// SQLite and PostgreSQL.
type seedPlan struct {
	postgres          bool
	template          *seedTemplate
	firstOrder        int64
	firstOrganization int64
	certificateDelta  int64
}

// shifted dates a time column of the copy seq.i back from the template's.
// Times are RFC 3339 text in UTC with whole seconds, as the store writes
// them.
func (p *seedPlan) shifted(column string) string {
	seconds := fmt.Sprintf("(seq.i - %d) * %d", p.template.orderID, seedSpacingSeconds)
	if p.postgres {
		return fmt.Sprintf(`to_char((CAST(src.%s AS timestamptz) - %s * interval '1 second') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')`,
			column, seconds)
	}
	return fmt.Sprintf("strftime('%%Y-%%m-%%dT%%H:%%M:%%SZ', src.%s, printf('-%%d seconds', %s))", column, seconds)
}

// hexID writes seq.i as width hexadecimal digits with leading zeros after
// prefix, in upper case when upper is set.
func (p *seedPlan) hexID(prefix string, width int, upper bool) string {
	if p.postgres {
		digits := fmt.Sprintf("lpad(to_hex(seq.i), %d, '0')", width)
		if upper {
			digits = "upper(" + digits + ")"
		}
		return fmt.Sprintf("'%s' || %s", prefix, digits)
	}
	verb := "x"
	if upper {
		verb = "X"
	}
	return fmt.Sprintf("printf('%s%%0%d%s', seq.i)", prefix, width, verb)
}

func (p *seedPlan) copyOrganizations(ctx context.Context, tx *sql.Tx, count int64) error {
	last := p.firstOrganization + count - 1
	err := p.copyRows(ctx, tx, "organizations", map[string]string{
		"id":             "seq.i",
		"name":           "src.name || ' ' || seq.i",
		"normalized_key": "src.normalized_key || ' ' || seq.i",
	}, fmt.Sprintf("src.id = %d", p.template.organizationID), p.firstOrganization, last)
	if err != nil {
		return err
	}

	return p.copyRows(ctx, tx, "validations", map[string]string{
		"organization_id": "seq.i",
	}, fmt.Sprintf("src.organization_id = %d", p.template.organizationID), p.firstOrganization, last)
}

func (p *seedPlan) copyOrderRows(ctx context.Context, tx *sql.Tx, lastOrder int64) error {
	serial := p.hexID("5eed", 28, false)
	if p.template.upperSerial {
		serial = p.hexID("5EED", 28, true)
	}
	certificateID := fmt.Sprintf("seq.i + %d", p.certificateDelta)
	organizationID := fmt.Sprintf("%d + (seq.i - %d) / %d", p.firstOrganization, p.firstOrder, seedOrdersPerOrganization)
	orderWhere := fmt.Sprintf("src.order_id = %d", p.template.orderID)

	steps := []struct {
		table     string
		overrides map[string]string
		where     string
	}{
		{"orders", map[string]string{
			"id": "seq.i", "organization_id": organizationID, "renewal_of_order_id": "NULL",
			"date_created": p.shifted("date_created"), "updated_at": p.shifted("updated_at"),
		}, fmt.Sprintf("src.id = %d", p.template.orderID)},
		{"certificates", map[string]string{
			"id": certificateID, "order_id": "seq.i", "serial_number": serial,
			"thumbprint":   p.hexID("", 40, false),
			"date_created": p.shifted("date_created"), "date_issued": p.shifted("date_issued"),
			"valid_from": p.shifted("valid_from"), "valid_till": p.shifted("valid_till"),
		}, fmt.Sprintf("src.id = %d", p.template.certificateID)},
		{"issuance_intents", map[string]string{
			"certificate_id": certificateID, "order_id": "seq.i", "serial_number": serial,
			"created_at": p.shifted("created_at"), "completed_at": p.shifted("completed_at"),
		}, fmt.Sprintf("src.certificate_id = %d", p.template.certificateID)},
		{"requests", map[string]string{
			"order_id":       "seq.i",
			"certificate_id": "CASE WHEN src.certificate_id IS NULL THEN NULL ELSE " + certificateID + " END",
			"date":           p.shifted("date"), "date_processed": p.shifted("date_processed"),
		}, orderWhere},
		{"order_status_changes", map[string]string{
			"order_id": "seq.i", "changed_at": p.shifted("changed_at"),
		}, orderWhere},
	}
	for _, step := range steps {
		if err := p.copyRows(ctx, tx, step.table, step.overrides, step.where, p.firstOrder, lastOrder); err != nil {
			return err
		}
	}
	return nil
}

// copyRows inserts one copy of each template row of table that matches
// where, for every seq.i from first to last. A column in overrides takes
// that SQL expression. The database assigns id unless overrides sets it, and
// every other column keeps the template's value.
func (p *seedPlan) copyRows(ctx context.Context, tx *sql.Tx, table string, overrides map[string]string, where string, first, last int64) error {
	columns, err := p.tableColumns(ctx, tx, table)
	if err != nil {
		return err
	}

	var names, values []string
	for _, column := range columns {
		expr, ok := overrides[column]
		if !ok && column == "id" {
			continue
		}
		if !ok {
			expr = "src." + column
		}
		names = append(names, column)
		values = append(values, expr)
	}

	insert := `INSERT INTO ` + table + ` (` + strings.Join(names, ", ") + `)
		SELECT ` + strings.Join(values, ", ")
	query := `WITH RECURSIVE seq(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM seq WHERE i < ?)
		` + insert + ` FROM seq CROSS JOIN ` + table + ` AS src WHERE ` + where
	if p.postgres {
		query = insert + ` FROM generate_series(CAST(? AS BIGINT), CAST(? AS BIGINT)) AS seq(i) CROSS JOIN ` + table + ` AS src WHERE ` + where
	}
	if _, err := tx.ExecContext(ctx, query, first, last); err != nil {
		return fmt.Errorf("copy %s rows for ids %d to %d: %w", table, first, last, err)
	}

	if _, explicitID := overrides["id"]; explicitID && p.postgres {
		return moveIdentity(ctx, tx, table)
	}
	return nil
}

// moveIdentity sets the identity sequence of table's id column to the
// largest id, so that the next INSERT without an id gets the one after it.
// SQLite needs no such step, because it takes the largest rowid plus one.
func moveIdentity(ctx context.Context, tx *sql.Tx, table string) error {
	_, err := tx.ExecContext(ctx,
		`SELECT setval(pg_get_serial_sequence(?, 'id'), (SELECT MAX(id) FROM `+table+`))`, table)
	if err != nil {
		return fmt.Errorf("move the id sequence of %s past the seeded ids: %w", table, err)
	}
	return nil
}

// tableColumns lists the columns of table that an INSERT can write, which
// leaves out generated columns.
func (p *seedPlan) tableColumns(ctx context.Context, tx *sql.Tx, table string) ([]string, error) {
	query := `SELECT name FROM pragma_table_info(?)`
	if p.postgres {
		query = `SELECT column_name FROM information_schema.columns
		          WHERE table_schema = current_schema() AND table_name = ? AND is_generated = 'NEVER'
		          ORDER BY ordinal_position`
	}
	rows, err := tx.QueryContext(ctx, query, table)
	if err != nil {
		return nil, fmt.Errorf("read the columns of %s: %w", table, err)
	}
	defer rows.Close()

	var columns []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("read the columns of %s: %w", table, err)
		}
		columns = append(columns, name)
	}
	return columns, rows.Err()
}
