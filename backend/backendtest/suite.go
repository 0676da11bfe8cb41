package backendtest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// conformanceTest is one behaviour every backend must show.
type conformanceTest struct {
	name string
	fn   func(t *testing.T, h Harness)
}

// tests lists the suite; each area file appends its tests here in init.
var tests []conformanceTest

func register(name string, fn func(t *testing.T, h Harness)) {
	tests = append(tests, conformanceTest{name: name, fn: fn})
}

// Run runs the whole suite against backends built by f, each test in
// parallel on its own isolated store.
func Run(t *testing.T, f Factory) {
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, f(t))
		})
	}
}

// Epoch is the fake clock's starting time in every harness.
var Epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func init() {
	register("Smoke/CreateClaimComplete", func(t *testing.T, h Harness) {
		ctx := ctxT(t)
		b := h.Backend
		created, err := b.CreateExecution(ctx, backend.CreateExecutionParams{Lane: "smoke", Kind: "echo", Input: []byte(`{"x":1}`)})
		require.NoError(t, err)
		require.Equal(t, ff.PublicWaiting, created.PublicState)
		tasks, err := b.Claim(ctx, backend.ClaimParams{WorkerID: "w1", Lanes: []string{"smoke"}, LeaseTTL: 10_000 * time.Millisecond})
		require.NoError(t, err)
		require.Len(t, tasks, 1)
		require.Equal(t, created.ExecutionID, tasks[0].ExecutionID)
		require.Equal(t, `{"x":1}`, string(tasks[0].Input))
		require.NoError(t, b.Complete(ctx, backend.CompleteParams{Handle: tasks[0].Handle, Result: []byte(`"ok"`)}))
		res, err := b.GetExecutionResult(ctx, backend.GetExecutionResultParams{ExecutionID: created.ExecutionID})
		require.NoError(t, err)
		require.Equal(t, `"ok"`, string(res))
		st, err := b.ReadExecutionState(ctx, backend.ReadExecutionStateParams{ExecutionID: created.ExecutionID})
		require.NoError(t, err)
		require.Equal(t, ff.PublicCompleted, st)
	})
}
