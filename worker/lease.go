package worker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// renewBatchMax bounds one RenewMany call.
const renewBatchMax = 128

// errMissingResult stands in for a result a batch call did not return.
var errMissingResult = errors.New("worker: transport returned no result for this entry")

// renewer keeps the leases of running attempts alive. Each lease is
// renewed LeaseTTL/3 after its last successful renewal; leases falling due
// within a quarter of that interval are renewed together with one
// RenewMany. A renewal error that shows the attempt is no longer owned, or
// any other definitive answer, cancels the handler's context; a retryable
// one is retried with backoff until the lease's expiry as the worker knows
// it, and then the lease is given up (logged at warn and counted).
type renewer struct {
	w        *Worker
	ttl      time.Duration
	interval time.Duration

	mu     sync.Mutex
	leases map[*Task]*leaseState
	// wakeAt is when run next looks at the leases by itself; add kicks run
	// only for a lease due before that, so a batch of new leases (all due
	// an interval from now) costs no wake-ups while older leases are held.
	wakeAt time.Time
	kick   chan struct{}
}

// leaseState tracks the renewals of one lease. Its expiry lives on the
// Task (Task.leaseExpiry), where the reports read it too.
type leaseState struct {
	due   time.Time // next renewal
	retry backoff   // waits between failed renewals; reset by a success
}

func newRenewer(w *Worker) *renewer {
	ttl := w.cfg.LeaseTTL
	return &renewer{w: w, ttl: ttl, interval: max(ttl/3, time.Millisecond),
		leases: map[*Task]*leaseState{}, kick: make(chan struct{}, 1)}
}

// add starts renewing t's lease, obtained by a claim issued at claimedAt.
func (r *renewer) add(t *Task, claimedAt time.Time) {
	due := claimedAt.Add(r.interval)
	r.mu.Lock()
	r.leases[t] = &leaseState{due: due, retry: newBackoff(r.w.rnd)}
	kick := due.Before(r.wakeAt)
	if kick {
		r.wakeAt = due
	}
	r.mu.Unlock()
	if kick {
		select {
		case r.kick <- struct{}{}:
		default:
		}
	}
}

// remove stops renewing t. After it returns, the renewer never cancels
// t's context, so the caller may read the context's cause as final.
func (r *renewer) remove(t *Task) {
	r.mu.Lock()
	delete(r.leases, t)
	r.mu.Unlock()
}

// run renews leases until ctx is done.
func (r *renewer) run(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		timer.Reset(r.nextWait(r.w.clock.Now()))
		select {
		case <-ctx.Done():
			return
		case <-r.kick:
			continue
		case <-timer.C:
		}
		r.renewDue(ctx)
	}
}

// nextWait is the time until the earliest renewal (an hour when idle).
// It records the moment as wakeAt.
func (r *renewer) nextWait(now time.Time) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	wait := time.Hour
	for _, s := range r.leases {
		wait = min(wait, s.due.Sub(now))
	}
	wait = max(wait, 0)
	r.wakeAt = now.Add(wait)
	return wait
}

// renewDue renews every lease due now or within a quarter interval.
func (r *renewer) renewDue(ctx context.Context) {
	horizon := r.w.clock.Now().Add(r.interval / 4)
	r.mu.Lock()
	var due []*Task
	for t, s := range r.leases {
		if !s.due.After(horizon) {
			due = append(due, t)
		}
	}
	r.mu.Unlock()
	for len(due) > 0 && ctx.Err() == nil {
		n := min(len(due), renewBatchMax)
		r.renewBatch(ctx, due[:n])
		due = due[n:]
	}
}

func (r *renewer) renewBatch(ctx context.Context, tasks []*Task) {
	start := r.w.clock.Now()
	errs := make([]error, len(tasks))
	_ = r.w.try(ctx, latestExpiry(tasks), func(cctx context.Context) error {
		r.renewCall(cctx, tasks, errs)
		return nil
	})
	if ctx.Err() != nil {
		return // stopping: a cancelled call says nothing about the lease
	}
	for i, t := range tasks {
		r.apply(ctx, t, start, errs[i])
	}
}

// renewCall renews tasks with one Renew or one RenewMany; errs aligns
// with tasks.
func (r *renewer) renewCall(ctx context.Context, tasks []*Task, errs []error) {
	if len(tasks) == 1 {
		_, errs[0] = r.w.transport.Renew(ctx, backend.RenewParams{Handle: tasks[0].handle})
		return
	}
	ps := make([]backend.RenewParams, len(tasks))
	for i, t := range tasks {
		ps[i] = backend.RenewParams{Handle: t.handle}
	}
	res := r.w.transport.RenewMany(ctx, ps)
	for i := range errs {
		if i < len(res) {
			errs[i] = res[i].Err
		} else {
			errs[i] = errMissingResult // retried like a transport failure
		}
	}
}

// latestExpiry is the latest lease expiry among tasks: a batch call is
// worth waiting for until then.
func latestExpiry(tasks []*Task) time.Time {
	var end time.Time
	for _, t := range tasks {
		if e := t.leaseExpiry(); e.After(end) {
			end = e
		}
	}
	return end
}

// apply records the outcome of one renewal issued at start.
func (r *renewer) apply(ctx context.Context, t *Task, start time.Time, err error) {
	switch {
	case err == nil:
		t.setLeaseExpiry(start.Add(r.ttl))
		r.update(t, func(s *leaseState) { s.due, s.retry = start.Add(r.interval), newBackoff(r.w.rnd) })
	case lostCause(err) != nil:
		r.drop(t, r.refine(ctx, t, lostCause(err)))
	case !retryable(err):
		r.w.log.Warn("worker: lease renewal refused; cancelling the handler", "execution_id", t.ExecutionID.String(),
			"attempt_index", t.AttemptIndex, "error_kind", string(ff.KindOf(err)), "error", err)
		r.drop(t, fmt.Errorf("%w: renewal refused: %w", ErrLeaseLost, err))
	default:
		r.retryLater(t, err)
	}
}

// retryLater schedules another try of a renewal that failed with a
// retryable error, or gives the lease up when it has run out.
func (r *renewer) retryLater(t *Task, err error) {
	now := r.w.clock.Now()
	var wait time.Duration
	alive := true
	held := r.update(t, func(s *leaseState) {
		wait, alive = r.w.retryWait(t.leaseExpiry(), &s.retry)
		s.due = now.Add(wait)
	})
	switch {
	case !held:
		return // the handler finished meanwhile
	case alive:
		r.w.log.Debug("worker: lease renewal failed; retrying", "execution_id", t.ExecutionID.String(),
			"retry_in", wait, "error", err)
		return
	}
	r.w.stats.renewalsAbandoned.Add(1)
	r.w.log.Warn("worker: gave up renewing the lease: it ran out before the engine answered; cancelling the handler",
		"execution_id", t.ExecutionID.String(), "attempt_index", t.AttemptIndex,
		"error_kind", string(ff.KindOf(err)), "error", err)
	r.drop(t, fmt.Errorf("%w: not renewed before its expiry: %w", ErrLeaseLost, err))
}

// update applies fn to t's lease state and reports whether t is still
// renewed.
func (r *renewer) update(t *Task, fn func(*leaseState)) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.leases[t]
	if ok {
		fn(s)
	}
	return ok
}

// drop stops renewing t and cancels its handler with cause, unless the
// handler already finished (remove ran first).
func (r *renewer) drop(t *Task, cause error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.leases[t]; !ok {
		return
	}
	delete(r.leases, t)
	r.w.log.Debug("worker: attempt no longer owned; cancelling handler", "execution_id", t.ExecutionID.String(),
		"attempt_index", t.AttemptIndex, "cause", cause)
	t.lose(cause)
}

// refine turns a lost lease into a cancellation when the execution was in
// fact cancelled (an operator cancel surfaces as lease_revoked, a flow
// cancel too; a cancel after a lost lease as a stale one).
func (r *renewer) refine(ctx context.Context, t *Task, cause error) error {
	if errors.Is(cause, ErrExecutionCancelled) {
		return cause
	}
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if st, err := r.w.transport.ReadExecutionState(rctx, backend.ReadExecutionStateParams{ExecutionID: t.ExecutionID}); err == nil && st == ff.PublicCancelled {
		return fmt.Errorf("%w: %w", ErrExecutionCancelled, cause)
	}
	return cause
}

// lostCause returns, when err from a lease-bound call shows that the
// attempt is no longer owned, the handler's cancellation cause; else nil.
func lostCause(err error) error {
	switch ff.KindOf(err) {
	case ff.ErrExecutionNotActive:
		return fmt.Errorf("%w: %w", ErrExecutionCancelled, err)
	case ff.ErrStaleLease, ff.ErrLeaseExpired, ff.ErrLeaseRevoked, ff.ErrNoActiveLease, ff.ErrNotFound:
		return fmt.Errorf("%w: %w", ErrLeaseLost, err)
	}
	return nil
}

// isOwnershipCause reports whether a context cause means the attempt is
// no longer owned.
func isOwnershipCause(cause error) bool {
	return errors.Is(cause, ErrLeaseLost) || errors.Is(cause, ErrExecutionCancelled)
}
