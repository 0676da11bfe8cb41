package fftrace_test

import (
	"context"
	"path/filepath"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/backend/sqlite"
	"github.com/flowfabric-go/flowfabric/fftrace"
)

// BenchmarkLifecycle measures one create → claim → complete on SQLite
// through fftrace.Wrap, tracing off (the store itself) and on (every span
// recorded, exported to a discarding exporter in batches).
//
//	go test -run '^$' -bench Lifecycle -benchtime 2000x ./fftrace/
func BenchmarkLifecycle(b *testing.B) {
	on := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()))
	defer func() { _ = on.Shutdown(context.Background()) }()
	for _, tc := range []struct {
		name string
		tp   trace.TracerProvider
	}{{"off", nil}, {"on", on}} {
		b.Run(tc.name, func(b *testing.B) {
			store, err := sqlite.Open(b.Context(), sqlite.Options{Path: filepath.Join(b.TempDir(), "ff.db"), AutoMigrate: true})
			if err != nil {
				b.Fatal(err)
			}
			defer store.Close()
			be := fftrace.Wrap(store, tc.tp)
			ctx := context.Background()
			if tc.tp != nil {
				var span trace.Span
				ctx, span = tc.tp.Tracer("bench").Start(ctx, "submit")
				defer span.End()
			}
			for b.Loop() {
				lifecycle(b, ctx, be)
			}
		})
	}
}

func lifecycle(b *testing.B, ctx context.Context, be backend.Backend) {
	if _, err := be.CreateExecution(ctx, backend.CreateExecutionParams{Kind: "k", Input: []byte(`{}`)}); err != nil {
		b.Fatal(err)
	}
	tasks, err := be.Claim(ctx, backend.ClaimParams{WorkerID: "w"})
	if err != nil || len(tasks) != 1 {
		b.Fatal(err, len(tasks))
	}
	if err := be.Complete(ctx, backend.CompleteParams{Handle: tasks[0].Handle, Result: []byte(`1`)}); err != nil {
		b.Fatal(err)
	}
}
