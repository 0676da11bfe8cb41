package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// Task is one claimed attempt as a handler sees it. Its exported fields
// are read-only; a Task must not be used after its handler returned.
type Task struct {
	ExecutionID  ff.ExecutionID
	Kind         string
	Lane         string
	Input        json.RawMessage
	Priority     int32
	Tags         map[string]string
	AttemptIndex uint32
	// AttemptType says why the attempt runs: initial, retry, reclaim or
	// replay for a new attempt, resume when the claim continues an
	// interrupted one (after Delay, a released claim or a suspension;
	// ListAttempts keeps the attempt's own type).
	AttemptType ff.AttemptType

	handle ff.Handle
	w      *Worker
	ctx    context.Context
	cancel context.CancelCauseFunc
	// span is the handler span's context; zero when untraced.
	span trace.SpanContext

	mu         sync.Mutex
	delayUntil time.Time
	resumed    []ff.Signal
	// leaseEnd is the lease's expiry as the worker knows it: measured
	// from before the claim or the last successful renewal, so never
	// later than the engine's.
	leaseEnd time.Time
}

func newTask(w *Worker, c backend.ClaimedTask) *Task {
	return &Task{
		ExecutionID: c.ExecutionID, Kind: c.Kind, Lane: c.Lane, Input: json.RawMessage(c.Input),
		Priority: c.Priority, Tags: c.Tags, AttemptIndex: c.AttemptIndex, AttemptType: c.AttemptType,
		handle: c.Handle, w: w, resumed: c.ResumedSignals,
	}
}

// Handle returns the lease handle of the attempt, for calls the Task does
// not wrap.
func (t *Task) Handle() ff.Handle { return t.handle }

// Decode unmarshals the JSON input into v. An empty input decodes as
// JSON null, leaving v unchanged.
func (t *Task) Decode(v any) error {
	if len(t.Input) == 0 {
		return nil
	}
	if err := json.Unmarshal(t.Input, v); err != nil {
		return fmt.Errorf("decode input of %s: %w", t.ExecutionID, err)
	}
	return nil
}

// Progress reports progress (pct in [0, 100], or -1 to keep the stored
// percentage) under the lease. An error showing that the lease is gone
// also cancels the handler's context, as a failed renewal would, with the
// same cause (ErrExecutionCancelled when the execution was cancelled).
func (t *Task) Progress(ctx context.Context, pct int, msg string) error {
	err := t.w.transport.Progress(ctx, backend.ProgressParams{Handle: t.handle, Percent: pct, Message: msg})
	if err != nil {
		if cause := lostCause(err); cause != nil {
			t.lose(t.w.renewer.refine(t.w.ioCtx, t, cause))
		}
		return fmt.Errorf("progress of %s: %w", t.ExecutionID, err)
	}
	return nil
}

// Delay asks for the attempt to be parked until until; return its result
// from the handler:
//
//	return nil, t.Delay(time.Now().Add(time.Minute))
//
// The lease is released, the attempt is neither completed nor failed, and
// a claim after until resumes the same attempt (same AttemptIndex).
func (t *Task) Delay(until time.Time) error {
	t.mu.Lock()
	t.delayUntil = until
	t.mu.Unlock()
	return &DelayError{Until: until}
}

// leaseExpiry is the lease's expiry as the worker knows it.
func (t *Task) leaseExpiry() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.leaseEnd
}

// setLeaseExpiry records a new expiry (after a claim or a renewal).
func (t *Task) setLeaseExpiry(end time.Time) {
	t.mu.Lock()
	t.leaseEnd = end
	t.mu.Unlock()
}

func (t *Task) delayedUntil() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.delayUntil
}

// lose cancels the handler's context because the attempt is no longer
// owned; nothing will be reported for it.
func (t *Task) lose(cause error) {
	t.cancel(cause)
}

// lostCause returns the cause when the attempt's context ended because
// the lease or the execution is gone (not a shutdown or kill), else nil.
func (t *Task) lostCause() error {
	if cause := context.Cause(t.ctx); cause != nil && isOwnershipCause(cause) {
		return cause
	}
	return nil
}
