package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// WaitpointTransport is the part of a Transport that suspends and creates
// waitpoints. backend.Backend and *client.Client implement it; a
// Transport without it answers Task.Suspend and Task.CreateWaitpoint with
// unavailable.
type WaitpointTransport interface {
	Suspend(ctx context.Context, p backend.SuspendParams) (backend.SuspendOutcome, error)
	CreateWaitpoint(ctx context.Context, p backend.CreateWaitpointParams) (backend.WaitpointToken, error)
}

var _ WaitpointTransport = backend.Backend(nil)

// ErrSuspended is what a handler returns (through Task.Suspend) when its
// attempt suspended: nothing else is reported for it; a signal, the
// timeout or an operator resumes it, and the next claim runs the handler
// again on the same attempt with Task.ResumedSignals set.
var ErrSuspended = errors.New("worker: attempt suspended")

// SuspendedError is the error Task.Suspend returns once the attempt is
// suspended; errors.Is(err, ErrSuspended) holds for it.
type SuspendedError struct {
	SuspensionID string
	Waitpoints   []Waitpoint
	// alreadySatisfied: signals buffered on a pending waitpoint already
	// satisfied the condition; the lease is kept and the worker runs the
	// handler again at once.
	alreadySatisfied bool
}

func (e *SuspendedError) Error() string {
	if e.alreadySatisfied {
		return "worker: suspension already satisfied; the handler runs again"
	}
	return "worker: attempt suspended (" + e.SuspensionID + ")"
}

// Is makes a *SuspendedError match ErrSuspended.
func (e *SuspendedError) Is(target error) bool { return target == ErrSuspended }

// Waitpoint is a waitpoint of the task's execution with its token: hand
// ExecutionID, ID and Token to whoever will signal it (client.Signal, the
// flowfabric signal command, or a plain POST to
// /v1/executions/{id}/signal, which needs no API token).
type Waitpoint struct {
	ExecutionID ff.ExecutionID
	ID          string
	Key         string
	Token       string
}

// SuspendOption shapes a suspension (Task.Suspend).
type SuspendOption func(*suspendSpec)

type suspendSpec struct {
	req     ff.SuspendRequest
	timeout time.Duration
}

// ForSignal waits for a signal named name on the suspension's waitpoint.
func ForSignal(name string) SuspendOption {
	return ForCondition(ff.Condition{Type: ff.ConditionSingle, SignalName: name})
}

// ForAnySignal waits for any signal on the suspension's waitpoint (the
// default).
func ForAnySignal() SuspendOption { return ForCondition(ff.Condition{Type: ff.ConditionSingle}) }

// ForCount waits for n distinct signals, sources or waitpoints
// (ff.DistinctSignals, ff.DistinctSources, ff.DistinctWaitpoints) over all
// the suspension's waitpoints.
func ForCount(n int, distinct string) SuspendOption {
	return ForCondition(ff.Condition{Type: ff.ConditionCount, N: n, Distinct: distinct})
}

// ForOperator waits for an operator's resume only (with Timeout, the
// timeout behaviour applies if none comes).
func ForOperator() SuspendOption { return ForCondition(ff.Condition{Type: ff.ConditionOperatorOnly}) }

// ForCondition waits for any resume condition (DESIGN §5.1).
func ForCondition(c ff.Condition) SuspendOption {
	return func(s *suspendSpec) { s.req.Condition = &c }
}

// OnWaitpoints names the suspension's waitpoints: the key of a waitpoint
// made by Task.CreateWaitpoint activates it (its token stays valid); any
// other key makes a fresh one. Default: one fresh waitpoint.
func OnWaitpoints(keys ...string) SuspendOption {
	return func(s *suspendSpec) { s.req.WaitpointKeys = append(s.req.WaitpointKeys, keys...) }
}

// Timeout bounds the wait; at its end the timeout behaviour applies
// (OnTimeout; default fail).
func Timeout(d time.Duration) SuspendOption { return func(s *suspendSpec) { s.timeout = d } }

// OnTimeout sets what the timeout does: ff.TimeoutFail (default),
// ff.TimeoutCancel, ff.TimeoutExpire, or ff.TimeoutAutoResume (resume
// with a signal named "timeout").
func OnTimeout(b ff.TimeoutBehavior) SuspendOption {
	return func(s *suspendSpec) { s.req.TimeoutBehavior = b }
}

// Reason sets the reason code (waiting_for_signal by default;
// waiting_for_approval, waiting_for_callback, waiting_for_tool_result,
// waiting_for_operator_review, ...), which sets the blocking reason.
func Reason(code string) SuspendOption { return func(s *suspendSpec) { s.req.ReasonCode = code } }

// Suspend suspends the attempt until its condition is satisfied; return
// its result from the handler:
//
//	return nil, t.Suspend(worker.ForSignal("approve"), worker.Timeout(24*time.Hour))
//
// On success it returns a *SuspendedError (errors.Is(err, ErrSuspended)):
// the lease is released and nothing else is reported. When the next claim
// resumes the attempt the handler runs again with ResumedSignals set.
// When signals buffered on a pending waitpoint already satisfy the
// condition the lease is kept and the worker runs the handler again at
// once, with those signals. A refused suspension (a bad condition) is a
// permanent error; a lost lease is the usual report error.
func (t *Task) Suspend(opts ...SuspendOption) error {
	wt, ok := t.w.transport.(WaitpointTransport)
	if !ok {
		return Permanent(ff.Unavailable("suspend"))
	}
	spec := suspendSpec{req: ff.SuspendRequest{IdempotencyKey: "sdk:" + uuid.NewString()}}
	for _, o := range opts {
		o(&spec)
	}
	if spec.timeout > 0 {
		spec.req.TimeoutAtMs = ff.MsFromTime(t.w.clock.Now().Add(spec.timeout))
	}
	var out backend.SuspendOutcome
	err := t.w.keep(t.ctx, t, "suspend", func(ctx context.Context) (err error) {
		out, err = wt.Suspend(ctx, backend.SuspendParams{Handle: t.handle, Request: spec.req})
		return err
	})
	if err != nil {
		if errors.Is(err, ff.ClassValidation) {
			return Permanent(fmt.Errorf("suspend %s: %w", t.ExecutionID, err))
		}
		return fmt.Errorf("suspend %s: %w", t.ExecutionID, err)
	}
	if out.AlreadySatisfied {
		t.setResumed(out.Signals)
		return &SuspendedError{alreadySatisfied: true}
	}
	t.w.renewer.remove(t)
	se := &SuspendedError{SuspensionID: out.SuspensionID}
	for _, w := range out.Waitpoints {
		se.Waitpoints = append(se.Waitpoints, Waitpoint{ExecutionID: t.ExecutionID, ID: w.WaitpointID, Key: w.WaitpointKey, Token: w.Token})
	}
	return se
}

// CreateWaitpoint creates a pending waitpoint under the lease, to hand
// its token out before suspending on it (OnWaitpoints(key)); signals sent
// before the suspend are buffered. key "" mints one; expiresIn 0 never
// expires (an unused pending waitpoint closes with its attempt anyway).
// The same key again returns the same waitpoint.
func (t *Task) CreateWaitpoint(ctx context.Context, key string, expiresIn time.Duration) (Waitpoint, error) {
	wt, ok := t.w.transport.(WaitpointTransport)
	if !ok {
		return Waitpoint{}, ff.Unavailable("create_waitpoint")
	}
	p := backend.CreateWaitpointParams{Handle: t.handle, Key: key}
	if expiresIn > 0 {
		p.Expiry = t.w.clock.Now().Add(expiresIn)
	}
	var out backend.WaitpointToken
	err := t.w.keep(ctx, t, "create waitpoint", func(ctx context.Context) (err error) {
		out, err = wt.CreateWaitpoint(ctx, p)
		return err
	})
	if err != nil {
		return Waitpoint{}, fmt.Errorf("create waitpoint on %s: %w", t.ExecutionID, err)
	}
	return Waitpoint{ExecutionID: t.ExecutionID, ID: out.WaitpointID, Key: out.WaitpointKey, Token: out.Token}, nil
}

// ResumedSignals are the signals that satisfied the suspension this run
// resumes (oldest first), or nil when the attempt did not resume one (a
// first run, or a resume by an operator).
func (t *Task) ResumedSignals() []ff.Signal {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.resumed
}

// ResumedSignal returns the first resumed signal named name.
func (t *Task) ResumedSignal(name string) (ff.Signal, bool) {
	for _, s := range t.ResumedSignals() {
		if s.Name == name {
			return s, true
		}
	}
	return ff.Signal{}, false
}

func (t *Task) setResumed(ss []ff.Signal) {
	t.mu.Lock()
	t.resumed = ss
	t.mu.Unlock()
}

// maxImmediateReruns bounds the reruns of a handler whose suspensions
// are already satisfied, so that a handler that always suspends on
// already-delivered signals cannot spin.
const maxImmediateReruns = 8

// alreadySatisfied reports whether err is a suspension that kept the
// lease (the handler runs again).
func alreadySatisfied(err error) bool {
	var se *SuspendedError
	return errors.As(err, &se) && se.alreadySatisfied
}
