package client_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/client"
)

// The client mirrors the seam's operator and event methods.
var _ interface {
	ChangePriority(context.Context, backend.ChangePriorityParams) error
	ReplayExecution(context.Context, backend.ReplayExecutionParams) (ff.PublicState, error)
	RevokeLease(context.Context, backend.RevokeLeaseParams) (backend.RevokeLeaseResult, error)
	SetLanePaused(context.Context, backend.SetLanePausedParams) (backend.LaneState, error)
	LaneStates(context.Context, backend.LaneStatesParams) ([]backend.LaneState, error)
	ReadEvents(context.Context, backend.ReadEventsParams) (backend.EventPage, error)
} = (*client.Client)(nil)

func (e *env) completeOne(t *testing.T, lane string) ff.ExecutionID {
	t.Helper()
	ctx := t.Context()
	res, err := e.c.CreateExecution(ctx, backend.CreateExecutionParams{Lane: lane, Kind: "k"})
	require.NoError(t, err)
	tasks, err := e.c.Claim(ctx, backend.ClaimParams{WorkerID: "w", Lanes: []string{lane}})
	require.NoError(t, err)
	require.Len(t, tasks, 1)
	require.NoError(t, e.c.Complete(ctx, backend.CompleteParams{Handle: tasks[0].Handle}))
	return res.ExecutionID
}

// The iterator follows the cursor across long-polls, and when the
// connection breaks it reads again from the last cursor: every event
// exactly once, in order.
func TestEventsIteratorFollowsAndReconnects(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	var calls atomic.Int32
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v1/events") && calls.Add(1)%3 == 2 {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				_ = conn.Close() // the connection drops mid-request
			}
			return
		}
		proxy(t, e.ts.URL, w, r)
	}))
	defer flaky.Close()
	c := client.New(flaky.URL)

	var want []ff.ExecutionID
	want = append(want, e.completeOne(t, "it"))
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	var got []ff.ExecutionID
	for ev, err := range c.Events(ctx, backend.ReadEventsParams{Types: []ff.EventType{ff.EventCompletion}, Limit: 1},
		client.FollowOptions{Wait: 200 * time.Millisecond, Backoff: time.Millisecond}) {
		require.NoError(t, err)
		got = append(got, ev.ExecutionID)
		if len(got) == 4 {
			break
		}
		want = append(want, e.completeOne(t, "it")) // the next one commits while we follow
	}
	require.Equal(t, want, got)
	require.GreaterOrEqual(t, calls.Load(), int32(5), "some reads broke and were retried")
}

// proxy forwards r to base.
func proxy(t *testing.T, base string, w http.ResponseWriter, r *http.Request) {
	req, err := http.NewRequestWithContext(r.Context(), r.Method, base+r.URL.RequestURI(), r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	req.Header = r.Header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			_, _ = w.Write(buf[:n])
		}
		if err != nil {
			return
		}
	}
}

func TestOperatorMethods(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	ctx := t.Context()
	res, err := e.c.CreateExecution(ctx, backend.CreateExecutionParams{Lane: "opc", Kind: "k"})
	require.NoError(t, err)
	id := res.ExecutionID
	require.NoError(t, e.c.ChangePriority(ctx, backend.ChangePriorityParams{ExecutionID: id, Priority: 42}))
	snap, err := e.c.DescribeExecution(ctx, backend.DescribeExecutionParams{ExecutionID: id})
	require.NoError(t, err)
	require.Equal(t, int32(42), snap.Priority)
	require.ErrorIs(t, e.c.ChangePriority(ctx, backend.ChangePriorityParams{ExecutionID: id, Priority: 9001}), ff.ErrInvalidInput)

	st, err := e.c.SetLanePaused(ctx, backend.SetLanePausedParams{Lane: "opc", Paused: true, Who: ff.Actor{Source: "me"}})
	require.NoError(t, err)
	require.True(t, st.Paused)
	states, err := e.c.LaneStates(ctx, backend.LaneStatesParams{})
	require.NoError(t, err)
	require.Len(t, states, 1)
	tasks, err := e.c.Claim(ctx, backend.ClaimParams{WorkerID: "w", Lanes: []string{"opc"}})
	require.NoError(t, err)
	require.Empty(t, tasks)
	_, err = e.c.SetLanePaused(ctx, backend.SetLanePausedParams{Lane: "opc"})
	require.NoError(t, err)

	tasks, err = e.c.Claim(ctx, backend.ClaimParams{WorkerID: "w", Lanes: []string{"opc"}})
	require.NoError(t, err)
	require.Len(t, tasks, 1)
	rv, err := e.c.RevokeLease(ctx, backend.RevokeLeaseParams{ExecutionID: id, Who: ff.Actor{Reason: "stuck"}})
	require.NoError(t, err)
	require.Equal(t, backend.RevokeLeaseResult{Revoked: true, LeaseEpoch: tasks[0].LeaseEpoch}, rv)
	require.ErrorIs(t, e.c.Complete(ctx, backend.CompleteParams{Handle: tasks[0].Handle}), ff.ErrLeaseRevoked)
	_, err = e.c.ReplayExecution(ctx, backend.ReplayExecutionParams{ExecutionID: id})
	require.ErrorIs(t, err, ff.ErrExecutionNotTerminal)
	_, err = e.c.CancelExecution(ctx, backend.CancelExecutionParams{ExecutionID: id})
	require.NoError(t, err)
	pub, err := e.c.ReplayExecution(ctx, backend.ReplayExecutionParams{ExecutionID: id})
	require.NoError(t, err)
	require.Equal(t, ff.PublicWaiting, pub)

	bulk, err := e.c.Bulk(ctx, backend.BulkParams{Lane: "opc", PublicState: ff.PublicWaiting, Action: backend.BulkCancel})
	require.NoError(t, err)
	require.Len(t, bulk.Items, 1)
	require.NoError(t, bulk.Items[0].Err)
	bulk, err = e.c.Bulk(ctx, backend.BulkParams{Lane: "opc", PublicState: ff.PublicCancelled, Action: backend.BulkReplay,
		Who: ff.Actor{Reason: "again"}})
	require.NoError(t, err)
	require.Equal(t, ff.PublicWaiting, bulk.Items[0].PublicState)

	page, err := e.c.ReadEvents(ctx, backend.ReadEventsParams{Types: []ff.EventType{ff.EventOperator}})
	require.NoError(t, err)
	var actions []string
	for _, ev := range page.Events {
		actions = append(actions, ev.Action)
	}
	require.Equal(t, []string{ff.OperatorPriorityChanged, ff.OperatorLanePaused, ff.OperatorLaneResumed, ff.OperatorLeaseRevoked,
		ff.OperatorCancelled, ff.OperatorReplayed, ff.OperatorCancelled, ff.OperatorReplayed}, actions)
}
