package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// maxCommitBatch bounds the write transactions that share one commit.
const maxCommitBatch = 64

// errStoreClosed is returned by a write after Close.
var errStoreClosed = errors.New("store is closed")

// Group commit. Every withTx of this process goes to one writer goroutine.
// The writer takes the transactions that are waiting (up to
// maxCommitBatch), runs each inside its own SAVEPOINT of one database
// transaction, and commits them together, so that N transactions share one
// WAL fsync instead of paying one each. PostgreSQL adds its writer lock and
// its retries through groupOptions (see postgres.go). A transaction whose
// function fails is rolled back to its savepoint and does not affect the
// others. withTx
// returns only after the commit that contains its changes is durable
// (synchronous=FULL), so a caller sees the same durability as with its own
// commit. The writer never waits for a batch to fill: an idle writer runs a
// lone transaction at once, so batching happens only under load.
//
// The one writer also keeps this process's transactions from competing for
// SQLite's write lock. Concurrent BEGIN IMMEDIATEs would wait in SQLite's
// busy handler, which sleeps between tries (up to 100 ms), while the lock was
// free. Other processes, such as operator commands, still take turns
// through busy_timeout.

// Write request states.
const (
	writeQueued int32 = iota
	writeRunning
	writeCanceled
)

type writeRequest struct {
	ctx       context.Context
	fn        func(tx *sql.Tx) error
	requested time.Time
	state     atomic.Int32
	// started and elapsed describe the batch that ran the request; they
	// are written before done is sent.
	started time.Time
	elapsed time.Duration
	done    chan error
}

type groupCommitter struct {
	db      *sql.DB
	options groupOptions
	queue   chan *writeRequest
	stop    chan struct{}
	stopped chan struct{}
}

// groupOptions adapt the writer to a database. SQLite needs none of them.
type groupOptions struct {
	// begin runs first in every batch's transaction. PostgreSQL takes the
	// writer lock there, which serializes the batches of all replicas.
	begin func(tx *sql.Tx) error

	// alone runs one request in a transaction of its own. The writer calls
	// it with a nil error for every request of a batch whose transaction
	// failed as a whole, and with the function's error for a request whose
	// error retry accepts. Nothing of such a request was committed, so
	// running it again is safe.
	alone func(r *writeRequest, failed error) error

	// retry reports whether a function's error is worth a transaction of
	// its own, such as PostgreSQL's serialization failures and deadlocks.
	retry func(err error) bool
}

func newGroupCommitter(db *sql.DB, options groupOptions) *groupCommitter {
	g := &groupCommitter{
		db:      db,
		options: options,
		queue:   make(chan *writeRequest, maxCommitBatch),
		stop:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
	go g.run()
	return g
}

// close stops the writer after the batch it is running, and fails the
// requests still queued.
func (g *groupCommitter) close() {
	close(g.stop)
	<-g.stopped
}

func (g *groupCommitter) run() {
	defer close(g.stopped)
	for {
		select {
		case <-g.stop:
			g.failQueued()
			return
		case first := <-g.queue:
			g.runBatch(g.collect(first))
		}
	}
}

// collect returns first and the requests already waiting behind it.
func (g *groupCommitter) collect(first *writeRequest) []*writeRequest {
	batch := []*writeRequest{first}
	for len(batch) < maxCommitBatch {
		select {
		case r := <-g.queue:
			batch = append(batch, r)
		default:
			return batch
		}
	}
	return batch
}

func (g *groupCommitter) failQueued() {
	for {
		select {
		case r := <-g.queue:
			r.done <- errStoreClosed
		default:
			return
		}
	}
}

// runBatch runs the requests of batch in one transaction and sends each its
// outcome.
func (g *groupCommitter) runBatch(batch []*writeRequest) {
	started := time.Now()
	live := batch[:0]
	for _, r := range batch {
		// A request whose caller gave up while it was queued never runs.
		if r.state.CompareAndSwap(writeQueued, writeRunning) {
			live = append(live, r)
		}
	}
	if len(live) == 0 {
		return
	}

	results, batchFailed := g.runInTransaction(live)
	g.runAlone(live, results, batchFailed)

	elapsed := time.Since(started)
	for i, r := range live {
		r.started, r.elapsed = started, elapsed
		r.done <- results[i]
	}
}

// runInTransaction returns the outcome of each request: its own error, or
// the commit's error for a request whose function succeeded. batchFailed
// reports that the transaction failed as a whole, so that nothing of it
// was committed.
func (g *groupCommitter) runInTransaction(live []*writeRequest) (results []error, batchFailed bool) {
	results = make([]error, len(live))
	failAll := func(err error) ([]error, bool) {
		for i := range results {
			results[i] = err
		}
		return results, true
	}

	tx, err := g.db.BeginTx(context.Background(), nil)
	if err != nil {
		return failAll(fmt.Errorf("begin transaction: %w", err))
	}
	if g.options.begin != nil {
		if err := g.options.begin(tx); err != nil {
			_ = tx.Rollback()
			return failAll(err)
		}
	}

	for i, r := range live {
		results[i], err = runInSavepoint(tx, r)
		if err != nil {
			// The transaction is in an unknown state, so nothing of it
			// may be committed, including the requests that succeeded.
			_ = tx.Rollback()
			return failAll(fmt.Errorf("transaction of %d batched writes failed: %w", len(live), err))
		}
	}

	if err := tx.Commit(); err != nil {
		// A failed COMMIT rolls the whole transaction back.
		for i := range results {
			if results[i] == nil {
				results[i] = fmt.Errorf("commit transaction: %w", err)
			}
		}
		return results, true
	}
	return results, false
}

// runAlone runs again, each in a transaction of its own, the requests of a
// failed batch and the requests whose error options.retry accepts. It
// does nothing without options.alone.
func (g *groupCommitter) runAlone(live []*writeRequest, results []error, batchFailed bool) {
	if g.options.alone == nil {
		return
	}
	for i, r := range live {
		switch {
		case batchFailed:
			results[i] = g.options.alone(r, nil)
		case results[i] != nil && g.options.retry != nil && g.options.retry(results[i]):
			results[i] = g.options.alone(r, results[i])
		}
	}
}

// runInSavepoint runs one request's function inside a savepoint and rolls
// it back to the savepoint when the function fails. It returns the
// function's error, and a second error when the savepoint itself failed.
func runInSavepoint(tx *sql.Tx, r *writeRequest) (fnErr, savepointErr error) {
	ctx := context.Background()
	if _, err := tx.ExecContext(ctx, "SAVEPOINT write_request"); err != nil {
		return nil, fmt.Errorf("open savepoint: %w", err)
	}

	fnErr = callProtected(r.fn, tx)
	if fnErr != nil {
		if _, err := tx.ExecContext(ctx, "ROLLBACK TO write_request"); err != nil {
			return fnErr, fmt.Errorf("roll back to savepoint: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, "RELEASE write_request"); err != nil {
		return fnErr, fmt.Errorf("release savepoint: %w", err)
	}
	return fnErr, nil
}

// panicError carries a panic of a transaction function back to its caller,
// who panics again with the same value.
type panicError struct{ value any }

func (p *panicError) Error() string { return fmt.Sprintf("transaction function panicked: %v", p.value) }

func callProtected(fn func(tx *sql.Tx) error, tx *sql.Tx) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &panicError{value: v}
		}
	}()
	return fn(tx)
}

// submit queues fn and waits for the commit that contains it. When ctx ends
// while fn is still queued, fn never runs and ctx's error is returned; once
// fn runs, submit waits for its outcome.
func (g *groupCommitter) submit(ctx context.Context, fn func(tx *sql.Tx) error) (*writeRequest, error) {
	r := &writeRequest{ctx: ctx, fn: fn, requested: time.Now(), done: make(chan error, 1)}
	select {
	case g.queue <- r:
	case <-ctx.Done():
		return r, ctx.Err()
	case <-g.stopped:
		return r, errStoreClosed
	}

	select {
	case err := <-r.done:
		return r, err
	case <-ctx.Done():
		if r.state.CompareAndSwap(writeQueued, writeCanceled) {
			return r, ctx.Err()
		}
		return r, <-r.done
	case <-g.stopped:
		// The writer sends the outcome of every request it took before it
		// stops.
		select {
		case err := <-r.done:
			return r, err
		default:
			return r, errStoreClosed
		}
	}
}
