package fftrace_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/client"
	"github.com/flowfabric-go/flowfabric/ffserver"
	"github.com/flowfabric-go/flowfabric/fftrace"
	"github.com/flowfabric-go/flowfabric/internal/pgtest"
	"github.com/flowfabric-go/flowfabric/worker"
)

// stores are the two stores the end-to-end tests run on.
var stores = []struct {
	name string
	url  func(t *testing.T) string
}{
	{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "ff.db") }},
	{"postgres", func(t *testing.T) string { return pgtest.Schema(t) }},
}

// provider is a tracer provider of one "process" (its service name)
// exporting synchronously to exp, so every ended span is there at once.
func provider(t *testing.T, exp *tracetest.InMemoryExporter, service string) *sdktrace.TracerProvider {
	res := resource.NewSchemaless(attribute.String("service.name", service))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithResource(res))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp
}

// engine runs a server on url over real HTTP, traced with tp (nil: off).
func engine(t *testing.T, url string, tp trace.TracerProvider) (*ffserver.Server, *client.Client) {
	t.Helper()
	cfg := ffserver.Config{DatabaseURL: url, Migrate: ffserver.MigrateAlways, Addr: "127.0.0.1:0",
		DisableReconcilers: true, Logger: slog.New(slog.DiscardHandler),
		// A Postgres server refuses to start without a waitpoint signing key.
		WaitpointHMACSecret: strings.Repeat("ab", 32)}
	if tp != nil {
		cfg.TracerProvider = tp
	}
	srv, err := ffserver.Open(t.Context(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	require.NoError(t, srv.Start(t.Context()))
	t.Cleanup(func() { _ = srv.Stop(context.Background()) })
	return srv, client.New("http://" + srv.Addr().String())
}

// runOnce runs a remote worker over c until one "greet" execution has run
// and its outcome is reported, and returns the tags its handler saw.
func runOnce(t *testing.T, c *client.Client, tp trace.TracerProvider) map[string]string {
	t.Helper()
	cfg := worker.Config{WorkerID: "w1", PollBackoffMax: 20e6}
	if tp != nil {
		cfg.TracerProvider = tp
	}
	w, err := worker.New(c, cfg)
	require.NoError(t, err)
	seen := make(chan map[string]string, 1)
	w.Register("greet", func(ctx context.Context, task *worker.Task) (any, error) {
		_, inner := trace.SpanFromContext(ctx).TracerProvider().Tracer("app").Start(ctx, "app.work")
		inner.End()
		seen <- task.Tags
		return map[string]string{"hello": "world"}, nil
	})
	done := make(chan error, 1)
	go func() { done <- w.Run(context.Background()) }()
	tags := <-seen
	require.NoError(t, w.Stop(t.Context())) // returns once the outcome is reported
	require.NoError(t, <-done)
	return tags
}

// byName indexes spans by name. Spans of the traced execution are
// recorded once each; others (the worker's polls) may repeat, and are
// kept first-recorded only when they do not.
func byName(t *testing.T, spans tracetest.SpanStubs) map[string]tracetest.SpanStub {
	t.Helper()
	out, dup := map[string]tracetest.SpanStub{}, map[string]bool{}
	for _, s := range spans {
		if _, seen := out[s.Name]; seen {
			dup[s.Name] = true
		}
		out[s.Name] = s
	}
	for name := range dup {
		delete(out, name)
	}
	return out
}

// TestTraceAcrossProcesses submits through the client over HTTP to a
// traced server, runs a traced remote worker, and follows one trace from
// the submit to the complete: submit → POST /v1/executions →
// create_execution → ff.claim → ff.handler → ff.complete → POST
// /v1/tasks/complete → complete, each the parent of the next.
func TestTraceAcrossProcesses(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			exp := tracetest.NewInMemoryExporter()
			srv, c := engine(t, st.url(t), provider(t, exp, "server"))
			ctx, submit := provider(t, exp, "app").Tracer("app").Start(t.Context(), "submit")
			res, err := c.CreateExecution(ctx, backend.CreateExecutionParams{Kind: "greet", Input: []byte(`{}`),
				Tags: map[string]string{"app.order": "42"}})
			require.NoError(t, err)
			submit.End()

			tags := runOnce(t, c, provider(t, exp, "worker"))
			require.NoError(t, srv.Stop(t.Context())) // every request span has ended

			spans := byName(t, exp.GetSpans())
			chain := []string{"submit", "POST /v1/executions", "ff.backend.create_execution", "ff.claim",
				"ff.handler greet", "ff.complete", "POST /v1/tasks/complete", "ff.backend.complete"}
			trace := submit.SpanContext().TraceID()
			for i, name := range chain {
				s, ok := spans[name]
				require.True(t, ok, "span %q not recorded; got %v", name, names(exp.GetSpans()))
				require.Equal(t, trace, s.SpanContext.TraceID(), "span %q is in another trace", name)
				if i > 0 {
					require.Equal(t, spans[chain[i-1]].SpanContext.SpanID(), s.Parent.SpanID(),
						"parent of %q is not %q", name, chain[i-1])
				}
			}
			require.Equal(t, spans["ff.handler greet"].SpanContext.SpanID(), spans["app.work"].Parent.SpanID(),
				"the handler's context carries its span")
			require.Equal(t, "worker", service(spans["ff.handler greet"]))
			require.Equal(t, "server", service(spans["ff.claim"]))
			require.Contains(t, spans["ff.claim"].Attributes, fftrace.AttrExecutionID.String(res.ExecutionID.String()))

			// The claim span links to the claim call it was part of, a
			// child of the claim request's span, in another trace.
			require.Len(t, spans["ff.claim"].Links, 1)
			call := spanByID(exp.GetSpans(), spans["ff.claim"].Links[0].SpanContext.SpanID())
			require.Equal(t, "ff.backend.claim", call.Name)
			require.NotEqual(t, trace, call.SpanContext.TraceID())
			require.Equal(t, "POST /v1/workers/{worker_id}/claim", spanByID(exp.GetSpans(), call.Parent.SpanID()).Name)

			// Stored: the create span; handed to the worker: the claim span.
			snap, err := srv.Backend().DescribeExecution(t.Context(), backend.DescribeExecutionParams{ExecutionID: res.ExecutionID})
			require.NoError(t, err)
			require.Equal(t, traceparent(spans["ff.backend.create_execution"]), snap.Tags[fftrace.Tag])
			require.Equal(t, "42", snap.Tags["app.order"])
			require.Equal(t, traceparent(spans["ff.claim"]), tags[fftrace.Tag])
			require.Equal(t, ff.PublicCompleted, snap.PublicState)
		})
	}
}

// TestTracingOff runs the same path with tracing off on the server and
// the worker (the provider Start builds from an empty environment), while the caller's context does carry a span (so the
// client sends a traceparent): nothing but the caller's own span is
// recorded, and the execution gains no tag.
func TestTracingOff(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			exp := tracetest.NewInMemoryExporter()
			off, err := fftrace.Start(t.Context(), fftrace.ConfigFromEnv(func(string) string { return "" }))
			require.NoError(t, err)
			srv, c := engine(t, st.url(t), off)
			ctx, submit := provider(t, exp, "app").Tracer("app").Start(t.Context(), "submit")
			res, err := c.CreateExecution(ctx, backend.CreateExecutionParams{Kind: "greet"})
			require.NoError(t, err)
			submit.End()

			tags := runOnce(t, c, off)
			require.NoError(t, srv.Stop(t.Context()))

			require.Equal(t, []string{"submit"}, names(exp.GetSpans()))
			require.NotContains(t, tags, fftrace.Tag)
			snap, err := srv.Backend().DescribeExecution(t.Context(), backend.DescribeExecutionParams{ExecutionID: res.ExecutionID})
			require.NoError(t, err)
			require.Empty(t, snap.Tags)
			require.Equal(t, ff.PublicCompleted, snap.PublicState)
		})
	}
}

func spanByID(spans tracetest.SpanStubs, id trace.SpanID) tracetest.SpanStub {
	for _, s := range spans {
		if s.SpanContext.SpanID() == id {
			return s
		}
	}
	return tracetest.SpanStub{}
}

func names(spans tracetest.SpanStubs) []string {
	out := make([]string, 0, len(spans))
	for _, s := range spans {
		out = append(out, s.Name)
	}
	return out
}

func service(s tracetest.SpanStub) string {
	v, _ := s.Resource.Set().Value("service.name")
	return v.AsString()
}

// traceparent is the W3C form of s's span context.
func traceparent(s tracetest.SpanStub) string {
	return fftrace.Traceparent(trace.ContextWithSpanContext(context.Background(), s.SpanContext))
}

// TestTraceInProcess: a worker made by ffserver.NewWorker inherits the
// server's provider and calls the traced backend directly, so its
// complete span is the parent of the backend's.
func TestTraceInProcess(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := provider(t, exp, "embedded")
	srv, err := ffserver.Open(t.Context(), ffserver.Config{DatabaseURL: filepath.Join(t.TempDir(), "ff.db"),
		DisableReconcilers: true, Logger: slog.New(slog.DiscardHandler), TracerProvider: tp})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	w, err := srv.NewWorker(worker.Config{WorkerID: "w1"})
	require.NoError(t, err)
	ran := make(chan struct{})
	w.Register("greet", func(context.Context, *worker.Task) (any, error) { close(ran); return nil, nil })

	ctx, submit := tp.Tracer("app").Start(t.Context(), "submit")
	_, err = srv.Backend().CreateExecution(ctx, backend.CreateExecutionParams{Kind: "greet"})
	require.NoError(t, err)
	submit.End()
	require.NoError(t, srv.Start(t.Context()))
	<-ran
	require.NoError(t, srv.Stop(t.Context())) // drains the worker: its outcome is reported

	spans := byName(t, exp.GetSpans())
	chain := []string{"submit", "ff.backend.create_execution", "ff.claim", "ff.handler greet", "ff.complete", "ff.backend.complete"}
	for i, name := range chain[1:] {
		require.Contains(t, spans, name, "got %v", names(exp.GetSpans()))
		require.Equal(t, submit.SpanContext().TraceID(), spans[name].SpanContext.TraceID())
		require.Equal(t, spans[chain[i]].SpanContext.SpanID(), spans[name].Parent.SpanID(), "parent of %q", name)
	}
}

// TestTraceFailure: a failing handler's span records the error, and the
// fail report is its child, the parent of the backend's fail.
func TestTraceFailure(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := provider(t, exp, "embedded")
	srv, err := ffserver.Open(t.Context(), ffserver.Config{DatabaseURL: filepath.Join(t.TempDir(), "ff.db"),
		DisableReconcilers: true, Logger: slog.New(slog.DiscardHandler), TracerProvider: tp})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	w, err := srv.NewWorker(worker.Config{WorkerID: "w1"})
	require.NoError(t, err)
	ran := make(chan struct{})
	w.Register("boom", func(context.Context, *worker.Task) (any, error) {
		close(ran)
		return nil, worker.Permanent(errors.New("no such customer"))
	})
	_, err = srv.Backend().CreateExecution(t.Context(), backend.CreateExecutionParams{Kind: "boom"})
	require.NoError(t, err)
	require.NoError(t, srv.Start(t.Context()))
	<-ran
	require.NoError(t, srv.Stop(t.Context()))

	spans := byName(t, exp.GetSpans())
	h, f, bf := spans["ff.handler boom"], spans["ff.fail"], spans["ff.backend.fail"]
	require.Equal(t, codes.Error, h.Status.Code)
	require.Contains(t, h.Status.Description, "no such customer")
	require.Equal(t, h.SpanContext.SpanID(), f.Parent.SpanID())
	require.Equal(t, f.SpanContext.SpanID(), bf.Parent.SpanID())
	require.Equal(t, spans["ff.backend.create_execution"].SpanContext.TraceID(), bf.SpanContext.TraceID())
	require.Equal(t, codes.Unset, f.Status.Code, "the report itself succeeded")
}
