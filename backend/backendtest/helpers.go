package backendtest

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// defaultTTL is the lease TTL most tests claim with.
const defaultTTL int64 = 10_000

// env is one test's view of its harness. Its helpers fail the test on the
// first unexpected result, so test bodies read as a sequence of
// transitions. Helpers must be called from the test goroutine only.
type env struct {
	t   *testing.T
	ctx context.Context
	h   Harness
	b   backend.Backend
}

func newEnv(t *testing.T, h Harness) *env {
	return &env{t: t, ctx: ctxT(t), h: h, b: h.Backend}
}

// now is the harness clock as Unix milliseconds.
func (e *env) now() int64 { return e.h.Clock.Now().UnixMilli() }

// advance moves the harness clock forward by ms milliseconds.
func (e *env) advance(ms int64) { e.h.Clock.Advance(time.Duration(ms) * time.Millisecond) }

func ptr[T any](v T) *T { return &v }

// requireKind asserts err is an engine error of the given stable kind.
func requireKind(t *testing.T, err error, kind ff.ErrorKind, msgAndArgs ...any) {
	t.Helper()
	require.Error(t, err, msgAndArgs...)
	_, isEngine := ff.AsError(err)
	require.Truef(t, isEngine, "want *flowfabric.Error of kind %q, got %T: %v", kind, err, err)
	require.ErrorIsf(t, err, kind, "error %q: want kind %q", err, kind)
}

// create creates an execution (kind defaults to "test.kind") and checks
// it is consistent.
func (e *env) create(p backend.CreateExecutionParams) ff.ExecutionID {
	e.t.Helper()
	if p.Kind == "" {
		p.Kind = "test.kind"
	}
	res, err := e.b.CreateExecution(e.ctx, p)
	require.NoError(e.t, err)
	require.False(e.t, res.ExecutionID.IsZero(), "created execution has no id")
	require.False(e.t, res.Duplicate, "fresh create reported as duplicate")
	e.consistent(res.ExecutionID)
	return res.ExecutionID
}

// createIn creates a plain execution on lane.
func (e *env) createIn(lane string) ff.ExecutionID {
	e.t.Helper()
	return e.create(backend.CreateExecutionParams{Lane: lane})
}

// claimParams returns claim params for one worker on lane.
func claimParams(worker, lane string) backend.ClaimParams {
	return backend.ClaimParams{WorkerID: worker, Lanes: []string{lane}, LeaseTTL: time.Duration(defaultTTL) * time.Millisecond, Max: 1}
}

// claimWith claims with p and requires exactly one task.
func (e *env) claimWith(p backend.ClaimParams) backend.ClaimedTask {
	e.t.Helper()
	tasks, err := e.b.Claim(e.ctx, p)
	require.NoError(e.t, err)
	require.Len(e.t, tasks, 1, "want exactly one claimed task")
	task := tasks[0]
	require.Equal(e.t, task.ExecutionID, task.Handle.Lease.ExecutionID)
	require.Equal(e.t, task.LeaseEpoch, task.Handle.Lease.LeaseEpoch)
	require.Equal(e.t, task.AttemptIndex, task.Handle.Lease.AttemptIndex)
	require.Equal(e.t, task.AttemptID, task.Handle.Lease.AttemptID)
	s := e.consistent(task.ExecutionID)
	require.Equal(e.t, ff.PublicActive, s.PublicState)
	require.Equal(e.t, ff.OwnershipLeased, s.StateVector.OwnershipState)
	return task
}

// claim claims one execution on lane as worker "w1".
func (e *env) claim(lane string) backend.ClaimedTask {
	e.t.Helper()
	return e.claimWith(claimParams("w1", lane))
}

// claimNoneWith requires that nothing is claimable for p.
func (e *env) claimNoneWith(p backend.ClaimParams) {
	e.t.Helper()
	tasks, err := e.b.Claim(e.ctx, p)
	require.NoError(e.t, err)
	require.Empty(e.t, tasks, "want nothing claimable")
}

// claimNone requires that nothing is claimable on lane.
func (e *env) claimNone(lane string) {
	e.t.Helper()
	e.claimNoneWith(claimParams("w1", lane))
}

// consistent reads id and asserts spec §9.7 item 13: the stored public
// state equals the derived one and none of V1-V10 holds; it also checks
// that the snapshot agrees with ReadExecutionState and that the lease
// summary agrees with the ownership dimension.
func (e *env) consistent(id ff.ExecutionID) backend.ExecutionSnapshot {
	e.t.Helper()
	return requireConsistent(e.t, e.ctx, e.b, id)
}

// requireConsistent is the free form of env.consistent.
func requireConsistent(t *testing.T, ctx context.Context, b backend.Backend, id ff.ExecutionID) backend.ExecutionSnapshot {
	t.Helper()
	s, err := b.DescribeExecution(ctx, backend.DescribeExecutionParams{ExecutionID: id})
	require.NoError(t, err)
	require.Equal(t, id, s.ExecutionID)
	v := s.StateVector
	require.NoError(t, v.Check(), "state vector %s", v)
	require.Equal(t, v.PublicState, s.PublicState, "snapshot public_state differs from the vector's")
	st, err := b.ReadExecutionState(ctx, backend.ReadExecutionStateParams{ExecutionID: id})
	require.NoError(t, err)
	require.Equal(t, s.PublicState, st, "ReadExecutionState disagrees with DescribeExecution")
	switch {
	case v.OwnershipState == ff.OwnershipLeased:
		require.NotNil(t, s.Lease, "leased execution without lease summary")
		require.NotEmpty(t, s.Lease.LeaseID, "leased execution without lease id")
		require.Positive(t, s.Lease.Epoch)
		require.NotNil(t, s.CurrentAttempt, "leased execution without current attempt")
	case v.LifecyclePhase == ff.PhaseTerminal || v.LifecyclePhase == ff.PhaseRunnable:
		if s.Lease != nil {
			require.Empty(t, s.Lease.LeaseID, "%s execution still names a lease", v.LifecyclePhase)
		}
	}
	if s.CurrentAttempt != nil {
		require.Less(t, s.CurrentAttempt.Index, s.AttemptCount, "current attempt index beyond attempt count")
	}
	if v.LifecyclePhase == ff.PhaseTerminal {
		require.Equal(t, v.AttemptState == ff.AttemptStateNone, s.AttemptCount == 0,
			"terminal attempt_state %s with %d attempts", v.AttemptState, s.AttemptCount)
		require.NotZero(t, ff.MsFromTime(s.CompletedAt), "terminal execution without completed_at")
	}
	return s
}

// state asserts the public state of id (and its consistency).
func (e *env) state(id ff.ExecutionID, want ff.PublicState) backend.ExecutionSnapshot {
	e.t.Helper()
	s := e.consistent(id)
	require.Equal(e.t, want, s.PublicState, "state vector %s", s.StateVector)
	return s
}

// attempts lists the attempts of id and checks they are indexed from 0.
func (e *env) attempts(id ff.ExecutionID) []ff.Attempt {
	e.t.Helper()
	as, err := e.b.ListAttempts(e.ctx, backend.ListAttemptsParams{ExecutionID: id})
	require.NoError(e.t, err)
	for i, a := range as {
		require.Equal(e.t, uint32(i), a.Index, "attempts must be listed by index from 0")
		require.Equal(e.t, id, a.ExecutionID)
	}
	return as
}

// completions reads the whole completion outbox from the beginning.
func (e *env) completions() []backend.CompletionEvent {
	e.t.Helper()
	var all []backend.CompletionEvent
	var cur backend.EventCursor
	for range 1000 {
		page, err := e.b.ReadCompletions(e.ctx, backend.ReadCompletionsParams{After: cur, Limit: 100})
		require.NoError(e.t, err)
		if len(page.Events) == 0 {
			return all
		}
		all = append(all, page.Events...)
		cur = page.Next
	}
	e.t.Fatal("completion outbox did not end after 1000 pages")
	return nil
}

// completionsFor filters the outbox to the events of id.
func (e *env) completionsFor(id ff.ExecutionID) []backend.CompletionEvent {
	e.t.Helper()
	var out []backend.CompletionEvent
	for _, ev := range e.completions() {
		if ev.ExecutionID == id {
			out = append(out, ev)
		}
	}
	return out
}

// oneCompletion asserts id has exactly one completion event, with
// outcome want.
func (e *env) oneCompletion(id ff.ExecutionID, want ff.TerminalOutcome) backend.CompletionEvent {
	e.t.Helper()
	var evs []backend.CompletionEvent
	// On Postgres a read returns only rows older than every running
	// transaction of the server (other tests' too), waiting at most 2 s:
	// read again while the event is held back.
	for range 10 {
		if evs = e.completionsFor(id); len(evs) > 0 {
			break
		}
	}
	require.Len(e.t, evs, 1, "want exactly one completion event for %s", id)
	require.Equal(e.t, want, evs[0].Outcome)
	return evs[0]
}

// listAll lists every execution matching p, following cursors.
func (e *env) listAll(p backend.ListExecutionsParams) []backend.ExecutionSummary {
	e.t.Helper()
	var out []backend.ExecutionSummary
	for range 1000 {
		page, err := e.b.ListExecutions(e.ctx, p)
		require.NoError(e.t, err)
		out = append(out, page.Executions...)
		if page.NextCursor == "" {
			return out
		}
		p.Cursor = page.NextCursor
	}
	e.t.Fatal("listing did not end after 1000 pages")
	return nil
}

// nothingWritten asserts the store holds no execution at all.
func (e *env) nothingWritten() {
	e.t.Helper()
	require.Empty(e.t, e.listAll(backend.ListExecutionsParams{}), "a rejected call wrote an execution")
	lanes, err := e.b.ListLanes(e.ctx, backend.ListLanesParams{})
	require.NoError(e.t, err)
	require.Empty(e.t, lanes.Lanes, "a rejected call created a lane")
}

// expireLease lets the lease of task lapse and sweeps it, requiring
// exactly one lease marked.
func (e *env) expireLease(task backend.ClaimedTask) {
	e.t.Helper()
	e.advance(int64(task.Handle.Lease.LeaseTTLMs))
	n, err := e.b.ExpireLeases(e.ctx, backend.SweepParams{Limit: 100})
	require.NoError(e.t, err)
	require.Equal(e.t, 1, n, "ExpireLeases should handle exactly the one due lease")
	e.consistent(task.ExecutionID)
}

// promote runs PromoteDelayed and returns how many executions it moved.
func (e *env) promote() int {
	e.t.Helper()
	n, err := e.b.PromoteDelayed(e.ctx, backend.SweepParams{Limit: 100})
	require.NoError(e.t, err)
	return n
}

// randomID is an execution id no test created.
func randomID() ff.ExecutionID {
	return ff.ExecutionID{Partition: ff.LanePartition("default", ff.DefaultFlowPartitions), UUID: uuid.New()}
}

// retryPolicy retries up to n times with a fixed backoff of delayMs.
func retryPolicy(n int, delayMs int64) *ff.ExecutionPolicy {
	return &ff.ExecutionPolicy{Retry: &ff.RetryPolicy{MaxRetries: n, Backoff: ff.BackoffStrategy{Type: "fixed", DelayMs: delayMs}}}
}

// otherBackend returns a tag different from tag.
func otherBackend(tag ff.BackendTag) ff.BackendTag {
	if tag == ff.BackendPostgres {
		return ff.BackendSQLite
	}
	return ff.BackendPostgres
}
