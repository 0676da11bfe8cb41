package backendtest

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// Races between writers of one execution: whatever the interleaving, one
// transition wins, the loser gets a typed answer, and the effects (result,
// retry, event) happen once.

func init() {
	register("Race/CompleteReplayedConcurrently", testRaceCompleteReplay)
	register("Race/FailReplayedConcurrently", testRaceFailReplay)
	register("Race/CompleteVersusOperatorCancel", testRaceCompleteVersusCancel)
}

// runConcurrently runs fns at once and returns their errors in order.
func runConcurrently(fns ...func() error) []error {
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, len(fns))
	for i, fn := range fns {
		wg.Go(func() {
			<-start
			errs[i] = fn()
		})
	}
	close(start)
	wg.Wait()
	return errs
}

func testRaceCompleteReplay(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.createIn("rc")
	task := e.claim("rc")
	var fns []func() error
	for range 4 {
		fns = append(fns, func() error {
			return e.b.Complete(e.ctx, backend.CompleteParams{Handle: task.Handle, Result: []byte(`"r"`)})
		})
	}
	for i, err := range runConcurrently(fns...) {
		require.NoError(t, err, "complete %d: every replay of the winning call is reconciled", i)
	}
	e.state(id, ff.PublicCompleted)
	e.oneCompletion(id, ff.OutcomeSuccess)
	require.Len(t, e.attempts(id), 1)
}

func testRaceFailReplay(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.create(backend.CreateExecutionParams{Lane: "rf", Policy: retryPolicy(5, 1_000)})
	task := e.claim("rf")
	outs := make([]ff.FailOutcome, 4)
	var fns []func() error
	for i := range outs {
		fns = append(fns, func() error {
			var err error
			outs[i], err = e.b.Fail(e.ctx, backend.FailParams{Handle: task.Handle, Reason: "x"})
			return err
		})
	}
	for i, err := range runConcurrently(fns...) {
		require.NoError(t, err, "fail %d", i)
		require.True(t, outs[i].RetryScheduled, "fail %d", i)
	}
	s := e.state(id, ff.PublicDelayed)
	require.Equal(t, 1, s.RetryCount, "one retry scheduled, however many replays")
	require.Len(t, e.attempts(id), 1)
	require.Empty(t, e.completions())
}

func testRaceCompleteVersusCancel(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.createIn("rv")
	task := e.claim("rv")
	errs := runConcurrently(
		func() error {
			return e.b.Complete(e.ctx, backend.CompleteParams{Handle: task.Handle, Result: []byte(`1`)})
		},
		func() error {
			_, err := e.b.CancelExecution(e.ctx, backend.CancelExecutionParams{ExecutionID: id, Reason: "op"})
			return err
		},
	)
	s := e.consistent(id)
	switch s.PublicState {
	case ff.PublicCompleted:
		require.NoError(t, errs[0])
		requireKind(t, errs[1], ff.ErrExecutionNotActive)
		e.oneCompletion(id, ff.OutcomeSuccess)
	case ff.PublicCancelled:
		requireKind(t, errs[0], ff.ErrLeaseRevoked, "the cancel revoked the lease")
		require.NoError(t, errs[1])
		e.oneCompletion(id, ff.OutcomeCancelled)
		_, err := e.b.GetExecutionResult(e.ctx, backend.GetExecutionResultParams{ExecutionID: id})
		requireKind(t, err, ff.ErrNotFound)
	default:
		t.Fatalf("after complete raced cancel the execution is %s", s.PublicState)
	}
}
