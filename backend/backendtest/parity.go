package backendtest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// Rules that the stores once applied each in their own way, now one rule
// on the params type (Normalize) that both stores call.

func init() {
	register("Parity/FailClassification", testParityFailClassification)
	register("Parity/ReadCompletionsLimit", testParityReadCompletionsLimit)
	register("Parity/SweepLimit", testParitySweepLimit)
}

// Only the canonical classifications are accepted; a refused report
// writes nothing and leaves the lease usable.
func testParityFailClassification(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.create(backend.CreateExecutionParams{Lane: "fc", Policy: retryPolicy(3, 0)})
	task := e.claim("fc")
	for _, bad := range []ff.FailureClass{"PERMANENT", "Transient", "fatal", " permanent"} {
		_, err := e.b.Fail(e.ctx, backend.FailParams{Handle: task.Handle, Reason: "x", Classification: bad})
		requireKind(t, err, ff.ErrInvalidInput, "classification %q", bad)
	}
	s := e.state(id, ff.PublicActive)
	require.Equal(t, ff.OwnershipLeased, s.StateVector.OwnershipState, "a refused report writes nothing")
	require.Zero(t, s.RetryCount)

	out, err := e.b.Fail(e.ctx, backend.FailParams{Handle: task.Handle, Reason: "unclassified"})
	require.NoError(t, err)
	require.True(t, out.RetryScheduled, "an empty classification is transient")
	require.Equal(t, string(ff.FailureTransient), e.attempts(id)[0].FailureClass)

	out, err = e.b.Fail(e.ctx, backend.FailParams{Handle: e.claim("fc").Handle, Reason: "bad", Classification: ff.FailurePermanent})
	require.NoError(t, err)
	require.False(t, out.RetryScheduled, "permanent is not retried")
	require.Equal(t, string(ff.FailurePermanent), e.attempts(id)[1].FailureClass)
	e.state(id, ff.PublicFailed)
}

// A completion page follows the rule of every page: 0 means 100, and a
// limit outside [1, 1000] is refused.
func testParityReadCompletionsLimit(t *testing.T, h Harness) {
	e := newEnv(t, h)
	for range 101 {
		e.create(backend.CreateExecutionParams{Lane: "rl"})
	}
	p := claimParams("w1", "rl")
	p.Max = 101
	tasks, err := e.b.Claim(e.ctx, p)
	require.NoError(t, err)
	require.Len(t, tasks, 101)
	ps := make([]backend.CompleteParams, len(tasks))
	for i, task := range tasks {
		ps[i] = backend.CompleteParams{Handle: task.Handle}
	}
	for _, err := range e.b.CompleteMany(e.ctx, ps) {
		require.NoError(t, err)
	}
	for _, bad := range []int{-1, 1001} {
		_, err := e.b.ReadCompletions(e.ctx, backend.ReadCompletionsParams{Limit: bad})
		requireKind(t, err, ff.ErrInvalidInput, "limit %d", bad)
	}
	page, err := e.b.ReadCompletions(e.ctx, backend.ReadCompletionsParams{})
	require.NoError(t, err)
	require.Len(t, page.Events, 100, "limit 0 means 100")
	page, err = e.b.ReadCompletions(e.ctx, backend.ReadCompletionsParams{Limit: 1000})
	require.NoError(t, err)
	require.Len(t, page.Events, 101)
}

// Every sweep follows one batch rule: 0 means the default batch, and a
// limit outside [1, MaxSweepLimit] is refused.
func testParitySweepLimit(t *testing.T, h Harness) {
	e := newEnv(t, h)
	for name, sweep := range sweeps(e.b) {
		for _, bad := range []int{-1, backend.MaxSweepLimit + 1} {
			_, err := sweep(e.ctx, backend.SweepParams{Limit: bad})
			requireKind(t, err, ff.ErrInvalidInput, "%s with limit %d", name, bad)
		}
		for _, ok := range []int{0, 1, backend.MaxSweepLimit} {
			_, err := sweep(e.ctx, backend.SweepParams{Limit: ok})
			require.NoError(t, err, "%s with limit %d", name, ok)
		}
	}
}

// sweeps lists every batch sweep of the Maintenance interface.
func sweeps(b backend.Backend) map[string]func(context.Context, backend.SweepParams) (int, error) {
	return map[string]func(context.Context, backend.SweepParams) (int, error){
		"ExpireLeases":          b.ExpireLeases,
		"ExpireAttemptTimeouts": b.ExpireAttemptTimeouts,
		"ExpireDeadlines":       b.ExpireDeadlines,
		"PromoteDelayed":        b.PromoteDelayed,
		"ExpireIdempotencyKeys": b.ExpireIdempotencyKeys,
	}
}
