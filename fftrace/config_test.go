package fftrace_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/fftrace"
)

func env(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }

func TestConfigFromEnvEnabled(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		on   bool
		bad  bool
	}{
		{"nothing set: off", nil, false, false},
		{"endpoint: on", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, true, false},
		{"traces endpoint: on", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}, true, false},
		{"exporter otlp without endpoint: on (default endpoint)", map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}, true, false},
		{"exporter none wins over endpoint", map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, false, false},
		{"sdk disabled wins", map[string]string{"OTEL_SDK_DISABLED": "TRUE", "OTEL_TRACES_EXPORTER": "otlp"}, false, false},
		{"unknown exporter refused", map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, false, true},
		{"grpc refused", map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, false, true},
		{"traces protocol wins", map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
			"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"}, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			on, err := fftrace.ConfigFromEnv(env(tc.env)).Enabled()
			require.Equal(t, tc.on, on)
			if tc.bad {
				require.ErrorIs(t, err, ff.ErrInvalidInput)
			} else {
				require.NoError(t, err)
			}
		})
	}
}

func TestStartOffIsNoop(t *testing.T) {
	p, err := fftrace.Start(t.Context(), fftrace.Config{})
	require.NoError(t, err)
	require.False(t, p.Enabled())
	require.IsType(t, noop.TracerProvider{}, p.TracerProvider)
	require.Nil(t, fftrace.Tracer(p))
	require.NoError(t, p.Shutdown(t.Context()))
}

func TestStartOn(t *testing.T) {
	// Nothing is exported (no span is ended), so no collector is needed.
	p, err := fftrace.Start(t.Context(), fftrace.Config{Endpoint: "http://127.0.0.1:1/", ServiceName: "svc"})
	require.NoError(t, err)
	require.True(t, p.Enabled())
	require.NotNil(t, fftrace.Tracer(p))
	require.NoError(t, p.Shutdown(t.Context()))

	_, err = fftrace.Start(t.Context(), fftrace.Config{Endpoint: "collector:4318"})
	require.ErrorIs(t, err, ff.ErrInvalidInput)
}

// TestWrapOff: with tracing off the backend is not wrapped at all.
func TestWrapOff(t *testing.T) {
	type store struct{ backend.Backend }
	b := &store{}
	require.Same(t, b, fftrace.Wrap(b, nil))
	require.Same(t, b, fftrace.Wrap(b, noop.NewTracerProvider()))
}

func traced(t *testing.T) context.Context {
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{2}, TraceFlags: trace.FlagsSampled})
	return trace.ContextWithSpanContext(t.Context(), sc)
}

func TestWithTag(t *testing.T) {
	ctx := traced(t)
	const want = "00-01000000000000000000000000000000-0200000000000000-01"
	require.Equal(t, want, fftrace.Traceparent(ctx))

	in := map[string]string{"app.x": "1"}
	out := fftrace.WithTag(ctx, in)
	require.Equal(t, map[string]string{"app.x": "1", fftrace.Tag: want}, out)
	require.Len(t, in, 1, "the caller's map is not modified")
	require.NoError(t, ff.ValidateTags(out))

	require.Nil(t, fftrace.WithTag(t.Context(), nil), "no span: no tag")
	require.Equal(t, want, fftrace.WithTag(ctx, map[string]string{fftrace.Tag: "forged"})[fftrace.Tag])

	full := map[string]string{}
	for i := range ff.MaxTags {
		full["app.k"+strings.Repeat("x", i)] = ""
	}
	require.NotContains(t, fftrace.WithTag(ctx, full), fftrace.Tag, "a full tag set is left as is")
	big := map[string]string{"app.big": strings.Repeat("v", ff.MaxTagBytes-len("app.big")-10)}
	require.NotContains(t, fftrace.WithTag(ctx, big), fftrace.Tag, "no room for the bytes")

	back := trace.SpanContextFromContext(fftrace.ContextWithTraceparent(context.Background(), want))
	require.True(t, back.IsRemote())
	require.Equal(t, trace.TraceID{1}, back.TraceID())
	require.False(t, trace.SpanContextFromContext(fftrace.ContextWithTraceparent(context.Background(), "garbage")).IsValid())
}
