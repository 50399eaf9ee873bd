package store

import (
	"context"
	"database/sql"
	"errors"
	"runtime"
	"slices"
	"sync"
	"testing"
)

// openGroupCommitStore opens a store on SQLite, or on PostgreSQL under
// scripts/with-postgres, whose writes share one group commit on both.
func openGroupCommitStore(t *testing.T) *Store {
	t.Helper()
	st := openTestStore(t, "groupcommit.db")
	if _, err := st.db.Exec(`CREATE TABLE group_commit_test (value TEXT NOT NULL UNIQUE)`); err != nil {
		t.Fatal(err)
	}
	return st
}

func insertValue(value string) func(tx *sql.Tx) error {
	return func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO group_commit_test (value) VALUES (?)`, value)
		return err
	}
}

func storedValues(t *testing.T, st *Store) []string {
	t.Helper()
	rows, err := st.db.Query(`SELECT value FROM group_commit_test ORDER BY value`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var values []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		values = append(values, v)
	}
	return values
}

// holdWriter runs a transaction that blocks the writer until release is
// called, so that the writes submitted meanwhile queue up for one batch.
func holdWriter(t *testing.T, st *Store) (release func(), wait func()) {
	t.Helper()
	running := make(chan struct{})
	unblock := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- st.withTx(context.Background(), func(tx *sql.Tx) error {
			close(running)
			<-unblock
			return insertValue("holder")(tx)
		})
	}()
	<-running
	return func() { close(unblock) }, func() {
		if err := <-done; err != nil {
			t.Errorf("holding transaction: %v", err)
		}
	}
}

// waitQueued waits until n writes are queued behind the running one.
func waitQueued(st *Store, n int) {
	for len(st.writes.queue) < n {
		runtime.Gosched()
	}
}

func TestGroupCommitIsolatesFailedWrite(t *testing.T) {
	st := openGroupCommitStore(t)
	release, waitHolder := holdWriter(t, st)

	errFailed := errors.New("this write fails")
	writes := []struct {
		name string
		fn   func(tx *sql.Tx) error
	}{
		{"first", insertValue("a")},
		{"failing after its insert", func(tx *sql.Tx) error {
			if err := insertValue("b")(tx); err != nil {
				return err
			}
			return errFailed
		}},
		{"duplicate of first", insertValue("a")},
		{"last", insertValue("c")},
	}

	results := make([]error, len(writes))
	var wg sync.WaitGroup
	for i, w := range writes {
		wg.Go(func() { results[i] = st.withTx(context.Background(), w.fn) })
		waitQueued(st, i+1)
	}
	release()
	wg.Wait()
	waitHolder()

	if results[0] != nil {
		t.Errorf("first: %v, expected success", results[0])
	}
	if !errors.Is(results[1], errFailed) {
		t.Errorf("failing write: %v, expected its own error", results[1])
	}
	if !isUniqueViolation(results[2]) {
		t.Errorf("duplicate: %v, expected a unique violation, because it sees the first write of its batch", results[2])
	}
	if results[3] != nil {
		t.Errorf("last: %v, expected success", results[3])
	}
	if got, want := storedValues(t, st), []string{"a", "c", "holder"}; !slices.Equal(got, want) {
		t.Errorf("stored %q, expected %q: the failed writes must leave nothing behind", got, want)
	}
}

func TestGroupCommitSkipsCanceledWrite(t *testing.T) {
	st := openGroupCommitStore(t)
	release, waitHolder := holdWriter(t, st)

	ctx, cancel := context.WithCancel(context.Background())
	result := make(chan error, 1)
	go func() { result <- st.withTx(ctx, insertValue("canceled")) }()
	waitQueued(st, 1)
	cancel()

	if err := <-result; !errors.Is(err, context.Canceled) {
		t.Errorf("canceled write: %v, expected context.Canceled", err)
	}
	release()
	waitHolder()

	if got, want := storedValues(t, st), []string{"holder"}; !slices.Equal(got, want) {
		t.Errorf("stored %q, expected %q: a write canceled while queued must not run", got, want)
	}
}

func TestGroupCommitRaisesPanicInCaller(t *testing.T) {
	st := openGroupCommitStore(t)

	var recovered any
	func() {
		defer func() { recovered = recover() }()
		_ = st.withTx(context.Background(), func(tx *sql.Tx) error {
			if err := insertValue("before panic")(tx); err != nil {
				return err
			}
			panic("boom")
		})
	}()

	if recovered != "boom" {
		t.Errorf("recovered %v, expected the panic value \"boom\"", recovered)
	}
	if err := st.withTx(context.Background(), insertValue("after")); err != nil {
		t.Errorf("write after the panic: %v; the writer must keep running", err)
	}
	if got, want := storedValues(t, st), []string{"after"}; !slices.Equal(got, want) {
		t.Errorf("stored %q, expected %q: the panicking write must be rolled back", got, want)
	}
}

func TestWriteAfterCloseFails(t *testing.T) {
	st := openTestStore(t, "closed.db")
	st.Close()

	err := st.withTx(context.Background(), func(tx *sql.Tx) error { return nil })
	if !errors.Is(err, errStoreClosed) {
		t.Errorf("write after Close: %v, expected errStoreClosed", err)
	}
}

// TestGroupCommitBrokenBatch breaks the shared transaction from inside one
// write, by releasing the savepoint that the writer releases after it. On
// PostgreSQL every write of the batch then runs again alone, so only the
// breaking write fails. On SQLite, which has no such rerun, the whole batch
// fails and stores nothing.
func TestGroupCommitBrokenBatch(t *testing.T) {
	st := openGroupCommitStore(t)
	release, waitHolder := holdWriter(t, st)

	writes := []func(tx *sql.Tx) error{
		insertValue("a"),
		func(tx *sql.Tx) error {
			_, err := tx.Exec(`RELEASE write_request`)
			return err
		},
		insertValue("c"),
	}
	results := make([]error, len(writes))
	var wg sync.WaitGroup
	for i, fn := range writes {
		wg.Go(func() { results[i] = st.withTx(context.Background(), fn) })
		waitQueued(st, i+1)
	}
	release()
	wg.Wait()
	waitHolder()

	if !st.postgres {
		for i, err := range results {
			if err == nil {
				t.Errorf("write %d succeeded, expected the batch's failure", i)
			}
		}
		if got, want := storedValues(t, st), []string{"holder"}; !slices.Equal(got, want) {
			t.Errorf("stored %q, expected %q", got, want)
		}
		return
	}

	if results[0] != nil || results[2] != nil {
		t.Errorf("writes beside the breaking one: %v and %v, expected success when run again alone", results[0], results[2])
	}
	if results[1] == nil {
		t.Error("breaking write succeeded, expected an error when run alone without the savepoint")
	}
	if got, want := storedValues(t, st), []string{"a", "c", "holder"}; !slices.Equal(got, want) {
		t.Errorf("stored %q, expected %q: each write must be stored once", got, want)
	}
}
