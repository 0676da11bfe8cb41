package sqlite

import (
	"cmp"
	"context"
	"slices"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/backend/internal/budgetcore"
	"github.com/flowfabric-go/flowfabric/backend/internal/wpcore"
)

const (
	// qClaimHeads reads the head of one (lane, signature) slice of the
	// claim index, already in claim order: no sort, no backlog scan. A
	// paused lane (a row in ff_lane_state: one probe, evaluated once)
	// reads nothing.
	qClaimHeads = `SELECT seq, priority FROM ff_execution INDEXED BY ff_execution_claim
WHERE ready = 1 AND lane = ?1 AND cap_sig = ?2
  AND NOT EXISTS (SELECT 1 FROM ff_lane_state WHERE lane = ?1)
ORDER BY priority DESC, seq LIMIT ?3`
)

// maxAdmissionRounds bounds how often one claim reads the claim index
// again after admission refused some of the heads it took.
const maxAdmissionRounds = 4

// head is a claim candidate.
type head struct {
	seq      int64
	priority int64
}

// Claim takes up to p.Max claimable executions from p.Lanes whose
// requirements the worker's capabilities satisfy, highest priority first
// and FIFO (creation order) within a priority, across all the lanes.
//
// It computes in Go which interned capability sets the worker satisfies,
// reads the head of each (lane, set) slice of the claim index with
// LIMIT p.Max, merges the heads and claims the first p.Max, all in one
// write transaction.
func (b *Backend) Claim(ctx context.Context, p backend.ClaimParams) ([]backend.ClaimedTask, error) {
	have, err := p.Normalize()
	if err != nil {
		return nil, err
	}
	lanes := slices.Compact(slices.Sorted(slices.Values(p.Lanes)))
	var tasks []backend.ClaimedTask
	err = b.write(ctx, "sqlite: claim", func(w *writeTx) error {
		tasks = tasks[:0]
		if err := b.caps.refresh(ctx, w.tx); err != nil {
			return err
		}
		args := ff.ClaimArgs{WorkerID: p.WorkerID, WorkerInstanceID: p.WorkerInstanceID, LeaseTTLMs: p.LeaseTTL.Milliseconds()}
		// Executions refused by admission left the claim index: the
		// claim reads the heads again for the places they took, a
		// bounded number of times (a refused lost lease stays put).
		for round := 0; round < maxAdmissionRounds && len(tasks) < p.Max; round++ {
			w.refused = 0
			heads, err := w.claimHeads(lanes, b.caps.satisfied(have), p.Max-len(tasks))
			if err != nil {
				return err
			}
			for _, h := range heads {
				t, ok, err := w.claimOne(h.seq, args)
				if err != nil {
					return err
				}
				if ok {
					tasks = append(tasks, t)
				}
			}
			if w.refused == 0 {
				break
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return tasks, nil
}

// claimHeads returns the first n candidates in claim order over every
// (lane, signature) pair.
func (w *writeTx) claimHeads(lanes []string, sigs []int64, n int) ([]head, error) {
	var heads []head
	for _, lane := range lanes {
		for _, sig := range sigs {
			rows, err := w.query("sqlite: claim", qClaimHeads, lane, sig, n)
			if err != nil {
				return nil, err
			}
			for rows.Next() {
				var h head
				if err := rows.Scan(&h.seq, &h.priority); err != nil {
					rows.Close()
					return nil, driverError("sqlite: claim", err)
				}
				heads = append(heads, h)
			}
			err = rows.Err()
			rows.Close()
			if err != nil {
				return nil, driverError("sqlite: claim", err)
			}
		}
	}
	slices.SortFunc(heads, func(a, b head) int {
		if c := cmp.Compare(b.priority, a.priority); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
	if len(heads) > n {
		heads = heads[:n]
	}
	return heads, nil
}

// claimOne applies the claim transition to the execution at seq. ok is
// false if it is no longer claimable (it cannot change under the write
// lock; the check guards the invariant) or if it was past its execution
// deadline: a claim never hands such an execution out but expires it,
// and wakes its lane for the work behind it.
func (w *writeTx) claimOne(seq int64, args ff.ClaimArgs) (backend.ClaimedTask, bool, error) {
	var input []byte
	r, err := w.loadRow(w.queryRow(qLoadForClaim, seq), "", &input)
	if err != nil {
		return backend.ClaimedTask{}, false, err
	}
	e := &r.e
	if !e.Claimable() {
		return backend.ClaimedTask{}, false, nil
	}
	if e.DeadlinePassed(w.now) {
		w.notify(e.Lane)
		return backend.ClaimedTask{}, false, w.save(r, true, e.Expire(w.now, "execution_deadline"))
	}
	var quotas []budgetcore.Quota
	if e.Hooks.Any(ff.HookAdmission) {
		admitted, ok, err := w.admit(r)
		if err != nil || !ok {
			return backend.ClaimedTask{}, false, err
		}
		quotas = admitted
	}
	h, fx, err := e.Claim(w.now, args, ff.BackendSQLite)
	if err != nil {
		return backend.ClaimedTask{}, false, err
	}
	if err := budgetcore.RecordAdmission(w, e, quotas); err != nil {
		return backend.ClaimedTask{}, false, err
	}
	if err := w.save(r, true, fx); err != nil {
		return backend.ClaimedTask{}, false, err
	}
	t := backend.ClaimedTask{
		Handle: h, ExecutionID: e.ID, Lane: e.Lane, Kind: e.Kind, Priority: e.Priority, Tags: e.Tags,
		AttemptIndex: h.Lease.AttemptIndex, AttemptID: h.Lease.AttemptID,
		AttemptType: ff.ClaimedAttemptType(h.Kind, e.CurrentAttemptType), LeaseEpoch: e.LeaseEpoch,
		LeaseExpiresAt: ff.TimeFromMs(e.LeaseExpiresAtMs),
	}
	t.Input = input
	if h.Kind == ff.HandleResumed && e.Hooks.Any(ff.HookWaitpoints) {
		st := &sqTx{w: w}
		if t.ResumedSignals, err = wpcore.ResumedSignals(st, e.ID); err != nil {
			return backend.ClaimedTask{}, false, err
		}
	}
	return t, true, nil
}
