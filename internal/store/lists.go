package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Page selects a slice of a sorted list: Limit rows starting at the
// zero-based row Offset.
type Page struct {
	Offset int64
	Limit  int64
}

// SortKey is one key of a list's sort order. Field is a name from the
// list's sortable fields, such as "date_created".
type SortKey struct {
	Field      string
	Descending bool
}

// TextMatch is a text filter. Without Contains the value must equal the
// column, and with Contains it must occur anywhere in it. Both comparisons
// ignore case. On SQLite they ignore the case of ASCII letters, as its
// NOCASE collation and LIKE do. On PostgreSQL they ignore the case of all
// letters (see the nocase collation of its first migration and lower() in
// whereText).
type TextMatch struct {
	Value    string
	Contains bool
}

// TimeRange is the half-open interval [From, Until). A zero bound leaves
// that side open.
type TimeRange struct {
	From  time.Time
	Until time.Time
}

// sortColumns maps the sortable field names of one list to SQL
// expressions. Only these expressions ever reach an ORDER BY clause, so a
// client's sort parameter never becomes SQL text.
type sortColumns map[string]string

// fields returns the sortable field names in alphabetical order, for messages.
func (c sortColumns) fields() []string {
	names := make([]string, 0, len(c))
	for name := range c {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// listQuery collects the WHERE conditions of a list query. Every value is
// bound as a parameter, and the conditions themselves are fixed strings of
// this package.
type listQuery struct {
	conditions []string
	args       []any
}

// where adds a condition whose placeholders take args, in order.
func (q *listQuery) where(condition string, args ...any) {
	q.conditions = append(q.conditions, condition)
	q.args = append(q.args, args...)
}

// whereText adds a text match that any of the expressions may satisfy.
// LIKE wildcards in the value are escaped, so "%" and "_" match themselves.
func (q *listQuery) whereText(m TextMatch, expressions ...string) {
	parts := make([]string, 0, len(expressions))
	args := make([]any, 0, len(expressions))
	for _, expr := range expressions {
		if m.Contains {
			// lower() on both sides, because PostgreSQL's LIKE is case
			// sensitive and cannot use a non-deterministic collation.
			parts = append(parts, `lower(`+expr+`) LIKE lower(?) ESCAPE '\'`)
			args = append(args, "%"+escapeLike(m.Value)+"%")
			continue
		}
		parts = append(parts, expr+` = ? COLLATE NOCASE`)
		args = append(args, m.Value)
	}
	q.where("("+strings.Join(parts, " OR ")+")", args...)
}

// whereTime restricts a column of stored times to r. Stored times are RFC
// 3339 text in UTC with whole seconds, so they compare correctly as text.
func (q *listQuery) whereTime(column string, r TimeRange) {
	if !r.From.IsZero() {
		q.where(column+" >= ?", formatTime(r.From))
	}
	if !r.Until.IsZero() {
		q.where(column+" < ?", formatTime(r.Until))
	}
}

// whereSQL returns " WHERE c1 AND c2 ...", or "" without conditions.
func (q *listQuery) whereSQL() string {
	if len(q.conditions) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(q.conditions, " AND ")
}

// escapeLike escapes the LIKE wildcards and the escape character itself.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// orderBySQL builds " ORDER BY ..." from sort keys. The tiebreaker (a
// unique column) ends every order, so that pages never overlap or skip a
// row when the keys have equal values. An unknown field is an error: the
// order package rejects it first, with the allowed names.
func orderBySQL(keys []SortKey, columns sortColumns, tiebreaker string) (string, error) {
	terms := make([]string, 0, len(keys)+1)
	for _, key := range keys {
		expr, ok := columns[key.Field]
		if !ok {
			return "", fmt.Errorf("unknown sort field %q; sortable fields: %s", key.Field, strings.Join(columns.fields(), ", "))
		}
		if key.Descending {
			expr += " DESC"
		}
		terms = append(terms, expr)
	}
	terms = append(terms, tiebreaker)
	return " ORDER BY " + strings.Join(terms, ", "), nil
}

// pageSQL returns the LIMIT and OFFSET clause with its arguments.
func pageSQL(p Page) (string, []any) {
	return " LIMIT ? OFFSET ?", []any{p.Limit, p.Offset}
}

// withReadTx runs fn in a read-only transaction, which reads one snapshot
// of the database. A list's rows and its total then agree even while
// orders are written. A read-only transaction starts deferred, so it takes
// no write lock.
func (s *Store) withReadTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("begin read transaction: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	return fn(tx)
}

// countRows runs a COUNT(*) query.
func countRows(ctx context.Context, tx *sql.Tx, query string, args []any) (int64, error) {
	var total int64
	if err := tx.QueryRowContext(ctx, query, args...).Scan(&total); err != nil {
		return 0, err
	}
	return total, nil
}

// placeholders returns "?, ?, ?" for n values.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
