package backendtest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// A call whose context is done fails with the same error on every store:
// canceled (a client abort) for a canceled context, timeout for a
// deadline that passed; neither is retryable, both keep the context's
// error as their cause, and nothing is written.

func init() {
	register("Context/CanceledIsTheSameEverywhere", func(t *testing.T, h Harness) {
		testContextDone(t, h, context.Canceled, ff.ErrCanceled)
	})
	register("Context/DeadlineIsTheSameEverywhere", func(t *testing.T, h Harness) {
		testContextDone(t, h, context.DeadlineExceeded, ff.ErrTimeout)
	})
}

// doneContext returns a context already ended with cause.
func doneContext(t *testing.T, cause error) context.Context {
	if errors.Is(cause, context.DeadlineExceeded) {
		ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
		t.Cleanup(cancel)
		return ctx
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

func testContextDone(t *testing.T, h Harness, cause error, kind ff.ErrorKind) {
	e := newEnv(t, h)
	id := e.createIn("ctx")
	task := e.claim("ctx")
	e.createIn("ctx")
	b := e.b
	calls := map[string]func(ctx context.Context) error{
		"CreateExecution": func(ctx context.Context) error {
			_, err := b.CreateExecution(ctx, backend.CreateExecutionParams{Lane: "ctx", Kind: "k"})
			return err
		},
		"Claim": func(ctx context.Context) error {
			_, err := b.Claim(ctx, claimParams("w2", "ctx"))
			return err
		},
		"Renew": func(ctx context.Context) error {
			_, err := b.Renew(ctx, backend.RenewParams{Handle: task.Handle})
			return err
		},
		"CompleteMany": func(ctx context.Context) error {
			return b.CompleteMany(ctx, []backend.CompleteParams{{Handle: task.Handle}})[0]
		},
		"Fail": func(ctx context.Context) error {
			_, err := b.Fail(ctx, backend.FailParams{Handle: task.Handle, Reason: "x"})
			return err
		},
		"ReleaseClaims": func(ctx context.Context) error {
			return b.ReleaseClaims(ctx, []backend.ReleaseClaimParams{{Handle: task.Handle}})[0]
		},
		"CancelExecution": func(ctx context.Context) error {
			_, err := b.CancelExecution(ctx, backend.CancelExecutionParams{ExecutionID: id})
			return err
		},
		"DescribeExecution": func(ctx context.Context) error {
			_, err := b.DescribeExecution(ctx, backend.DescribeExecutionParams{ExecutionID: id})
			return err
		},
		"ListExecutions": func(ctx context.Context) error {
			_, err := b.ListExecutions(ctx, backend.ListExecutionsParams{})
			return err
		},
		"ReadCompletions": func(ctx context.Context) error {
			_, err := b.ReadCompletions(ctx, backend.ReadCompletionsParams{})
			return err
		},
		"ExpireLeases": func(ctx context.Context) error {
			_, err := b.ExpireLeases(ctx, backend.SweepParams{})
			return err
		},
	}
	for name, call := range calls {
		err := call(doneContext(t, cause))
		requireKind(t, err, kind, name)
		require.ErrorIs(t, err, ff.ClassTimeout, name)
		require.ErrorIs(t, err, cause, "%s keeps the context's error as its cause", name)
		require.False(t, ff.IsRetryable(err), "%s: a done context is not retryable", name)
	}
	s := e.state(id, ff.PublicActive)
	require.Equal(t, task.LeaseEpoch, s.Lease.Epoch, "nothing was written")
	require.Len(t, e.listAll(backend.ListExecutionsParams{}), 2)
	require.NoError(t, b.Complete(e.ctx, backend.CompleteParams{Handle: task.Handle}))
}
