package backendtest

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// Reads: snapshots, results, attempts, listings and lanes.

func init() {
	register("Reads/UnknownExecutionNotFound", testReadsUnknown)
	register("Reads/ResultNotFoundUntilCompleted", testReadsResultNotFound)
	register("Reads/ListAttempts", testReadsListAttempts)
	register("Reads/ListExecutionsPaging", testReadsListPaging)
	register("Reads/ListExecutionsFilters", testReadsListFilters)
	register("Reads/ListExecutionsBadParams", testReadsListBadParams)
	register("Reads/ListLanes", testReadsListLanes)
}

func testReadsUnknown(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.createIn("default")
	id := randomID()
	_, err := e.b.DescribeExecution(e.ctx, backend.DescribeExecutionParams{ExecutionID: id})
	requireKind(t, err, ff.ErrNotFound)
	ee, _ := ff.AsError(err)
	require.Equal(t, ff.ClassNotFound, ee.Class)
	require.Equal(t, "execution", ee.Entity)
	_, err = e.b.ReadExecutionState(e.ctx, backend.ReadExecutionStateParams{ExecutionID: id})
	requireKind(t, err, ff.ErrNotFound)
	_, err = e.b.GetExecutionResult(e.ctx, backend.GetExecutionResultParams{ExecutionID: id})
	requireKind(t, err, ff.ErrNotFound)
	_, err = e.b.CancelExecution(e.ctx, backend.CancelExecutionParams{ExecutionID: id, Reason: "x"})
	requireKind(t, err, ff.ErrNotFound)
}

func testReadsResultNotFound(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.create(backend.CreateExecutionParams{Lane: "res", Policy: retryPolicy(1, 0)})
	notYet := func(when string) {
		t.Helper()
		_, err := e.b.GetExecutionResult(e.ctx, backend.GetExecutionResultParams{ExecutionID: id})
		requireKind(t, err, ff.ErrNotFound, when)
		ee, _ := ff.AsError(err)
		require.Equal(t, "result", ee.Entity, when)
	}
	notYet("waiting")
	task := e.claim("res")
	notYet("active")
	_, err := e.b.Fail(e.ctx, backend.FailParams{Handle: task.Handle, Reason: "x"})
	require.NoError(t, err)
	notYet("retry pending")
	task = e.claim("res")
	require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: task.Handle, Result: []byte(`[true]`)}))
	res, err := e.b.GetExecutionResult(e.ctx, backend.GetExecutionResultParams{ExecutionID: id})
	require.NoError(t, err)
	require.Equal(t, `[true]`, string(res))
}

func testReadsListAttempts(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.create(backend.CreateExecutionParams{Lane: "la", Policy: retryPolicy(2, 0)})
	require.Empty(t, e.attempts(id))
	t0 := e.claimWith(claimParams("wa", "la"))
	e.advance(10)
	_, err := e.b.Fail(e.ctx, backend.FailParams{Handle: t0.Handle, Reason: "r0", Classification: ff.FailureInfra})
	require.NoError(t, err)
	t1 := e.claimWith(claimParams("wb", "la"))
	e.expireLease(t1)
	t2 := e.claimWith(claimParams("wc", "la"))
	require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: t2.Handle}))

	as := e.attempts(id)
	require.Len(t, as, 3)
	want := []struct {
		typ    ff.AttemptType
		life   ff.AttemptLifecycle
		worker string
		epoch  uint64
		id     string
	}{
		{ff.AttemptInitial, ff.AttemptEndedFailure, "wa", 1, t0.AttemptID},
		{ff.AttemptRetry, ff.AttemptInterruptedReclaimed, "wb", 2, t1.AttemptID},
		{ff.AttemptReclaim, ff.AttemptEndedSuccess, "wc", 3, t2.AttemptID},
	}
	for i, w := range want {
		require.Equal(t, w.typ, as[i].Type, "attempt %d", i)
		require.Equal(t, w.life, as[i].Lifecycle, "attempt %d", i)
		require.Equal(t, w.worker, as[i].WorkerID, "attempt %d", i)
		require.Equal(t, w.epoch, as[i].LeaseEpoch, "attempt %d", i)
		require.Equal(t, w.id, as[i].ID, "attempt %d", i)
		require.NotZero(t, as[i].EndedAtMs, "attempt %d", i)
	}
	require.Equal(t, "r0", as[0].FailureReason)
	require.Equal(t, string(ff.FailureInfra), as[0].FailureClass)
	s := e.state(id, ff.PublicCompleted)
	require.Equal(t, uint32(3), s.AttemptCount)
	require.Equal(t, &backend.AttemptRef{Index: 2, ID: t2.AttemptID}, s.CurrentAttempt)
}

func testReadsListPaging(t *testing.T, h Harness) {
	e := newEnv(t, h)
	var ids []string
	for range 5 {
		ids = append(ids, e.createIn("page").String())
	}
	slices.Sort(ids)

	var got []string
	p := backend.ListExecutionsParams{Limit: 2}
	sizes := []int{}
	for range 10 {
		page, err := e.b.ListExecutions(e.ctx, p)
		require.NoError(t, err)
		sizes = append(sizes, len(page.Executions))
		for _, s := range page.Executions {
			got = append(got, s.ExecutionID.String())
		}
		if page.NextCursor == "" {
			break
		}
		p.Cursor = page.NextCursor
	}
	require.Equal(t, []int{2, 2, 1}, sizes)
	require.Equal(t, ids, got, "listing is ordered by execution id text, without gaps or repeats")

	all, err := e.b.ListExecutions(e.ctx, backend.ListExecutionsParams{})
	require.NoError(t, err)
	require.Len(t, all.Executions, 5)
	require.Empty(t, all.NextCursor)
	first := all.Executions[0]
	require.Equal(t, "page", first.Lane)
	require.Equal(t, "test.kind", first.Kind)
	require.Equal(t, ff.PublicWaiting, first.PublicState)
	require.Equal(t, e.now(), ff.MsFromTime(first.CreatedAt))

	// A cursor past the end gives an empty page.
	last, err := e.b.ListExecutions(e.ctx, backend.ListExecutionsParams{Cursor: ids[4]})
	require.NoError(t, err)
	require.Empty(t, last.Executions)
	require.Empty(t, last.NextCursor)
}

func testReadsListFilters(t *testing.T, h Harness) {
	e := newEnv(t, h)
	d1 := e.createIn("default")
	d2 := e.createIn("default")
	w1 := e.createIn("workers-a")
	w2 := e.create(backend.CreateExecutionParams{Lane: "workers-a", Priority: 5})
	active := e.claim("workers-a")
	require.Equal(t, w2, active.ExecutionID)

	ids := func(p backend.ListExecutionsParams) []ff.ExecutionID {
		var out []ff.ExecutionID
		for _, s := range e.listAll(p) {
			out = append(out, s.ExecutionID)
		}
		return out
	}
	require.ElementsMatch(t, []ff.ExecutionID{d1, d2}, ids(backend.ListExecutionsParams{Lane: "default"}))
	require.ElementsMatch(t, []ff.ExecutionID{w1, w2}, ids(backend.ListExecutionsParams{Lane: "workers-a"}))
	require.Empty(t, ids(backend.ListExecutionsParams{Lane: "nobody"}))
	require.ElementsMatch(t, []ff.ExecutionID{w2}, ids(backend.ListExecutionsParams{PublicState: ff.PublicActive}))
	require.ElementsMatch(t, []ff.ExecutionID{d1, d2, w1}, ids(backend.ListExecutionsParams{PublicState: ff.PublicWaiting}))
	require.ElementsMatch(t, []ff.ExecutionID{w1}, ids(backend.ListExecutionsParams{Lane: "workers-a", PublicState: ff.PublicWaiting}))
	require.ElementsMatch(t, []ff.ExecutionID{d1, d2}, ids(backend.ListExecutionsParams{Partition: ptr(uint16(86))}))
	require.ElementsMatch(t, []ff.ExecutionID{w1, w2}, ids(backend.ListExecutionsParams{Partition: ptr(uint16(193))}))
	require.Empty(t, ids(backend.ListExecutionsParams{Partition: ptr(uint16(0))}))

	for _, s := range e.listAll(backend.ListExecutionsParams{Lane: "workers-a"}) {
		if s.ExecutionID == w2 {
			require.Equal(t, ff.PublicActive, s.PublicState)
			require.Equal(t, int32(5), s.Priority)
		}
	}
	require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: active.Handle}))
	require.ElementsMatch(t, []ff.ExecutionID{w2}, ids(backend.ListExecutionsParams{PublicState: ff.PublicCompleted}))
	require.Empty(t, ids(backend.ListExecutionsParams{PublicState: ff.PublicActive}))
}

func testReadsListBadParams(t *testing.T, h Harness) {
	e := newEnv(t, h)
	for name, p := range map[string]backend.ListExecutionsParams{
		"limit too large": {Limit: 1001},
		"negative limit":  {Limit: -1},
		"unknown state":   {PublicState: "sleeping"},
		"bad cursor":      {Cursor: "not-an-id"},
		"bad lane":        {Lane: "a\tb"},
	} {
		_, err := e.b.ListExecutions(e.ctx, p)
		requireKind(t, err, ff.ErrInvalidInput, name)
	}
}

func testReadsListLanes(t *testing.T, h Harness) {
	e := newEnv(t, h)
	lanes, err := e.b.ListLanes(e.ctx, backend.ListLanesParams{})
	require.NoError(t, err)
	require.Empty(t, lanes.Lanes)

	e.createIn("alpha")
	e.createIn("alpha")
	e.createIn("alpha")
	e.claim("alpha")
	e.createIn("beta")
	require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: e.claim("beta").Handle}))
	e.createIn("beta")
	e.create(backend.CreateExecutionParams{Lane: "gamma", DelayUntil: ff.TimeFromMs(e.now() + 1_000)})

	count := func(info backend.LaneInfo, st ff.PublicState) int64 { return info.Counts[st] }
	page, err := e.b.ListLanes(e.ctx, backend.ListLanesParams{})
	require.NoError(t, err)
	require.Len(t, page.Lanes, 3)
	require.Equal(t, []string{"alpha", "beta", "gamma"}, []string{page.Lanes[0].Name, page.Lanes[1].Name, page.Lanes[2].Name})
	alpha, beta, gamma := page.Lanes[0], page.Lanes[1], page.Lanes[2]
	require.Equal(t, int64(2), count(alpha, ff.PublicWaiting))
	require.Equal(t, int64(1), count(alpha, ff.PublicActive))
	require.Equal(t, int64(0), count(alpha, ff.PublicCompleted))
	require.Equal(t, int64(1), count(beta, ff.PublicWaiting))
	require.Equal(t, int64(0), count(beta, ff.PublicCompleted), "counts cover live executions only")
	require.Equal(t, int64(1), count(gamma, ff.PublicDelayed))

	first, err := e.b.ListLanes(e.ctx, backend.ListLanesParams{Limit: 2})
	require.NoError(t, err)
	require.Len(t, first.Lanes, 2)
	require.NotEmpty(t, first.NextCursor)
	rest, err := e.b.ListLanes(e.ctx, backend.ListLanesParams{Limit: 2, Cursor: first.NextCursor})
	require.NoError(t, err)
	require.Len(t, rest.Lanes, 1)
	require.Equal(t, "gamma", rest.Lanes[0].Name)
	require.Empty(t, rest.NextCursor)
}
