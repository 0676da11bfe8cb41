package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

// Reports (complete, fail, delay, cancel) and renewals that fail with a
// retryable error are tried again after a jittered backoff that starts
// at retryBase and doubles up to retryCap, for as long as the attempt's
// lease may still be valid. A report is replay-safe, so trying it again
// after a reply was lost is harmless.
const (
	retryBase = 50 * time.Millisecond
	retryCap  = 2 * time.Second
)

// errGaveUp marks a report abandoned because its lease ran out while
// the engine kept answering with retryable errors (already logged).
var errGaveUp = errors.New("worker: gave up: the lease ran out before the report got through")

// clock is the time source of lease estimates and retry waits: real time
// in production, a fake in tests so retries are tested without sleeping.
type clock interface {
	Now() time.Time
	// Sleep waits d, or until ctx ends; it reports whether d elapsed.
	Sleep(ctx context.Context, d time.Duration) bool
}

// realClock is the system clock.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// backoff yields retry waits with "equal jitter": the n-th wait is drawn
// from [b/2, b] with b = min(retryBase·2^(n-1), retryCap), so retries of
// many workers spread out and no wait exceeds retryCap.
type backoff struct {
	ceil time.Duration // b of the next wait
	rnd  func() float64
}

func newBackoff(rnd func() float64) backoff { return backoff{ceil: retryBase, rnd: rnd} }

// next returns the next wait and grows the ceiling.
func (b *backoff) next() time.Duration {
	ceil := b.ceil
	b.ceil = min(2*b.ceil, retryCap)
	return ceil/2 + time.Duration(b.rnd()*float64(ceil/2))
}

// retryable reports whether trying a lease-bound call again may succeed:
// transport failures (the engine unreachable, a 5xx without a verdict),
// timeouts and contention. A definitive answer — the attempt is no longer
// owned (stale_lease, lease_expired, execution_not_active, ...), a
// validation error, a server bug, an unsupported operation — is not.
// Errors that are not engine errors come from the transport itself.
func retryable(err error) bool {
	if isLost(err) {
		return false
	}
	e, ok := ff.AsError(err)
	if !ok {
		return true
	}
	// A request body the server did not receive in time (408) says
	// nothing about the report itself: the next try may get through.
	if errors.Is(e, wire.ErrRequestTimeout) {
		return true
	}
	switch e.Class {
	case ff.ClassTransport, ff.ClassTimeout, ff.ClassContention, ff.ClassResourceExhausted:
		return true
	}
	return false
}

// keep calls fn, a report under t's lease, until it succeeds or fails
// definitively, retrying retryable failures with backoff while the lease
// may still be valid (until t's lease expiry as the worker knows it).
// Each call is bounded by that expiry too. A give-up is logged at warn,
// counted, and returned wrapped in errGaveUp. keep returns at once when
// ctx ends (the worker was killed).
func (w *Worker) keep(ctx context.Context, t *Task, op string, fn func(context.Context) error) error {
	bo := newBackoff(w.rnd)
	for tries := 1; ; tries++ {
		err := w.try(ctx, t.leaseExpiry(), fn)
		if err == nil || !retryable(err) || ctx.Err() != nil {
			return err
		}
		wait, ok := w.retryWait(t.leaseExpiry(), &bo)
		if !ok {
			return w.gaveUp(t, op, tries, err)
		}
		if !w.clock.Sleep(ctx, wait) {
			return err
		}
	}
}

// try makes one call, bounded by the lease expiry (a hung engine must not
// hold the report past the point where it could still succeed).
func (w *Worker) try(ctx context.Context, expiry time.Time, fn func(context.Context) error) error {
	cctx, cancel := context.WithTimeout(ctx, max(expiry.Sub(w.clock.Now()), minCallTimeout))
	defer cancel()
	return fn(cctx)
}

// minCallTimeout is the least time one try is given, so a try made just
// before the expiry still has a chance to get an answer.
const minCallTimeout = 100 * time.Millisecond

// retryWait is the wait before the next try of a report whose lease ends
// at expiry, or false when the lease has run out. The wait never passes
// the expiry, so the last try happens while the lease may still be valid.
func (w *Worker) retryWait(expiry time.Time, bo *backoff) (time.Duration, bool) {
	left := expiry.Sub(w.clock.Now())
	if left <= 0 {
		return 0, false
	}
	return min(bo.next(), left), true
}

// gaveUp logs and counts an abandoned report; the execution will be
// reclaimed once its lease expires, and its handler may run again.
func (w *Worker) gaveUp(t *Task, op string, tries int, err error) error {
	w.stats.reportsAbandoned.Add(1)
	w.log.Warn("worker: gave up reporting the attempt's outcome: the lease ran out before the engine answered",
		"execution_id", t.ExecutionID.String(), "attempt_index", t.AttemptIndex, "op", op, "tries", tries,
		"error_kind", string(ff.KindOf(err)), "error", err)
	return fmt.Errorf("%w: %s after %d tries: %w", errGaveUp, op, tries, err)
}
