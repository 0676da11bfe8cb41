package client_test

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/client"
)

// ReleaseClaims gives back unstarted leases over POST /v1/tasks/release:
// the execution is claimable again at once, the next claim resumes the
// same attempt, and a lease already gone fails alone.
func TestReleaseClaims(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "tok")
	ctx := t.Context()
	var ids []ff.ExecutionID
	for range 2 {
		res, err := e.c.CreateExecution(ctx, backend.CreateExecutionParams{Kind: "k", Lane: "rel"})
		require.NoError(t, err)
		ids = append(ids, res.ExecutionID)
	}
	tasks, err := e.c.Claim(ctx, backend.ClaimParams{WorkerID: "w", Lanes: []string{"rel"}, LeaseTTL: time.Minute, Max: 2})
	require.NoError(t, err)
	require.Len(t, tasks, 2)
	require.NoError(t, e.c.Complete(ctx, backend.CompleteParams{Handle: tasks[1].Handle}))

	errs := e.c.ReleaseClaims(ctx, []backend.ReleaseClaimParams{{Handle: tasks[0].Handle}, {Handle: tasks[1].Handle}})
	require.Len(t, errs, 2)
	require.NoError(t, errs[0])
	require.Error(t, errs[1], "a lease already gone fails alone")

	st, err := e.c.ReadExecutionState(ctx, backend.ReadExecutionStateParams{ExecutionID: tasks[0].ExecutionID})
	require.NoError(t, err)
	require.Equal(t, ff.PublicWaiting, st, "claimable again at once")
	again, err := e.c.Claim(ctx, backend.ClaimParams{WorkerID: "w", Lanes: []string{"rel"}, LeaseTTL: time.Minute})
	require.NoError(t, err)
	require.Len(t, again, 1)
	require.Equal(t, tasks[0].ExecutionID, again[0].ExecutionID)
	require.Equal(t, tasks[0].AttemptIndex, again[0].AttemptIndex, "the same attempt, no reclaim")
	require.Equal(t, ff.AttemptResume, again[0].AttemptType, "reported over HTTP as resume")

	require.Empty(t, e.c.ReleaseClaims(ctx, nil))
}

// The client refuses a classification outside the canonical set before
// sending anything; canonical ones are sent.
func TestFailRefusesUnknownClassification(t *testing.T) {
	t.Parallel()
	var requests atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		requests.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"retry_scheduled":false}`))
	}))
	t.Cleanup(ts.Close)
	c := client.New(ts.URL)
	h := ff.Handle{Lease: ff.Lease{ExecutionID: ff.NewExecutionID("default")}}
	for _, class := range []ff.FailureClass{"PERMANENT", "fatal", "transient ", "retry"} {
		_, err := c.Fail(t.Context(), backend.FailParams{Handle: h, Reason: "x", Classification: class})
		require.ErrorIs(t, err, ff.ErrInvalidInput, "%q", class)
	}
	require.Zero(t, requests.Load(), "nothing was sent")
	for _, class := range append([]ff.FailureClass{""}, ff.FailureClasses...) {
		_, err := c.Fail(t.Context(), backend.FailParams{Handle: h, Reason: "x", Classification: class})
		require.NoError(t, err, "%q", class)
	}
	require.EqualValues(t, 1+len(ff.FailureClasses), requests.Load())
}
