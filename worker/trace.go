package worker

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/flowfabric-go/flowfabric/fftrace"
)

// handlerSpan starts the span of t's handler run, "ff.handler <kind>": a
// child of the span t's fftrace.Tag names (the claim, or the create when
// the engine did not rewrite it), else the root of a new trace. The
// returned context is t.ctx carrying the span; the span is nil, and the
// context t.ctx, when tracing is off.
func (w *Worker) handlerSpan(t *Task) (context.Context, trace.Span) {
	if w.tracer == nil {
		return t.ctx, nil
	}
	opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(
		fftrace.AttrExecutionID.String(t.ExecutionID.String()), fftrace.AttrKind.String(t.Kind), fftrace.AttrLane.String(t.Lane),
		fftrace.AttrAttemptIndex.Int64(int64(t.AttemptIndex)), attribute.String("ff.attempt_type", string(t.AttemptType)))}
	parent := fftrace.ContextWithTraceparent(t.ctx, t.Tags[fftrace.Tag])
	if !trace.SpanContextFromContext(parent).IsRemote() {
		opts = append(opts, trace.WithNewRoot())
	}
	ctx, span := w.tracer.Start(parent, "ff.handler "+t.Kind, opts...)
	t.span = span.SpanContext()
	return ctx, span
}

// endHandlerSpan ends a handler span (nil when off) with its outcome; a
// handler that asked for a delay did not fail.
func endHandlerSpan(span trace.Span, err error) {
	if span == nil {
		return
	}
	if errors.Is(err, ErrDelayed) {
		span.SetAttributes(attribute.Bool("ff.delayed", true))
		err = nil
	}
	fftrace.End(span, err)
}

// reportSpan starts the span of reporting t's outcome (op: complete,
// fail, delay), a child of its handler span, in ctx; the client sends it
// as the request's traceparent. With tracing off it returns ctx and a nil
// span.
func (w *Worker) reportSpan(ctx context.Context, t *Task, op string) (context.Context, trace.Span) {
	if w.tracer == nil || !t.span.IsValid() {
		return ctx, nil
	}
	return w.tracer.Start(trace.ContextWithSpanContext(ctx, t.span), "ff."+op, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(fftrace.AttrExecutionID.String(t.ExecutionID.String()), fftrace.AttrAttemptIndex.Int64(int64(t.AttemptIndex))))
}

// endReportSpan ends a report span (nil when off) with its error.
func endReportSpan(span trace.Span, err error) {
	if span != nil {
		fftrace.End(span, err)
	}
}
