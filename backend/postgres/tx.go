package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// querier is what a create runs its statements on: the pool, where each
// statement commits alone, or a caller's transaction (a pgx.Tx, or a
// *sql.Tx through sqlTx). *pgxpool.Pool and pgx.Tx satisfy it as they are.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// CreateExecutionTx creates an execution inside the caller's
// transaction tx, which must be open on this backend's database: the
// execution exists if and only if tx commits, and workers are woken only
// by that commit.
//
// Everything else is CreateExecution's: the same validation and
// defaults, the same idempotency rule (a key held by an execution inside
// its dedup window returns that execution with Duplicate set; within tx
// the executions tx created earlier count too), the same errors.
//
// What happens to tx on an error: refused input (invalid_input) and a
// taken explicit id (execution_already_exists) are found without a
// failed statement, so tx stays usable. A database error (a lost
// connection, a serialization failure under REPEATABLE READ or
// SERIALIZABLE, a statement timeout, a cancelled ctx) aborts tx, as any
// failed statement does: roll it back.
//
// The wake-up is a NOTIFY issued inside tx (when the execution is
// claimable at once), which Postgres delivers only when tx commits and
// drops when it rolls back; workers in this process hear it through the
// backend's LISTEN connection like workers elsewhere. Each committing
// transaction that notifies takes Postgres's notification queue lock at
// commit, so enqueue many executions per transaction with
// CreateExecutionsTx rather than one per transaction where throughput
// matters; workers also poll, so a lost wake-up only delays work.
//
// Under REPEATABLE READ or SERIALIZABLE, a set of required capabilities
// first used after tx's snapshot was taken is invisible to tx: the
// create then fails with a retryable contention error (and tx is
// aborted); retry the transaction, as for a serialization failure.
//
// A concurrent transaction that has inserted the same idempotency key (or
// explicit id) and not yet committed makes this call wait for it, as a
// unique index does: its commit turns this call into a duplicate, its
// rollback lets this call create.
func (b *Backend) CreateExecutionTx(ctx context.Context, tx pgx.Tx, p backend.CreateExecutionParams) (backend.CreateExecutionResult, error) {
	return b.createInTx(ctx, tx, p)
}

// CreateExecutionsTx creates several executions inside the caller's
// transaction tx, all or none: results align with ps. Every entry is
// validated before any statement runs. The inserts then run in order,
// pipelined in one round trip; each entry follows the idempotency rule of
// CreateExecutionTx and sees the entries before it (an entry whose key or
// id is taken resolves alone afterwards). They run inside a savepoint, so
// when one fails the ones before it are undone, tx is left as it was
// before the call and stays usable (unless its connection is lost), and
// the error names the entry. One NOTIFY per lane with new claimable work
// is issued, inside tx.
func (b *Backend) CreateExecutionsTx(ctx context.Context, tx pgx.Tx, ps []backend.CreateExecutionParams) ([]backend.CreateExecutionResult, error) {
	return b.createManyInTx(ctx, tx, ps)
}

// createInTx is CreateExecutionTx on any transaction q.
func (b *Backend) createInTx(ctx context.Context, q querier, p backend.CreateExecutionParams) (backend.CreateExecutionResult, error) {
	c, err := b.prepareCreate(ctx, p)
	if err != nil {
		return backend.CreateExecutionResult{}, err
	}
	res, err := b.insertExecution(ctx, q, c, false)
	if err != nil || res.Duplicate || !c.e.Claimable() {
		return res, snapshotErr(err)
	}
	return res, notifyOnCommit(ctx, q, []string{c.e.Lane})
}

// createManyInTx is CreateExecutionsTx on any transaction q.
func (b *Backend) createManyInTx(ctx context.Context, q querier, ps []backend.CreateExecutionParams) ([]backend.CreateExecutionResult, error) {
	cs := make([]pendingCreate, len(ps))
	for i, p := range ps {
		c, err := b.prepareCreate(ctx, p)
		if err != nil {
			return nil, fmt.Errorf("create execution %d of %d: %w", i+1, len(ps), err)
		}
		cs[i] = c
	}
	if len(cs) == 0 {
		return []backend.CreateExecutionResult{}, nil
	}
	if _, err := q.Exec(ctx, "SAVEPOINT "+batchSavepoint); err != nil {
		return nil, mapPgError("create executions: savepoint", err)
	}
	res, lanes, err := b.insertAll(ctx, q, cs)
	if err == nil && len(lanes) > 0 {
		err = notifyOnCommit(ctx, q, lanes)
	}
	if err != nil {
		undoBatch(ctx, q)
		return nil, err
	}
	if _, err := q.Exec(ctx, "RELEASE SAVEPOINT "+batchSavepoint); err != nil {
		return nil, mapPgError("create executions: release savepoint", err)
	}
	return res, nil
}

// undoBatch rolls back to the batch's savepoint: this call's writes are
// undone and tx is usable again even if a statement failed. It runs when
// ctx has ended too (bounded), since a connection that is still open can
// be recovered; when it fails, tx's connection is gone and the batch's
// error says why.
func undoBatch(ctx context.Context, q querier) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if _, err := q.Exec(ctx, "ROLLBACK TO SAVEPOINT "+batchSavepoint); err == nil {
		_, _ = q.Exec(ctx, "RELEASE SAVEPOINT "+batchSavepoint)
	}
}

// batchSavepoint names the savepoint of CreateExecutionsTx; a caller's
// savepoints (pgx names its sp_N) are left alone.
const batchSavepoint = "ff_create_executions"

// insertAll inserts cs in order and returns their results and the lanes
// (each once) that got claimable work. On a transaction that pipelines
// (pgx.Tx), the first try of every insert goes in one round trip; an
// entry that inserted nothing (its key or id taken, possibly by an entry
// before it) then runs the create's full rule on its own.
func (b *Backend) insertAll(ctx context.Context, q querier, cs []pendingCreate) ([]backend.CreateExecutionResult, []string, error) {
	inserted, err := firstTries(ctx, q, cs)
	if err != nil {
		return nil, nil, err
	}
	res := make([]backend.CreateExecutionResult, len(cs))
	var lanes []string
	seen := map[string]bool{}
	for i, c := range cs {
		r := backend.CreateExecutionResult{ExecutionID: c.e.ID, PublicState: c.e.State.PublicState}
		if !inserted[i] {
			if r, err = b.insertExecution(ctx, q, c, false); err != nil {
				return nil, nil, fmt.Errorf("create execution %d of %d: %w", i+1, len(cs), snapshotErr(err))
			}
		}
		res[i] = r
		if !r.Duplicate && c.e.Claimable() && !seen[c.e.Lane] {
			seen[c.e.Lane] = true
			lanes = append(lanes, c.e.Lane)
		}
	}
	return res, lanes, nil
}

// firstTries runs createSQL once for every entry in one pipeline when q
// is a pgx.Tx, and reports which inserted; on any other transaction it
// runs nothing and reports none, so every entry takes the full rule.
func firstTries(ctx context.Context, q querier, cs []pendingCreate) ([]bool, error) {
	inserted := make([]bool, len(cs))
	tx, ok := q.(pgx.Tx)
	if !ok {
		return inserted, nil
	}
	batch := &pgx.Batch{}
	for _, c := range cs {
		batch.Queue(createSQL, c.args...)
	}
	br := tx.SendBatch(ctx, batch)
	for i := range cs {
		var n int
		if err := br.QueryRow().Scan(&n); err != nil {
			_ = br.Close()
			return nil, fmt.Errorf("create execution %d of %d: %w", i+1, len(cs), snapshotErr(mapPgError("create execution", err)))
		}
		inserted[i] = n == 1
	}
	return inserted, opErr("create executions", br.Close())
}

// snapshotErr turns the foreign-key failure of a capability set that
// the caller's REPEATABLE READ or SERIALIZABLE snapshot predates (the
// set is interned on the pool, committed, but invisible to that
// snapshot) into what it is: a retryable contention, like the
// serialization failure such a caller already retries. The retried
// transaction's snapshot sees the set.
func snapshotErr(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23503" && pgErr.ConstraintName == "ff_execution_cap_sig_fkey" {
		return &ff.Error{Class: ff.ClassContention, Kind: ff.ErrContention, Err: err,
			Detail: "create execution: capability set interned after the transaction's snapshot was taken: retry the transaction"}
	}
	return err
}

// notifyOnCommit queues a wake-up for each lane on the work channel
// inside the caller's transaction: Postgres delivers it to every
// listener (this process's too, which forwards it to its hub) when the
// transaction commits, and never if it rolls back. Identical
// notifications of one transaction are delivered once. The lanes are
// one array parameter (unnest) so a batch notifies in one statement.
func notifyOnCommit(ctx context.Context, q querier, lanes []string) error {
	_, err := q.Exec(ctx, `SELECT pg_notify($1, l) FROM unnest($2::text[]) AS l`, workChannel, lanes)
	return opErr("create execution: notify", err)
}
