package fftrace

import (
	"context"
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	ff "github.com/flowfabric-go/flowfabric"
)

// Tag is the execution tag that carries the W3C traceparent of the span
// that created the execution (in a claimed task: of its claim span). The
// "ff." prefix marks tags FlowFabric sets itself.
const Tag = "ff.traceparent"

// InstrumentationName names the tracer FlowFabric's spans come from.
const InstrumentationName = "github.com/flowfabric-go/flowfabric"

// Attribute keys FlowFabric's spans carry.
const (
	AttrExecutionID  = attribute.Key("ff.execution_id")
	AttrLane         = attribute.Key("ff.lane")
	AttrKind         = attribute.Key("ff.kind")
	AttrAttemptIndex = attribute.Key("ff.attempt_index")
	AttrBatchSize    = attribute.Key("ff.batch_size")
	AttrErrorKind    = attribute.Key("ff.error_kind")
)

// traceparentKey is the W3C header (and carrier key) name.
const traceparentKey = "traceparent"

// Tracer returns the FlowFabric tracer of tp, or nil when tp is nil or
// the no-op provider (also inside a *Provider of an off Config): callers
// skip tracing altogether on nil.
func Tracer(tp trace.TracerProvider) trace.Tracer {
	if p, ok := tp.(*Provider); ok {
		tp = p.TracerProvider
	}
	if tp == nil {
		return nil
	}
	if _, ok := tp.(noop.TracerProvider); ok {
		return nil
	}
	return tp.Tracer(InstrumentationName)
}

// Traceparent returns the W3C traceparent of ctx's span, or "" when ctx
// carries no valid span context.
func Traceparent(ctx context.Context) string {
	c := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, c)
	return c[traceparentKey]
}

// ContextWithTraceparent returns ctx with the remote span context that
// traceparent names as its parent; ctx unchanged when traceparent is
// empty or malformed.
func ContextWithTraceparent(ctx context.Context, traceparent string) context.Context {
	if traceparent == "" {
		return ctx
	}
	return propagation.TraceContext{}.Extract(ctx, propagation.MapCarrier{traceparentKey: traceparent})
}

// WithTag returns tags with Tag naming ctx's span. tags itself is never
// modified: a copy is returned. It returns tags unchanged when ctx has no
// valid span, or when one more tag would break ff.MaxTags or
// ff.MaxTagBytes (the trace link is lost rather than the create refused).
// A caller's own value of Tag is replaced.
func WithTag(ctx context.Context, tags map[string]string) map[string]string {
	tp := Traceparent(ctx)
	if tp == "" {
		return tags
	}
	if !fits(tags, tp) {
		return tags
	}
	out := make(map[string]string, len(tags)+1)
	for k, v := range tags {
		out[k] = v
	}
	out[Tag] = tp
	return out
}

// fits reports whether tags with Tag set to tp stay within ff.MaxTags and
// ff.MaxTagBytes (counted as ff.ValidateTags counts them).
func fits(tags map[string]string, tp string) bool {
	size, n := 0, len(tags)
	for k, v := range tags {
		size += len(k) + len(v)
	}
	if old, had := tags[Tag]; had {
		size -= len(Tag) + len(old)
		n--
	}
	return n+1 <= ff.MaxTags && size+len(Tag)+len(tp) <= ff.MaxTagBytes
}

// InjectHeader sets the traceparent header from ctx's span, if any.
func InjectHeader(ctx context.Context, h http.Header) {
	propagation.TraceContext{}.Inject(ctx, propagation.HeaderCarrier(h))
}

// ExtractHeader returns ctx with the remote parent named by h's
// traceparent header, if any.
func ExtractHeader(ctx context.Context, h http.Header) context.Context {
	return propagation.TraceContext{}.Extract(ctx, propagation.HeaderCarrier(h))
}

// End records err on span (status error, the error kind for a typed
// *flowfabric.Error) and ends it.
func End(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
		if k := ff.KindOf(err); k != "" {
			span.SetAttributes(AttrErrorKind.String(string(k)))
		}
	}
	span.End()
}
