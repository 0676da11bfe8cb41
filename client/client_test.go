package client_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/backend/sqlite"
	"github.com/flowfabric-go/flowfabric/client"
	"github.com/flowfabric-go/flowfabric/internal/clock"
	"github.com/flowfabric-go/flowfabric/server"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

var epoch = time.UnixMilli(1_700_000_000_000)

type env struct {
	b     backend.Backend
	clock *clock.Fake
	ts    *httptest.Server
	c     *client.Client
}

// newEnv runs a real server over a SQLite file and returns a client for
// it; the server requires token when it is non-empty.
func newEnv(t *testing.T, token string, opts ...client.Option) *env {
	t.Helper()
	return newEnvOver(t, token, func(b backend.Backend) backend.Backend { return b }, opts...)
}

// newEnvOver is newEnv with the server running over wrap(b).
func newEnvOver(t *testing.T, token string, wrap func(backend.Backend) backend.Backend, opts ...client.Option) *env {
	t.Helper()
	fake := clock.NewFake(epoch)
	b, err := sqlite.Open(context.Background(), sqlite.Options{
		Path: filepath.Join(t.TempDir(), "ff.db"), Clock: fake, AutoMigrate: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	srv := server.New(server.Config{APIToken: token, Logger: slog.New(slog.DiscardHandler)}, wrap(b),
		server.WithClaimPollInterval(time.Hour))
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	if token != "" {
		opts = append([]client.Option{client.WithToken(token)}, opts...)
	}
	return &env{b: b, clock: fake, ts: ts, c: client.New(ts.URL, opts...)}
}

// The client mirrors the seam's method shapes: the whole lifecycle and
// reads, and the operator cancel, so the worker runs over HTTP unchanged.
var _ interface {
	backend.Lifecycle
	backend.Reads
	CancelExecution(context.Context, backend.CancelExecutionParams) (ff.PublicState, error)
} = (*client.Client)(nil)

func TestLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "tok")
	ctx := t.Context()
	require.NoError(t, e.c.Healthz(ctx))
	caps, err := e.c.Capabilities(ctx)
	require.NoError(t, err)
	require.True(t, caps.Supports.CreateExecution)

	res, err := e.c.CreateExecution(ctx, backend.CreateExecutionParams{Lane: "l", Kind: "k", Priority: 5,
		Input: []byte(`{"a":1}`), Tags: map[string]string{"app.x": "y"}, IdempotencyKey: "key-1",
		Policy: &ff.ExecutionPolicy{Retry: &ff.RetryPolicy{MaxRetries: 1, Backoff: ff.BackoffStrategy{Type: "fixed", DelayMs: 1000}}}})
	require.NoError(t, err)
	require.False(t, res.Duplicate)
	require.Equal(t, ff.PublicWaiting, res.PublicState)
	dup, err := e.c.CreateExecution(ctx, backend.CreateExecutionParams{Lane: "l", Kind: "k", IdempotencyKey: "key-1"})
	require.NoError(t, err)
	require.True(t, dup.Duplicate)
	require.Equal(t, res.ExecutionID, dup.ExecutionID)

	snap, err := e.c.DescribeExecution(ctx, backend.DescribeExecutionParams{ExecutionID: res.ExecutionID})
	require.NoError(t, err)
	require.Equal(t, res.ExecutionID, snap.ExecutionID)
	require.EqualValues(t, 5, snap.Priority)
	require.JSONEq(t, `{"retry_policy":{"max_retries":1,"backoff":{"type":"fixed","delay_ms":1000}}}`, string(snap.Policy))

	tasks, err := e.c.Claim(ctx, backend.ClaimParams{WorkerID: "w1", Lanes: []string{"l"}, LeaseTTL: 5000 * time.Millisecond})
	require.NoError(t, err)
	require.Len(t, tasks, 1)
	task := tasks[0]
	require.Equal(t, res.ExecutionID, task.ExecutionID)
	require.Equal(t, []byte(`{"a":1}`), task.Input)
	require.Equal(t, res.ExecutionID, task.Handle.Lease.ExecutionID)
	require.Equal(t, ff.AttemptInitial, task.AttemptType)
	require.Equal(t, epoch.UnixMilli()+5000, ff.MsFromTime(task.LeaseExpiresAt))
	require.Equal(t, map[string]string{"app.x": "y"}, task.Tags)

	require.NoError(t, e.c.Progress(ctx, backend.ProgressParams{Handle: task.Handle, Percent: 50, Message: "half"}))
	require.NoError(t, e.c.Progress(ctx, backend.ProgressParams{Handle: task.Handle, Percent: -1, Message: "still"}))
	snap, err = e.c.DescribeExecution(ctx, backend.DescribeExecutionParams{ExecutionID: res.ExecutionID})
	require.NoError(t, err)
	require.NotNil(t, snap.ProgressPct)
	require.Equal(t, 50, *snap.ProgressPct)
	require.Equal(t, "still", snap.ProgressMessage)

	e.clock.Advance(time.Second)
	ren, err := e.c.Renew(ctx, backend.RenewParams{Handle: task.Handle})
	require.NoError(t, err)
	require.Equal(t, epoch.UnixMilli()+1000+5000, ff.MsFromTime(ren.ExpiresAt))
	require.Equal(t, task.LeaseEpoch, ren.LeaseEpoch)

	out, err := e.c.Fail(ctx, backend.FailParams{Handle: task.Handle, Reason: "flaky", Classification: ff.FailureTransient})
	require.NoError(t, err)
	require.True(t, out.RetryScheduled)
	require.Equal(t, epoch.UnixMilli()+1000+1000, ff.MsFromTime(out.DelayUntil))
	st, err := e.c.ReadExecutionState(ctx, backend.ReadExecutionStateParams{ExecutionID: res.ExecutionID})
	require.NoError(t, err)
	require.Equal(t, ff.PublicDelayed, st)

	e.clock.Advance(2 * time.Second)
	_, err = e.b.PromoteDelayed(ctx, backend.SweepParams{Limit: 10})
	require.NoError(t, err)
	tasks, err = e.c.Claim(ctx, backend.ClaimParams{WorkerID: "w2", Lanes: []string{"l"}})
	require.NoError(t, err)
	require.Len(t, tasks, 1)
	require.Equal(t, ff.AttemptRetry, tasks[0].AttemptType)
	require.EqualValues(t, 1, tasks[0].AttemptIndex)

	_, err = e.c.GetExecutionResult(ctx, backend.GetExecutionResultParams{ExecutionID: res.ExecutionID})
	requireKind(t, err, ff.ClassNotFound, ff.ErrNotFound, false)

	require.NoError(t, e.c.Complete(ctx, backend.CompleteParams{Handle: tasks[0].Handle, Result: []byte(`{"ok":true}`)}))
	require.NoError(t, e.c.Complete(ctx, backend.CompleteParams{Handle: tasks[0].Handle, Result: []byte(`{"ok":true}`)}), "replay is safe")
	got, err := e.c.GetExecutionResult(ctx, backend.GetExecutionResultParams{ExecutionID: res.ExecutionID})
	require.NoError(t, err)
	require.Equal(t, `{"ok":true}`, string(got))

	atts, err := e.c.ListAttempts(ctx, backend.ListAttemptsParams{ExecutionID: res.ExecutionID})
	require.NoError(t, err)
	require.Len(t, atts, 2)
	require.Equal(t, ff.AttemptEndedFailure, atts[0].Lifecycle)
	require.Equal(t, ff.AttemptEndedSuccess, atts[1].Lifecycle)
	require.Equal(t, "w2", atts[1].WorkerID)

	// The old lease is fenced out: a state (or contention) error, typed.
	err = e.c.Complete(ctx, backend.CompleteParams{Handle: task.Handle})
	var fe *ff.Error
	require.ErrorAs(t, err, &fe)
	require.Contains(t, []ff.ErrorClass{ff.ClassState, ff.ClassContention}, fe.Class)
	require.False(t, fe.Retryable(), "a lost lease never comes back: %v", err)
}

func TestBinaryPayloads(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	ctx := t.Context()
	in := []byte{0, 1, 2, 0xff}
	res, err := e.c.CreateExecution(ctx, backend.CreateExecutionParams{Kind: "bin", Input: in})
	require.NoError(t, err)
	tasks, err := e.c.Claim(ctx, backend.ClaimParams{WorkerID: "w"})
	require.NoError(t, err)
	require.Len(t, tasks, 1)
	require.Equal(t, in, tasks[0].Input)
	out := []byte("plain text, not JSON")
	require.NoError(t, e.c.Complete(ctx, backend.CompleteParams{Handle: tasks[0].Handle, Result: out}))
	got, err := e.c.GetExecutionResult(ctx, backend.GetExecutionResultParams{ExecutionID: res.ExecutionID})
	require.NoError(t, err)
	require.Equal(t, out, got)

	// No input and no result travel as nothing.
	res2, err := e.c.CreateExecution(ctx, backend.CreateExecutionParams{Kind: "empty"})
	require.NoError(t, err)
	tasks, err = e.c.Claim(ctx, backend.ClaimParams{WorkerID: "w"})
	require.NoError(t, err)
	require.Empty(t, tasks[0].Input)
	require.NoError(t, e.c.Complete(ctx, backend.CompleteParams{Handle: tasks[0].Handle}))
	got, err = e.c.GetExecutionResult(ctx, backend.GetExecutionResultParams{ExecutionID: res2.ExecutionID})
	require.NoError(t, err)
	require.Empty(t, got)
}

func TestBatches(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	ctx := t.Context()
	for range 3 {
		_, err := e.c.CreateExecution(ctx, backend.CreateExecutionParams{Kind: "k", Lane: "b"})
		require.NoError(t, err)
	}
	tasks, err := e.c.Claim(ctx, backend.ClaimParams{WorkerID: "w", Lanes: []string{"b"}, Max: 5})
	require.NoError(t, err)
	require.Len(t, tasks, 3)

	require.NoError(t, e.c.Cancel(ctx, backend.CancelParams{Handle: tasks[1].Handle, Reason: "stop"}))
	rr := e.c.RenewMany(ctx, []backend.RenewParams{{Handle: tasks[0].Handle}, {Handle: tasks[1].Handle}, {Handle: tasks[2].Handle}})
	require.Len(t, rr, 3)
	require.NoError(t, rr[0].Err)
	require.Equal(t, tasks[0].LeaseEpoch, rr[0].Renewal.LeaseEpoch)
	require.Error(t, rr[1].Err, "the cancelled task has no lease")
	_, isFF := ff.AsError(rr[1].Err)
	require.True(t, isFF)
	require.NoError(t, rr[2].Err)

	errs := e.c.CompleteMany(ctx, []backend.CompleteParams{
		{Handle: tasks[0].Handle, Result: []byte(`1`)}, {Handle: tasks[1].Handle}, {Handle: tasks[2].Handle, Result: []byte(`3`)}})
	require.Len(t, errs, 3)
	require.NoError(t, errs[0])
	require.Error(t, errs[1])
	require.NoError(t, errs[2])
	for i, want := range map[int]string{0: "1", 2: "3"} {
		got, err := e.c.GetExecutionResult(ctx, backend.GetExecutionResultParams{ExecutionID: tasks[i].ExecutionID})
		require.NoError(t, err)
		require.Equal(t, want, string(got))
	}
	require.Empty(t, e.c.RenewMany(ctx, nil))
	require.Empty(t, e.c.CompleteMany(ctx, nil))
}

func TestDelayAndOperatorCancel(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	ctx := t.Context()
	res, err := e.c.CreateExecution(ctx, backend.CreateExecutionParams{Kind: "k"})
	require.NoError(t, err)
	tasks, err := e.c.Claim(ctx, backend.ClaimParams{WorkerID: "w"})
	require.NoError(t, err)
	require.NoError(t, e.c.Delay(ctx, backend.DelayParams{Handle: tasks[0].Handle, Until: ff.TimeFromMs(epoch.UnixMilli() + 10_000)}))
	st, err := e.c.ReadExecutionState(ctx, backend.ReadExecutionStateParams{ExecutionID: res.ExecutionID})
	require.NoError(t, err)
	require.Equal(t, ff.PublicDelayed, st)

	st, err = e.c.CancelExecution(ctx, backend.CancelExecutionParams{ExecutionID: res.ExecutionID, Reason: "ops"})
	require.NoError(t, err)
	require.Equal(t, ff.PublicCancelled, st)
	snap, err := e.c.DescribeExecution(ctx, backend.DescribeExecutionParams{ExecutionID: res.ExecutionID})
	require.NoError(t, err)
	require.Equal(t, "ops", snap.CancelReason)

	_, err = e.c.CancelExecution(ctx, backend.CancelExecutionParams{ExecutionID: ff.NewExecutionID("x")})
	requireKind(t, err, ff.ClassNotFound, ff.ErrNotFound, false)
}

func TestListings(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	ctx := t.Context()
	want := map[ff.ExecutionID]bool{}
	for i := range 5 {
		lane := "x"
		if i == 4 {
			lane = "y"
		}
		res, err := e.c.CreateExecution(ctx, backend.CreateExecutionParams{Kind: "k", Lane: lane})
		require.NoError(t, err)
		want[res.ExecutionID] = true
	}
	got := map[ff.ExecutionID]bool{}
	p := backend.ListExecutionsParams{Limit: 2}
	for range 10 {
		page, err := e.c.ListExecutions(ctx, p)
		require.NoError(t, err)
		for _, x := range page.Executions {
			got[x.ExecutionID] = true
		}
		if page.NextCursor == "" {
			break
		}
		p.Cursor = page.NextCursor
	}
	require.Equal(t, want, got)

	page, err := e.c.ListExecutions(ctx, backend.ListExecutionsParams{Lane: "y", PublicState: ff.PublicWaiting})
	require.NoError(t, err)
	require.Len(t, page.Executions, 1)
	part := page.Executions[0].ExecutionID.Partition
	page, err = e.c.ListExecutions(ctx, backend.ListExecutionsParams{Partition: &part, Lane: "y"})
	require.NoError(t, err)
	require.Len(t, page.Executions, 1)

	lanes, err := e.c.ListLanes(ctx, backend.ListLanesParams{Limit: 1})
	require.NoError(t, err)
	require.Len(t, lanes.Lanes, 1)
	require.Equal(t, "x", lanes.Lanes[0].Name)
	require.EqualValues(t, 4, lanes.Lanes[0].Counts[ff.PublicWaiting])
	lanes, err = e.c.ListLanes(ctx, backend.ListLanesParams{Cursor: lanes.NextCursor})
	require.NoError(t, err)
	require.Equal(t, "y", lanes.Lanes[0].Name)

	tagged, err := e.c.CreateExecution(ctx, backend.CreateExecutionParams{Kind: "k2", Lane: "x",
		Tags: map[string]string{"acme.team": "ops"}})
	require.NoError(t, err)
	for _, p := range []backend.ListExecutionsParams{{Kind: "k2"}, {Tag: backend.TagFilter{Key: "acme.team", Value: "ops"}}} {
		page, err = e.c.ListExecutions(ctx, p)
		require.NoError(t, err)
		require.Len(t, page.Executions, 1, "%+v", p)
		require.Equal(t, tagged.ExecutionID, page.Executions[0].ExecutionID)
	}
	page, err = e.c.ListExecutions(ctx, backend.ListExecutionsParams{FlowID: "0b9f5c9e-2f5e-4c43-9c1f-3f7c7f1d2a10"})
	require.NoError(t, err)
	require.Empty(t, page.Executions)

	_, err = e.c.ListExecutions(ctx, backend.ListExecutionsParams{Limit: 5000})
	requireKind(t, err, ff.ClassValidation, ff.ErrInvalidInput, false)
	_, err = e.c.ListExecutions(ctx, backend.ListExecutionsParams{Tag: backend.TagFilter{Key: "team", Value: "x"}})
	requireKind(t, err, ff.ClassValidation, ff.ErrInvalidTagKey, false)

	doc, err := e.c.OpenAPI(ctx)
	require.NoError(t, err)
	require.Contains(t, string(doc), `"openapi": "3.1.0"`)
}

// emptyClaims is a backend that signals each claim that found nothing.
type emptyClaims struct {
	backend.Backend
	empty chan struct{}
}

func (e *emptyClaims) Claim(ctx context.Context, p backend.ClaimParams) ([]backend.ClaimedTask, error) {
	tasks, err := e.Backend.Claim(ctx, p)
	if err == nil && len(tasks) == 0 {
		select {
		case e.empty <- struct{}{}:
		default:
		}
	}
	return tasks, err
}

func TestClaimWaitLongPolls(t *testing.T) {
	t.Parallel()
	spy := &emptyClaims{empty: make(chan struct{}, 1)}
	e := newEnvOver(t, "", func(b backend.Backend) backend.Backend { spy.Backend = b; return spy },
		client.WithClaimWait(20*time.Second))
	ctx := t.Context()
	type result struct {
		tasks []backend.ClaimedTask
		err   error
	}
	done := make(chan result, 1)
	go func() {
		tasks, err := e.c.Claim(ctx, backend.ClaimParams{WorkerID: "w", Lanes: []string{"slow"}})
		done <- result{tasks, err}
	}()
	// The server found nothing and waits (its poll interval is an hour):
	// only the create's wake-up can answer the claim now.
	select {
	case <-spy.empty:
	case <-time.After(15 * time.Second):
		t.Fatal("the long-poll claim never reached the backend")
	}
	res, err := e.c.CreateExecution(ctx, backend.CreateExecutionParams{Kind: "k", Lane: "slow"})
	require.NoError(t, err)
	select {
	case r := <-done:
		require.NoError(t, r.err)
		require.Len(t, r.tasks, 1)
		require.Equal(t, res.ExecutionID, r.tasks[0].ExecutionID)
	case <-time.After(15 * time.Second):
		t.Fatal("long-poll claim not woken")
	}

	// The wait is cut to fit the caller's deadline: the server answers
	// 204 before the context expires, so no error and no lost lease.
	dctx, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
	defer cancel()
	tasks, err := e.c.Claim(dctx, backend.ClaimParams{WorkerID: "w", Lanes: []string{"slow"}})
	require.NoError(t, err)
	require.Empty(t, tasks)
	require.NoError(t, dctx.Err())

	// Without wait, nothing claimable is an empty result, not an error.
	plain := client.New(e.ts.URL)
	tasks, err = plain.Claim(ctx, backend.ClaimParams{WorkerID: "w", Lanes: []string{"slow"}})
	require.NoError(t, err)
	require.Empty(t, tasks)
}

func TestTypedErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "tok")
	ctx := t.Context()

	_, err := e.c.DescribeExecution(ctx, backend.DescribeExecutionParams{ExecutionID: ff.NewExecutionID("x")})
	requireKind(t, err, ff.ClassNotFound, ff.ErrNotFound, false)
	require.ErrorIs(t, err, &ff.Error{Class: ff.ClassNotFound})

	_, err = e.c.CreateExecution(ctx, backend.CreateExecutionParams{Kind: "k", RequiredCapabilities: []string{"bad cap"}})
	requireKind(t, err, ff.ClassValidation, ff.ErrInvalidCapabilities, false)

	_, err = e.c.CreateExecution(ctx, backend.CreateExecutionParams{Kind: "k", Input: make([]byte, ff.MaxInputBytes+1)})
	requireKind(t, err, ff.ClassValidation, ff.ErrPayloadTooLarge, false)

	_, err = e.c.Claim(ctx, backend.ClaimParams{WorkerID: ""})
	requireKind(t, err, ff.ClassValidation, ff.ErrInvalidInput, false)

	noAuth := client.New(e.ts.URL)
	_, err = noAuth.Capabilities(ctx)
	requireKind(t, err, ff.ClassValidation, wire.ErrUnauthorized, false)
	require.NoError(t, noAuth.Healthz(ctx), "healthz needs no token")

	// A dead server is a retryable transport error.
	dead := httptest.NewServer(http.NotFoundHandler())
	url := dead.URL
	dead.Close()
	_, err = client.New(url).ReadExecutionState(ctx, backend.ReadExecutionStateParams{ExecutionID: ff.NewExecutionID("x")})
	requireKind(t, err, ff.ClassTransport, ff.ErrTransport, true)

	// A cancelled context is not retryable and keeps the context error.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = e.c.ReadExecutionState(cctx, backend.ReadExecutionStateParams{ExecutionID: ff.NewExecutionID("x")})
	require.ErrorIs(t, err, context.Canceled)
	require.False(t, ff.IsRetryable(err))

	// A non-JSON error page (a proxy) still yields a typed error.
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "<html>bad gateway</html>", http.StatusBadGateway)
	}))
	defer proxy.Close()
	err = client.New(proxy.URL).Healthz(ctx)
	requireKind(t, err, ff.ClassTransport, ff.ErrTransport, true)
}

func requireKind(t *testing.T, err error, class ff.ErrorClass, kind ff.ErrorKind, retryable bool) {
	t.Helper()
	require.Error(t, err)
	var fe *ff.Error
	require.True(t, errors.As(err, &fe), "not a *flowfabric.Error: %T %v", err, err)
	require.Equal(t, class, fe.Class, "%v", err)
	require.Equal(t, kind, fe.Kind, "%v", err)
	require.Equal(t, retryable, fe.Retryable(), "%v", err)
}
