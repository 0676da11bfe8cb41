package sqlite

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/backend/backendtest"
	"github.com/flowfabric-go/flowfabric/internal/clock"
)

// queryPlan returns SQLite's plan for q, one detail per line.
func queryPlan(t *testing.T, b *Backend, q string, args ...any) string {
	t.Helper()
	rows, err := b.r.Query("EXPLAIN QUERY PLAN "+q, args...)
	require.NoError(t, err)
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		require.NoError(t, rows.Scan(&id, &parent, &notused, &detail))
		lines = append(lines, detail)
	}
	require.NoError(t, rows.Err())
	return strings.Join(lines, "\n")
}

// The claim and sweep queries read their partial indexes in order: no
// temporary b-tree (a sort of the backlog) and no table scan.
func TestHotQueriesUseTheirIndexes(t *testing.T) {
	b, _ := openTemp(t, clock.NewFake(backendtest.Epoch))
	for name, q := range map[string]struct {
		sql   string
		index string
		args  []any
	}{
		"claim":     {qClaimHeads, "ff_execution_claim", []any{"l", 0, 16}},
		"leases":    {qDueLeases, "ff_execution_lease_due", []any{1, 10}},
		"attempts":  {qDueAttempts, "ff_execution_attempt_due", []any{1, 10}},
		"deadlines": {qDueDeadlines, "ff_execution_deadline_due", []any{1, 10}},
		"delayed":   {qDueDelayed, "ff_execution_delay_due", []any{1, 10}},
	} {
		plan := queryPlan(t, b, q.sql, q.args...)
		t.Logf("%s: %s", name, plan)
		require.Contains(t, plan, q.index, "%s: plan\n%s", name, plan)
		require.NotContains(t, plan, "TEMP B-TREE", "%s sorts: plan\n%s", name, plan)
		require.NotContains(t, plan, "SCAN ff_execution", "%s scans: plan\n%s", name, plan)
	}
}

// A worker satisfying several interned sets gets the heads of all of them
// merged in claim order (priority desc, then creation order), across
// lanes; work whose requirements it lacks stays for others.
func TestClaimMergesSignaturesInOrder(t *testing.T) {
	b, _ := openTemp(t, clock.NewFake(backendtest.Epoch))
	ctx := context.Background()
	create := func(lane string, prio int64, caps ...string) ff.ExecutionID {
		res, err := b.CreateExecution(ctx, backend.CreateExecutionParams{Lane: lane, Kind: "k", Priority: prio, RequiredCapabilities: caps})
		require.NoError(t, err)
		return res.ExecutionID
	}
	a1 := create("a", 5)                // any worker
	g1 := create("a", 5, "gpu")         // gpu
	big := create("a", 5, "gpu", "big") // gpu+big: not for our worker
	g2 := create("b", 7, "gpu")         // gpu, higher priority, other lane
	c1 := create("b", 5, "cuda", "gpu") // cuda+gpu
	a2 := create("a", 1)

	tasks, err := b.Claim(ctx, backend.ClaimParams{WorkerID: "w", Lanes: []string{"a", "b"},
		Capabilities: []string{"gpu", "cuda"}, Max: 10})
	require.NoError(t, err)
	var got []ff.ExecutionID
	for _, task := range tasks {
		got = append(got, task.ExecutionID)
	}
	require.Equal(t, []ff.ExecutionID{g2, a1, g1, c1, a2}, got)

	tasks, err = b.Claim(ctx, backend.ClaimParams{WorkerID: "w2", Lanes: []string{"a"}, Capabilities: []string{"big", "gpu"}})
	require.NoError(t, err)
	require.Len(t, tasks, 1)
	require.Equal(t, big, tasks[0].ExecutionID)
}

// A capability set interned by another Backend on the same file (another
// process, in production) is routed once it appears: claim reloads the
// interned sets when it sees an id it does not know.
func TestClaimSeesSetsInternedElsewhere(t *testing.T) {
	fake := clock.NewFake(backendtest.Epoch)
	path := filepath.Join(t.TempDir(), "ff.db")
	ctx := context.Background()
	b1, err := Open(ctx, Options{Path: path, Clock: fake, AutoMigrate: true})
	require.NoError(t, err)
	defer b1.Close()
	b2, err := Open(ctx, Options{Path: path, Clock: fake})
	require.NoError(t, err)
	defer b2.Close()

	// b1 learns a set, so its cache is warm and non-trivial.
	_, err = b1.CreateExecution(ctx, backend.CreateExecutionParams{Lane: "x", Kind: "k", RequiredCapabilities: []string{"cpu"}})
	require.NoError(t, err)
	tasks, err := b1.Claim(ctx, backend.ClaimParams{WorkerID: "w", Lanes: []string{"x"}, Capabilities: []string{"cpu", "tpu"}})
	require.NoError(t, err)
	require.Len(t, tasks, 1)

	res, err := b2.CreateExecution(ctx, backend.CreateExecutionParams{Lane: "x", Kind: "k", RequiredCapabilities: []string{"tpu"}})
	require.NoError(t, err)
	tasks, err = b1.Claim(ctx, backend.ClaimParams{WorkerID: "w", Lanes: []string{"x"}, Capabilities: []string{"cpu", "tpu"}})
	require.NoError(t, err)
	require.Len(t, tasks, 1)
	require.Equal(t, res.ExecutionID, tasks[0].ExecutionID)
	s, err := b1.DescribeExecution(ctx, backend.DescribeExecutionParams{ExecutionID: res.ExecutionID})
	require.NoError(t, err)
	require.Equal(t, []string{"tpu"}, s.RequiredCaps)
}

// Leadership is an in-process lock: one holder per name until it
// releases or the backend closes.
func TestLeaderIsExclusiveInProcess(t *testing.T) {
	b, _ := openTemp(t, clock.NewFake(backendtest.Epoch))
	ctx := context.Background()
	l1, err := b.TryAcquireLeader(ctx, backend.LeaderParams{Name: "reconcilers"})
	require.NoError(t, err)
	require.NotNil(t, l1)
	held, err := b.TryAcquireLeader(ctx, backend.LeaderParams{Name: "reconcilers"})
	require.NoError(t, err)
	require.Nil(t, held)
	other, err := b.TryAcquireLeader(ctx, backend.LeaderParams{Name: "other"})
	require.NoError(t, err)
	require.NotNil(t, other)

	require.NoError(t, l1.Release(ctx))
	require.NoError(t, l1.Release(ctx), "Release is idempotent")
	<-l1.Lost()
	l2, err := b.TryAcquireLeader(ctx, backend.LeaderParams{Name: "reconcilers"})
	require.NoError(t, err)
	require.NotNil(t, l2)
	require.NoError(t, l1.Release(ctx), "a stale lease's Release must not free the new holder")
	held, err = b.TryAcquireLeader(ctx, backend.LeaderParams{Name: "reconcilers"})
	require.NoError(t, err)
	require.Nil(t, held)

	require.NoError(t, b.Close())
	<-l2.Lost()
	<-other.Lost()
	_, err = b.TryAcquireLeader(ctx, backend.LeaderParams{Name: "reconcilers"})
	require.Error(t, err)
}
