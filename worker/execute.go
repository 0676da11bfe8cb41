package worker

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// start hands a claimed attempt to an executor goroutine. The caller has
// reserved a concurrency slot for it; execute gives it back.
func (w *Worker) start(c backend.ClaimedTask, claimedAt time.Time) {
	t := newTask(w, c)
	t.ctx, t.cancel = context.WithCancelCause(w.hardCtx)
	t.setLeaseExpiry(claimedAt.Add(w.cfg.LeaseTTL))
	w.renewer.add(t, claimedAt)
	w.running.Add(1)
	w.inflight.Add(1)
	w.executors.submit(t)
}

// execute runs the handler and settles the attempt's outcome.
func (w *Worker) execute(t *Task) {
	defer w.inflight.Done()
	defer w.slots.put(1)
	defer t.cancel(context.Canceled)
	if w.stopping() {
		// Claimed but not started when the worker began to stop.
		w.renewer.remove(t)
		w.running.Add(-1)
		w.release([]*Task{t})
		return
	}
	ctx, span := w.handlerSpan(t)
	result, err := w.call(ctx, t)
	for i := 0; i < maxImmediateReruns && alreadySatisfied(err) && t.ctx.Err() == nil; i++ {
		// The suspension was already satisfied: the lease is kept and the
		// handler runs again at once with the signals (Task.Suspend).
		t.AttemptType = ff.AttemptResume
		result, err = w.call(ctx, t)
	}
	endHandlerSpan(span, err)
	// Order matters: once removed from the renewer, the context's cause
	// is final, and the completer sees one fewer running handler.
	w.renewer.remove(t)
	w.running.Add(-1)
	w.settle(t, result, err)
}

// panicError is a recovered handler panic.
type panicError struct{ value any }

func (e *panicError) Error() string { return fmt.Sprintf("handler panicked: %v", e.value) }

// call runs the registered handler with ctx (t.ctx, with the handler
// span when traced), turning a panic into an error.
func (w *Worker) call(ctx context.Context, t *Task) (result any, err error) {
	h := w.handler(t.Kind)
	if h == nil {
		return nil, Permanent(fmt.Errorf("worker: no handler registered for kind %q", t.Kind))
	}
	defer func() {
		if p := recover(); p != nil {
			w.log.Error("worker: handler panicked", "execution_id", t.ExecutionID.String(), "kind", t.Kind,
				"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			result, err = nil, &panicError{value: p}
		}
	}()
	return h(ctx, t)
}

// settle reports the outcome of a finished handler, unless the attempt is
// no longer ours to report.
func (w *Worker) settle(t *Task, result any, err error) {
	if w.killed.Load() {
		w.log.Debug("worker: killed; attempt abandoned", "execution_id", t.ExecutionID.String())
		return
	}
	if cause := t.lostCause(); cause != nil {
		w.log.Debug("worker: attempt no longer owned; outcome not reported",
			"execution_id", t.ExecutionID.String(), "attempt_index", t.AttemptIndex, "cause", cause)
		return
	}
	switch {
	case err == nil:
		b, encErr := encodeResult(result)
		if encErr != nil {
			w.fail(t, Permanent(encErr))
			return
		}
		w.completer.submit(completion{task: t, result: b})
	case errors.Is(err, ErrDelayed):
		w.delay(t, delayTime(t, err))
	case errors.Is(err, ErrWaitingChildren):
		w.log.Debug("worker: attempt waiting for its children", "execution_id", t.ExecutionID.String())
	case errors.Is(err, ErrSuspended) && !alreadySatisfied(err):
		w.log.Debug("worker: attempt suspended", "execution_id", t.ExecutionID.String(), "attempt_index", t.AttemptIndex)
	case errors.Is(context.Cause(t.ctx), ErrShutdown):
		// Cut short by shutdown: hand the attempt back at once rather
		// than spend a retry on it.
		w.delay(t, time.Now())
	default:
		w.fail(t, err)
	}
}

func delayTime(t *Task, err error) time.Time {
	var de *DelayError
	if errors.As(err, &de) {
		return de.Until
	}
	if until := t.delayedUntil(); !until.IsZero() {
		return until
	}
	return time.Now()
}

// fail reports a failed attempt; the engine applies the retry policy.
func (w *Worker) fail(t *Task, cause error) {
	class := ff.FailureTransient
	if IsPermanent(cause) {
		class = ff.FailurePermanent
	}
	p := backend.FailParams{Handle: t.handle, Reason: cause.Error(), Classification: class}
	var out ff.FailOutcome
	ctx, span := w.reportSpan(w.ioCtx, t, "fail")
	err := w.keep(ctx, t, "fail", func(ctx context.Context) error {
		var err error
		out, err = w.transport.Fail(ctx, p)
		return err
	})
	endReportSpan(span, err)
	if err == nil {
		w.log.Info("worker: attempt failed", "execution_id", t.ExecutionID.String(), "attempt_index", t.AttemptIndex,
			"classification", string(class), "retry_scheduled", out.RetryScheduled, "reason", p.Reason)
		return
	}
	w.logOutcome(t, "fail", err)
}

// delay releases the lease until until; the next claim resumes the
// attempt.
func (w *Worker) delay(t *Task, until time.Time) {
	p := backend.DelayParams{Handle: t.handle, Until: until}
	ctx, span := w.reportSpan(w.ioCtx, t, "delay")
	err := w.keep(ctx, t, "delay", func(ctx context.Context) error { return w.transport.Delay(ctx, p) })
	endReportSpan(span, err)
	w.logOutcome(t, "delay", err)
}

// logOutcome logs how reporting an attempt's outcome went. A rejection
// because the attempt is no longer owned is expected and logged at debug;
// a give-up was logged at warn when it happened.
func (w *Worker) logOutcome(t *Task, op string, err error) {
	attrs := []any{"execution_id", t.ExecutionID.String(), "attempt_index", t.AttemptIndex, "op", op}
	switch {
	case err == nil:
		w.log.Debug("worker: attempt reported", attrs...)
	case errors.Is(err, errGaveUp):
	case isLost(err) || w.killed.Load():
		w.log.Debug("worker: report rejected; attempt no longer owned", append(attrs, "error", err)...)
	default:
		w.log.Error("worker: report failed", append(attrs, "error", err)...)
	}
}

func isLost(err error) bool { return lostCause(err) != nil }
