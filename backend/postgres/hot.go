package postgres

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// fenceSQL is the full lease fence of the hot statements, over an input
// row i carrying (id, lease_id, epoch, attempt_id, now).
const fenceSQL = `e.id = i.id AND e.lifecycle_phase = 'active' AND e.ownership_state = 'leased'
	AND e.lease_id = i.lease_id AND e.lease_epoch = i.epoch AND e.current_attempt_id = i.attempt_id
	AND e.lease_expires_at_ms > i.now`

// hooksGuard excludes from a fast statement the rows whose hooks carry a
// bit of mask (flowfabric.Hooks): they fail its WHERE like a failed fence
// and go to the slow path. It is built from the Go constant, so the SQL can
// never disagree with it, as a literal, so the plan stays the plain one (a
// test on a column of the row already fetched by primary key); an empty
// mask adds nothing to the statement.
func hooksGuard(mask ff.Hooks) string {
	if mask == 0 {
		return ""
	}
	return "\n\tAND (e.hooks & " + strconv.Itoa(int(int16(mask))) + ") = 0"
}

// completeSQL completes many attempts in one statement: the fenced state
// change with the result (mirroring flowfabric.Execution.Complete) and the
// completion outbox row, which names the lease it ends: the attempt and
// lease columns are not cleared by the update, so RETURNING still has
// them, and reclaim is the rule of flowfabric.Execution.heldLease. The
// successful attempt gets no ff_attempt row: it is the execution's last
// and stays readable from the execution row. Rows that fail the fence, or
// carry a hook of HooksCompleteSlow, are simply not returned; the caller
// resolves them on the slow path.
var completeSQL = `WITH i AS (
	SELECT x.*, coalesce($6::bigint, ff_now_ms()) AS now
	FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::bytea[]) AS x(id, lease_id, epoch, attempt_id, result)
), upd AS (
	UPDATE ff_execution e SET ` + completeSet + `
	FROM i
	WHERE ` + fenceSQL + hooksGuard(ff.HooksCompleteSlow) + `
	RETURNING ` + completeReturning + `
), ev AS (
	` + completionEventSQL + `
)
SELECT id FROM upd`

// completeSet is the state change of a successful completion
// (flowfabric.Execution.Complete) over an input row i with (now, result).
const completeSet = `lifecycle_phase = 'terminal', ownership_state = 'unowned', eligibility_state = 'not_applicable',
		blocking_reason = 'none', terminal_outcome = 'success', attempt_state = 'attempt_terminal',
		public_state = 'completed', ready = false, blocking_detail = '',
		lease_id = '', lease_expires_at_ms = 0, worker_id = '', worker_instance_id = '',
		ready_at_ms = 0, attempt_deadline_ms = 0, completed_at_ms = i.now, updated_at_ms = i.now,
		result = i.result`

// completeReturning is what the completion event of an updated row
// needs: the attempt and lease columns are not cleared by completeSet.
const completeReturning = `e.id, e.partition, e.lane, e.namespace, i.now, e.attempt_count - 1 AS attempt_index,
		e.current_attempt_id, e.attempt_type, e.lease_epoch, e.attempt_worker_id, e.attempt_worker_instance_id,
		e.lease_acquired_ms, e.attempt_type = 'reclaim' AND e.lease_acquired_ms = e.attempt_started_ms AS reclaim`

// completionEventSQL writes the completion outbox row of every row of
// upd (returned with completeReturning).
const completionEventSQL = eventInsertHead + `
	SELECT ` + completionEventCols + ` FROM upd`

// eventInsertHead names the outbox columns the fast statements write.
const eventInsertHead = `INSERT INTO ff_event (type, action, execution_id, partition, lane, namespace, at_ms,
		attempt_index, attempt_id, attempt_type, lease_epoch, worker_id, worker_instance_id, acquired_at_ms,
		lease_end, acquired_action, data)`

// completionEventCols is the completion event of a row returned with
// completeReturning, in eventInsertHead's order; reclaim is the rule of
// flowfabric.Execution.heldLease.
const completionEventCols = `'completion', 'success', id, partition, lane, namespace, now,
		attempt_index, current_attempt_id, attempt_type, lease_epoch, attempt_worker_id, attempt_worker_instance_id,
		lease_acquired_ms, 'released', CASE WHEN reclaim THEN 'reclaimed' ELSE 'acquired' END, NULL::jsonb`

// renewSQL extends many leases in one statement, each by the TTL stored
// at claim (never one a handle carries), mirroring
// flowfabric.Execution.Renew with e.LeaseTTLMs. Renewals commit with
// synchronous_commit off: losing the last heartbeats in a crash only
// shortens a lease, never corrupts state. Rows with a hook of
// HooksRenewSlow (none today: the guard is empty) renew on the slow path.
var renewSQL = `WITH i AS (
	SELECT x.*, coalesce($5::bigint, ff_now_ms()) AS now
	FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[]) AS x(id, lease_id, epoch, attempt_id)
)
UPDATE ff_execution e SET lease_expires_at_ms = i.now + e.lease_ttl_ms, last_heartbeat_ms = i.now, updated_at_ms = i.now
FROM i
WHERE ` + fenceSQL + hooksGuard(ff.HooksRenewSlow) + ` AND set_config('synchronous_commit', 'off', true) IS NOT NULL
RETURNING e.id, e.lease_expires_at_ms, e.lease_epoch`

// Complete implements backend.Lifecycle.
func (b *Backend) Complete(ctx context.Context, p backend.CompleteParams) error {
	return b.CompleteMany(ctx, []backend.CompleteParams{p})[0]
}

// fencedBatch gathers the fence columns of a batch of hot writes for one
// statement, one entry per execution: a second entry for the same
// execution goes to the slow path, which settles it after the first.
type fencedBatch struct {
	ids, leaseIDs, attemptIDs []string
	epochs                    []int64
	pos                       map[string]int // execution id → input index, until settled
	slow                      []int          // input indexes for the slow path
}

// add queues input i with lease l and reports whether it joined the
// statement (false: it went to the slow path).
func (f *fencedBatch) add(i int, l ff.Lease) bool {
	id := l.ExecutionID.String()
	if _, dup := f.pos[id]; dup {
		f.slow = append(f.slow, i)
		return false
	}
	if f.pos == nil {
		f.pos = map[string]int{}
	}
	f.pos[id] = i
	f.ids = append(f.ids, id)
	f.leaseIDs = append(f.leaseIDs, l.LeaseID)
	f.epochs = append(f.epochs, int64(l.LeaseEpoch))
	f.attemptIDs = append(f.attemptIDs, l.AttemptID)
	return true
}

// settle marks id as written by the statement and returns its input index.
func (f *fencedBatch) settle(id string) int {
	i := f.pos[id]
	delete(f.pos, id)
	return i
}

// failAll calls fail for every input the statement was to write.
func (f *fencedBatch) failAll(fail func(i int)) {
	for _, i := range f.pos {
		fail(i)
	}
}

// slowPath returns the inputs the statement did not settle (their fence
// failed) together with the duplicates.
func (f *fencedBatch) slowPath() []int {
	for _, i := range f.pos {
		f.slow = append(f.slow, i)
	}
	return f.slow
}

// completionBatch is a fencedBatch of completions with their results,
// the arguments of completeSQL and completeFlowSQL.
type completionBatch struct {
	fencedBatch
	results [][]byte
}

// add queues completion i, or sends it to the slow path (a second entry
// for the same execution).
func (c *completionBatch) add(i int, p backend.CompleteParams) {
	if c.fencedBatch.add(i, p.Handle.Lease) {
		c.results = append(c.results, nonNil(p.Result))
	}
}

func (c *completionBatch) args(now any) []any {
	return []any{c.ids, c.leaseIDs, c.epochs, c.attemptIDs, c.results, now}
}

// CompleteMany implements backend.Lifecycle: one statement for every
// plain attempt whose fence holds, then one for flow upstreams
// (completeFlowMany), then the slow path for the rest.
func (b *Backend) CompleteMany(ctx context.Context, ps []backend.CompleteParams) []error {
	errs := make([]error, len(ps))
	var c completionBatch
	for i, p := range ps {
		if err := p.Handle.CheckBackend(ff.BackendPostgres); err != nil {
			errs[i] = err
			continue
		}
		if len(p.Result) > ff.MaxResultBytes {
			errs[i] = ff.Validation(ff.ErrPayloadTooLarge, "result: %d bytes, at most %d", len(p.Result), ff.MaxResultBytes)
			continue
		}
		c.add(i, p)
	}
	if len(c.ids) > 0 {
		rows, err := b.pool.Query(ctx, completeSQL, c.args(b.nowArg())...)
		var done []string
		if err == nil {
			done, err = pgx.CollectRows(rows, pgx.RowTo[string])
		}
		if err != nil {
			err = mapPgError("complete", err)
			c.failAll(func(i int) { errs[i] = err })
			return errs
		}
		for _, id := range done {
			c.settle(id)
		}
		if len(done) > 0 {
			b.eventsCommitted()
		}
	}
	slow := b.completeFlowMany(ctx, ps, c.slowPath(), errs)
	b.completeSlowMany(ctx, ps, slow, errs)
	return errs
}

// completeSlow resolves a completion whose fast fence failed: a replay of
// a committed completion succeeds; anything else gets its precise error
// (and an expired lease is marked).
func (b *Backend) completeSlow(ctx context.Context, p backend.CompleteParams) error {
	l := p.Handle.Lease
	return b.mutate(ctx, "complete", l.ExecutionID, func(e *ff.Execution, now int64) (*ff.Effects, bool, bool, error) {
		fx, fr, err := e.Complete(now, l.Fence(), p.Result)
		return fenceOutcome(fx, fr, err)
	})
}

// fenceOutcome turns a transition's results into a mutation's.
func fenceOutcome(fx *ff.Effects, fr ff.FenceResult, err error) (*ff.Effects, bool, bool, error) {
	if fr.MarkedExpired {
		return fr.Effects, true, true, err
	}
	if err != nil {
		return nil, false, false, err
	}
	return fx, fx != nil, false, nil
}

// Renew implements backend.Lifecycle.
func (b *Backend) Renew(ctx context.Context, p backend.RenewParams) (backend.LeaseRenewal, error) {
	r := b.RenewMany(ctx, []backend.RenewParams{p})[0]
	return r.Renewal, r.Err
}

// RenewMany implements backend.Lifecycle.
func (b *Backend) RenewMany(ctx context.Context, ps []backend.RenewParams) []backend.RenewResult {
	out := make([]backend.RenewResult, len(ps))
	var f fencedBatch
	for i, p := range ps {
		if err := p.Handle.CheckBackend(ff.BackendPostgres); err != nil {
			out[i].Err = err
			continue
		}
		f.add(i, p.Handle.Lease)
	}
	if len(f.ids) > 0 {
		rows, err := b.pool.Query(ctx, renewSQL, f.ids, f.leaseIDs, f.epochs, f.attemptIDs, b.nowArg())
		if err == nil {
			var (
				id      string
				expires int64
				epoch   uint64
			)
			_, err = pgx.ForEachRow(rows, []any{&id, &expires, &epoch}, func() error {
				out[f.settle(id)].Renewal = backend.LeaseRenewal{ExpiresAt: ff.TimeFromMs(expires), LeaseEpoch: epoch}
				return nil
			})
		}
		if err != nil {
			err = mapPgError("renew", err)
			f.failAll(func(i int) { out[i].Err = err })
			return out
		}
	}
	for _, i := range f.slowPath() {
		out[i].Renewal, out[i].Err = b.renewSlow(ctx, ps[i].Handle)
	}
	return out
}

func (b *Backend) renewSlow(ctx context.Context, h ff.Handle) (backend.LeaseRenewal, error) {
	var r backend.LeaseRenewal
	l := h.Lease
	err := b.mutate(ctx, "renew", l.ExecutionID, func(e *ff.Execution, now int64) (*ff.Effects, bool, bool, error) {
		fr, err := e.Renew(now, l.Fence(), e.LeaseTTLMs)
		if err == nil {
			r = backend.LeaseRenewal{ExpiresAt: ff.TimeFromMs(e.LeaseExpiresAtMs), LeaseEpoch: e.LeaseEpoch}
			return nil, true, false, nil
		}
		return fenceOutcome(nil, fr, err)
	})
	return r, err
}

// completeSlowMany settles the slow-path entries idx of a batch. Rows
// with hooks (waitpoints, quota slots, a flow upstream the flow statement
// left) take the slow path by design, so several of them are settled in
// ONE transaction, locked in id
// order, each entry failing alone as Complete would (a failed fence
// writes nothing, an expired lease its mark): one commit per batch, as on
// the fast path. When that transaction cannot commit (contention left
// after its retries, a transport error), each entry is settled alone.
func (b *Backend) completeSlowMany(ctx context.Context, ps []backend.CompleteParams, idx []int, errs []error) {
	if len(idx) > 1 {
		sorted := slices.Clone(idx)
		slices.SortStableFunc(sorted, func(x, y int) int {
			return strings.Compare(ps[x].Handle.Lease.ExecutionID.String(), ps[y].Handle.Lease.ExecutionID.String())
		})
		out := make(map[int]error, len(sorted))
		err := b.inFlowTx(ctx, "complete", func(s *flowStore) error {
			clear(out)
			return completeBatchIn(s, ps, sorted, out)
		})
		if err == nil {
			for i, e := range out {
				errs[i] = e
			}
			return
		}
	}
	slowEach(idx, func(i int) { errs[i] = b.completeSlow(ctx, ps[i]) })
}

// completeBatchIn applies the completions idx (sorted by execution id)
// in one transaction: one statement locks and reads every record, each
// entry's own outcome goes to out, every write is queued, and the edges
// of the members they ended resolve together. An error returned aborts
// the transaction.
func completeBatchIn(s *flowStore, ps []backend.CompleteParams, idx []int, out map[int]error) error {
	ids := make([]ff.ExecutionID, len(idx))
	for k, i := range idx {
		ids[k] = ps[i].Handle.Lease.ExecutionID
	}
	recs, err := s.LockExecutions(ids)
	if err != nil {
		return err
	}
	var ended []*ff.Execution
	for k, i := range idx {
		e := recs[ids[k]]
		if e == nil {
			out[i] = ff.NotFound("execution", "%s", ids[k])
			continue
		}
		before := *e
		l := ps[i].Handle.Lease
		fx, fr, cerr := e.Complete(s.now, l.Fence(), ps[i].Result)
		fx, write, _, ferr := fenceOutcome(fx, fr, cerr)
		out[i] = ferr
		if !write {
			continue
		}
		if err := s.SaveExecution(&before, e, fx); err != nil {
			return err
		}
		if e.Claimable() {
			s.Wake(e.Lane)
		}
		if flowEnded(e, fx) {
			ended = append(ended, e)
		}
	}
	if len(ended) == 0 {
		return nil
	}
	return backend.ResolveFlowEdgesMany(s, ended)
}

// maxSlowConcurrency bounds the slow-path transitions of one batch that
// run at once when they are settled one by one; entries for the same
// execution serialize on its row lock.
const maxSlowConcurrency = 8

// slowEach calls fn for every index, up to maxSlowConcurrency at once.
func slowEach(idx []int, fn func(i int)) {
	if len(idx) <= 1 {
		for _, i := range idx {
			fn(i)
		}
		return
	}
	sem := make(chan struct{}, maxSlowConcurrency)
	var wg sync.WaitGroup
	for _, i := range idx {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			fn(i)
		})
	}
	wg.Wait()
}
