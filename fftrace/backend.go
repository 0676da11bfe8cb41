package fftrace

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// Backend is the tracing decorator of a backend.Backend. It records a
// span "ff.backend.<operation>" for the lifecycle and read operations,
// CancelExecution and CreateSchedule (the ones a request or a worker
// waits on); every other method (reconciler sweeps, flows, waitpoints,
// budgets, streams, the rest of the operator and schedule surface) passes
// straight through, inside the HTTP request's span when served. Its CreateExecution stores Tag, and its
// Claim records the per-task "ff.claim" spans (see the package comment).
type Backend struct {
	backend.Backend
	t trace.Tracer
}

var _ backend.Backend = (*Backend)(nil)

// Wrap returns b traced with tp, or b itself when tp is nil or the no-op
// provider (tracing off costs nothing).
func Wrap(b backend.Backend, tp trace.TracerProvider) backend.Backend {
	t := Tracer(tp)
	if t == nil {
		return b
	}
	return &Backend{Backend: b, t: t}
}

// Unwrap returns the wrapped backend.
func (b *Backend) Unwrap() backend.Backend { return b.Backend }

// span runs fn inside a span named for op.
func span[T any](b *Backend, ctx context.Context, op string, fn func(context.Context) (T, error), attrs ...attribute.KeyValue) (T, error) {
	ctx, s := b.t.Start(ctx, "ff.backend."+op, trace.WithAttributes(attrs...))
	v, err := fn(ctx)
	End(s, err)
	return v, err
}

// span0 is span for an operation that returns only an error.
func span0(b *Backend, ctx context.Context, op string, fn func(context.Context) error, attrs ...attribute.KeyValue) error {
	_, err := span(b, ctx, op, func(ctx context.Context) (struct{}, error) { return struct{}{}, fn(ctx) }, attrs...)
	return err
}

// batch runs a batch operation whose errors align with its entries; the
// span counts the entries and the failed ones.
func batch(b *Backend, ctx context.Context, op string, n int, fn func(context.Context) []error) []error {
	ctx, s := b.t.Start(ctx, "ff.backend."+op, trace.WithAttributes(AttrBatchSize.Int(n)))
	errs := fn(ctx)
	failed := 0
	for _, err := range errs {
		if err != nil {
			failed++
		}
	}
	s.SetAttributes(attribute.Int("ff.batch_failed", failed))
	s.End()
	return errs
}

// lease names the execution and attempt a handle is for.
func lease(h ff.Handle) []attribute.KeyValue {
	return []attribute.KeyValue{AttrExecutionID.String(h.Lease.ExecutionID.String()),
		AttrAttemptIndex.Int64(int64(h.Lease.AttemptIndex)), AttrLane.String(h.Lease.Lane)}
}

func execution(id ff.ExecutionID) attribute.KeyValue { return AttrExecutionID.String(id.String()) }

// CreateExecution records the create and stores Tag naming its span.
func (b *Backend) CreateExecution(ctx context.Context, p backend.CreateExecutionParams) (backend.CreateExecutionResult, error) {
	return span(b, ctx, "create_execution", func(ctx context.Context) (backend.CreateExecutionResult, error) {
		p.Tags = WithTag(ctx, p.Tags)
		res, err := b.Backend.CreateExecution(ctx, p)
		if err == nil {
			s := trace.SpanFromContext(ctx)
			s.SetAttributes(execution(res.ExecutionID), attribute.Bool("ff.duplicate", res.Duplicate))
		}
		return res, err
	}, AttrKind.String(p.Kind), AttrLane.String(p.Lane))
}

// Claim records a span only for a claim that returned tasks or failed
// (an idle poll, or one whose caller went away, records nothing), and one "ff.claim" span per task in the
// task's own trace; the task's Tag then names that span.
func (b *Backend) Claim(ctx context.Context, p backend.ClaimParams) ([]backend.ClaimedTask, error) {
	start := time.Now()
	tasks, err := b.Backend.Claim(ctx, p)
	if len(tasks) == 0 && (err == nil || ctx.Err() != nil) {
		return tasks, err // an idle poll, or one its caller abandoned
	}
	_, s := b.t.Start(ctx, "ff.backend.claim", trace.WithTimestamp(start),
		trace.WithAttributes(attribute.String("ff.worker_instance_id", p.WorkerInstanceID), AttrBatchSize.Int(len(tasks))))
	for i := range tasks {
		b.claimed(&tasks[i], s.SpanContext(), start)
	}
	End(s, err)
	return tasks, err
}

// claimed records the claim of one task under the trace its Tag names,
// linked to the claim call, and points the task's Tag at it.
func (b *Backend) claimed(t *backend.ClaimedTask, call trace.SpanContext, start time.Time) {
	// The task's trace is not the call's: the parent is the stored span
	// alone, in a fresh context (the call is a link).
	parent := ContextWithTraceparent(context.Background(), t.Tags[Tag])
	if !trace.SpanContextFromContext(parent).IsValid() {
		return
	}
	pctx, s := b.t.Start(parent, "ff.claim", trace.WithTimestamp(start), trace.WithLinks(trace.Link{SpanContext: call}),
		trace.WithAttributes(execution(t.ExecutionID), AttrKind.String(t.Kind), AttrLane.String(t.Lane),
			AttrAttemptIndex.Int64(int64(t.AttemptIndex)), attribute.String("ff.attempt_type", string(t.AttemptType))))
	t.Tags = WithTag(pctx, t.Tags)
	s.End()
}

func (b *Backend) Renew(ctx context.Context, p backend.RenewParams) (backend.LeaseRenewal, error) {
	return span(b, ctx, "renew", func(ctx context.Context) (backend.LeaseRenewal, error) { return b.Backend.Renew(ctx, p) },
		lease(p.Handle)...)
}

func (b *Backend) RenewMany(ctx context.Context, ps []backend.RenewParams) []backend.RenewResult {
	ctx, s := b.t.Start(ctx, "ff.backend.renew_many", trace.WithAttributes(AttrBatchSize.Int(len(ps))))
	defer s.End()
	return b.Backend.RenewMany(ctx, ps)
}

func (b *Backend) Progress(ctx context.Context, p backend.ProgressParams) error {
	return span0(b, ctx, "progress", func(ctx context.Context) error { return b.Backend.Progress(ctx, p) }, lease(p.Handle)...)
}

func (b *Backend) Complete(ctx context.Context, p backend.CompleteParams) error {
	return span0(b, ctx, "complete", func(ctx context.Context) error { return b.Backend.Complete(ctx, p) }, lease(p.Handle)...)
}

func (b *Backend) CompleteMany(ctx context.Context, ps []backend.CompleteParams) []error {
	return batch(b, ctx, "complete_many", len(ps), func(ctx context.Context) []error { return b.Backend.CompleteMany(ctx, ps) })
}

func (b *Backend) Fail(ctx context.Context, p backend.FailParams) (ff.FailOutcome, error) {
	return span(b, ctx, "fail", func(ctx context.Context) (ff.FailOutcome, error) {
		out, err := b.Backend.Fail(ctx, p)
		trace.SpanFromContext(ctx).SetAttributes(attribute.Bool("ff.retry_scheduled", out.RetryScheduled))
		return out, err
	}, lease(p.Handle)...)
}

func (b *Backend) Cancel(ctx context.Context, p backend.CancelParams) error {
	return span0(b, ctx, "cancel", func(ctx context.Context) error { return b.Backend.Cancel(ctx, p) }, lease(p.Handle)...)
}

func (b *Backend) Delay(ctx context.Context, p backend.DelayParams) error {
	return span0(b, ctx, "delay", func(ctx context.Context) error { return b.Backend.Delay(ctx, p) }, lease(p.Handle)...)
}

func (b *Backend) ReleaseClaims(ctx context.Context, ps []backend.ReleaseClaimParams) []error {
	return batch(b, ctx, "release_claims", len(ps), func(ctx context.Context) []error { return b.Backend.ReleaseClaims(ctx, ps) })
}

func (b *Backend) DescribeExecution(ctx context.Context, p backend.DescribeExecutionParams) (backend.ExecutionSnapshot, error) {
	return span(b, ctx, "describe_execution", func(ctx context.Context) (backend.ExecutionSnapshot, error) {
		return b.Backend.DescribeExecution(ctx, p)
	}, execution(p.ExecutionID))
}

func (b *Backend) ReadExecutionState(ctx context.Context, p backend.ReadExecutionStateParams) (ff.PublicState, error) {
	return span(b, ctx, "read_execution_state", func(ctx context.Context) (ff.PublicState, error) {
		return b.Backend.ReadExecutionState(ctx, p)
	}, execution(p.ExecutionID))
}

func (b *Backend) GetExecutionResult(ctx context.Context, p backend.GetExecutionResultParams) ([]byte, error) {
	return span(b, ctx, "get_execution_result", func(ctx context.Context) ([]byte, error) {
		return b.Backend.GetExecutionResult(ctx, p)
	}, execution(p.ExecutionID))
}

func (b *Backend) ListAttempts(ctx context.Context, p backend.ListAttemptsParams) ([]ff.Attempt, error) {
	return span(b, ctx, "list_attempts", func(ctx context.Context) ([]ff.Attempt, error) { return b.Backend.ListAttempts(ctx, p) })
}

func (b *Backend) ListExecutions(ctx context.Context, p backend.ListExecutionsParams) (backend.ExecutionPage, error) {
	return span(b, ctx, "list_executions", func(ctx context.Context) (backend.ExecutionPage, error) {
		return b.Backend.ListExecutions(ctx, p)
	})
}

func (b *Backend) ListLanes(ctx context.Context, p backend.ListLanesParams) (backend.LanePage, error) {
	return span(b, ctx, "list_lanes", func(ctx context.Context) (backend.LanePage, error) { return b.Backend.ListLanes(ctx, p) })
}

func (b *Backend) CancelExecution(ctx context.Context, p backend.CancelExecutionParams) (ff.PublicState, error) {
	return span(b, ctx, "cancel_execution", func(ctx context.Context) (ff.PublicState, error) {
		return b.Backend.CancelExecution(ctx, p)
	}, execution(p.ExecutionID))
}

func (b *Backend) CreateSchedule(ctx context.Context, p backend.CreateScheduleParams) (backend.CreateScheduleResult, error) {
	return span(b, ctx, "create_schedule", func(ctx context.Context) (backend.CreateScheduleResult, error) {
		return b.Backend.CreateSchedule(ctx, p)
	})
}
