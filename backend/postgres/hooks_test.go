package postgres_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/backend/postgres"
)

// The fast statements carry the hooks guard built from the Go masks, and
// nothing when a mask is empty.
func TestHooksGuardFollowsTheMasks(t *testing.T) {
	require.Empty(t, postgres.HooksGuard(0))
	guard := postgres.HooksGuard(ff.HooksCompleteSlow)
	require.Contains(t, guard, "(e.hooks & "+strconv.Itoa(int(ff.HooksCompleteSlow))+") = 0")
	require.Contains(t, postgres.CompleteSQL, guard)
	require.NotContains(t, postgres.RenewSQL, "e.hooks", "HooksRenewSlow is empty: renew has no guard")
	require.Contains(t, postgres.HooksGuard(ff.HookWaitpoints), "(e.hooks & 2) = 0", "a renew bit would be guarded")
	require.Contains(t, postgres.HooksGuard(1<<15), "(e.hooks & -32768) = 0", "bit 15 as the smallint stores it")
}

// completeSQL itself leaves a row with any HooksCompleteSlow bit alone (it
// returns only the plain row of the same batch), and Complete then ends
// it through the slow path. A bit outside the mask stays on the fast path.
func TestCompleteStatementLeavesHookedRowsToTheSlowPath(t *testing.T) {
	ctx := context.Background()
	b, _ := openFresh(t, nil)
	cases := map[ff.Hooks]bool{ff.HookAdmission: true} // hooks -> completed by the statement
	for bit := ff.Hooks(1); bit != 0; bit <<= 1 {
		if ff.HooksCompleteSlow.Any(bit) {
			cases[bit] = false
		}
	}
	for hooks, fast := range cases {
		plain, hooked := claimTwo(t, b, "hooks-"+strconv.Itoa(int(hooks)))
		setHooks(t, b, hooked.ExecutionID, hooks)
		done := runCompleteSQL(t, b, plain, hooked)
		want := []string{plain.ExecutionID.String()}
		if fast {
			want = append(want, hooked.ExecutionID.String())
		}
		require.ElementsMatch(t, want, done, "hooks %b", hooks)
		if fast {
			continue
		}
		st, err := b.ReadExecutionState(ctx, backend.ReadExecutionStateParams{ExecutionID: hooked.ExecutionID})
		require.NoError(t, err)
		require.Equal(t, ff.PublicActive, st, "the statement did not touch the hooked row")
		require.NoError(t, b.Complete(ctx, backend.CompleteParams{Handle: hooked.Handle, Result: []byte(`2`)}))
		st, err = b.ReadExecutionState(ctx, backend.ReadExecutionStateParams{ExecutionID: hooked.ExecutionID})
		require.NoError(t, err)
		require.Equal(t, ff.PublicCompleted, st, "the slow path completed it")
		// The slow path keeps every bit but HookWaitpoints and
		// HookQuotaSlot, which the attempt's end clears (their features
		// close the waitpoints and release the slots there).
		require.Equal(t, hooks&^(ff.HookWaitpoints|ff.HookQuotaSlot), readHooks(t, b, hooked.ExecutionID))
	}
}

// claimTwo creates two executions on lane and claims both.
func claimTwo(t *testing.T, b *postgres.Backend, lane string) (backend.ClaimedTask, backend.ClaimedTask) {
	t.Helper()
	ctx := context.Background()
	for range 2 {
		_, err := b.CreateExecution(ctx, backend.CreateExecutionParams{Lane: lane, Kind: "k"})
		require.NoError(t, err)
	}
	tasks, err := b.Claim(ctx, backend.ClaimParams{WorkerID: "w", Lanes: []string{lane}, Max: 2, LeaseTTL: time.Minute})
	require.NoError(t, err)
	require.Len(t, tasks, 2)
	return tasks[0], tasks[1]
}

// runCompleteSQL runs the fast completion statement for tasks and returns
// the ids it completed.
func runCompleteSQL(t *testing.T, b *postgres.Backend, tasks ...backend.ClaimedTask) []string {
	t.Helper()
	var (
		ids, leases, attempts []string
		epochs                []int64
		results               [][]byte
	)
	for _, task := range tasks {
		l := task.Handle.Lease
		ids = append(ids, l.ExecutionID.String())
		leases = append(leases, l.LeaseID)
		attempts = append(attempts, l.AttemptID)
		epochs = append(epochs, int64(l.LeaseEpoch))
		results = append(results, []byte(`1`))
	}
	rows, err := b.Pool().Query(context.Background(), postgres.CompleteSQL, ids, leases, epochs, attempts, results, nil)
	require.NoError(t, err)
	done, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	return done
}

// The guard keeps completeSQL's plan: the same node tree as the statement
// without it, over the same backlog.
func TestCompletePlanUnchangedByTheHooksGuard(t *testing.T) {
	b, _ := openFresh(t, nil)
	fillBacklog(t, b)
	guard := postgres.HooksGuard(ff.HooksCompleteSlow)
	without := strings.Replace(postgres.CompleteSQL, guard, "", 1)
	require.NotEqual(t, postgres.CompleteSQL, without)
	args := []any{[]string{"{fp:1}:00000000-0000-0000-0000-000000000000"}, []string{"l"}, []int64{1}, []string{"a"}, [][]byte{{}}, nil}
	require.Equal(t, planShape(explain(t, b, without, args...)), planShape(explain(t, b, postgres.CompleteSQL, args...)))
}

// planShape is a plan's node types, relations and indexes, depth first.
func planShape(n planNode) []string {
	var out []string
	walk(n, func(n planNode) { out = append(out, n.NodeType+"/"+n.Relation+"/"+n.IndexName) })
	return out
}
