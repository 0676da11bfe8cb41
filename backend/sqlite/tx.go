package sqlite

import (
	"context"
	"database/sql"
	"errors"

	ff "github.com/flowfabric-go/flowfabric"
)

// writeTx is one BEGIN IMMEDIATE transaction on the writer. Nothing else
// writes the file while it runs, so what it reads stays true until it
// commits. now is read after the write lock is taken: transitions are
// stamped in commit order.
type writeTx struct {
	ctx   context.Context
	b     *Backend
	tx    *sql.Tx
	now   int64
	wake  map[string]struct{} // lanes to notify after the commit
	after []func()            // cache updates that are true only once committed
	// refused counts the executions admission refused in a claim round.
	refused int
}

// commitThen asks write to commit what fn wrote and still return err: a
// fenced operation that found the lease expired must store the expiry
// mark, then fail.
type commitThen struct{ err error }

func (c *commitThen) Error() string { return c.err.Error() }
func (c *commitThen) Unwrap() error { return c.err }

// write runs fn in one write transaction. An error from fn rolls back,
// unless it is a *commitThen. After the commit, the lanes fn marked are
// notified and the after hooks run.
func (b *Backend) write(ctx context.Context, op string, fn func(w *writeTx) error) error {
	if b.closed.Load() {
		return ff.Transport(op, ErrClosed, false)
	}
	tx, err := b.w.BeginTx(ctx, nil)
	if err != nil {
		return driverError(op+": begin", err)
	}
	// The writer has one connection: a transaction left open would stall
	// every later write, so a panic in fn rolls back before it unwinds.
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
	}()
	w := &writeTx{ctx: ctx, b: b, tx: tx, now: b.clock.Now().UnixMilli()}
	ferr := fn(w)
	var keep *commitThen
	if ferr != nil && !errors.As(ferr, &keep) {
		_ = tx.Rollback()
		return ferr
	}
	if err := tx.Commit(); err != nil {
		return driverError(op+": commit", err)
	}
	for _, f := range w.after {
		f()
	}
	for lane := range w.wake {
		b.hub.Notify(lane)
	}
	if keep != nil {
		return keep.err
	}
	return nil
}

// notify wakes lane's subscribers once the transaction commits.
func (w *writeTx) notify(lane string) {
	if w.wake == nil {
		w.wake = map[string]struct{}{}
	}
	w.wake[lane] = struct{}{}
}

// stmt returns q prepared on the writer connection, bound to this
// transaction (q unprepared if it is not in writerQueries).
func (w *writeTx) stmt(q string) *sql.Stmt {
	st, ok := w.b.stmts[q]
	if !ok {
		return nil
	}
	return w.tx.StmtContext(w.ctx, st)
}

func (w *writeTx) exec(op, q string, args ...any) (sql.Result, error) {
	var res sql.Result
	var err error
	if st := w.stmt(q); st != nil {
		res, err = st.ExecContext(w.ctx, args...)
	} else {
		res, err = w.tx.ExecContext(w.ctx, q, args...)
	}
	if err != nil {
		return nil, driverError(op, err)
	}
	return res, nil
}

func (w *writeTx) query(op, q string, args ...any) (*sql.Rows, error) {
	var rows *sql.Rows
	var err error
	if st := w.stmt(q); st != nil {
		rows, err = st.QueryContext(w.ctx, args...)
	} else {
		rows, err = w.tx.QueryContext(w.ctx, q, args...)
	}
	if err != nil {
		return nil, driverError(op, err)
	}
	return rows, nil
}

func (w *writeTx) queryRow(q string, args ...any) *sql.Row {
	if st := w.stmt(q); st != nil {
		return st.QueryRowContext(w.ctx, args...)
	}
	return w.tx.QueryRowContext(w.ctx, q, args...)
}
