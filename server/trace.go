package server

import (
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/flowfabric-go/flowfabric/fftrace"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

// WithTracerProvider records a server span per request (named "<method>
// <route>", a child of the request's traceparent header when it has one),
// whose context the route's backend calls run in. /healthz, /metrics and
// CORS preflights are not traced. A nil or no-op provider leaves tracing
// off (the default): no header is read and no span started.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(s *Server) { s.tracer = fftrace.Tracer(tp) }
}

// traced reports whether requests on route get a span.
func (s *Server) traced(route string) bool {
	return s.tracer != nil && route != "/healthz" && route != "/metrics"
}

// startSpan continues the caller's trace in a server span for r.
func (s *Server) startSpan(r *http.Request, route string) (*http.Request, trace.Span) {
	ctx := fftrace.ExtractHeader(r.Context(), r.Header)
	ctx, span := s.tracer.Start(ctx, r.Method+" "+route, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("http.request.method", r.Method), attribute.String("http.route", route),
			attribute.String("url.path", wire.Clip(r.URL.Path))))
	return r.WithContext(ctx), span
}

// endSpan ends a request span with the status the client got.
func endSpan(span trace.Span, status int) {
	span.SetAttributes(attribute.Int("http.response.status_code", status))
	if status >= 500 {
		span.SetStatus(codes.Error, http.StatusText(status))
	}
	span.End()
}
