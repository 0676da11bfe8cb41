package ui_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/internal/uitest"
	"github.com/flowfabric-go/flowfabric/server"
)

// The operator actions work end to end in the browser, each confirmed in
// the dialog, its result shown in place and in the store, on both stores.
func TestActions(t *testing.T) {
	for _, st := range uitest.Stores() {
		t.Run(st.Name, func(t *testing.T) {
			b := st.Open(t)
			s := seed(t, b)
			srv := uitest.NewServer(t, b, server.Config{})
			tab := browser.Tab(t, srv.URL, st.Name)
			ctx := context.Background()

			tab.Open("/ui/executions/" + s.waiting.String())
			tab.SetValue("#priority", "4200")
			tab.Submit("#act-priority")
			tab.WaitText(".flash.ok", "Priority set to 4200")
			require.Equal(t, int32(4200), uitest.Describe(t, b, s.waiting).Priority)
			tab.WaitText(`[data-k="priority"]`, "4200")

			tab.SetValue("#cancel-reason", "not needed")
			tab.Submit("#act-cancel")
			tab.WaitText(".flash.ok", "Cancelled")
			snap := uitest.Describe(t, b, s.waiting)
			require.Equal(t, ff.PublicCancelled, snap.PublicState)
			require.Equal(t, "not needed", snap.CancelReason)
			tab.WaitText(`[data-k="public_state"]`, "cancelled")

			tab.Open("/ui/executions/" + s.failed.String())
			tab.Submit("#act-replay")
			tab.WaitText(".flash.ok", "Replayed")
			require.Equal(t, ff.PublicWaiting, uitest.Describe(t, b, s.failed).PublicState)

			tab.Open("/ui/executions/" + s.active.String())
			tab.Submit("#act-revoke")
			tab.WaitText(".flash.ok", "revoked")
			require.Equal(t, ff.OwnershipLeaseRevoked, uitest.Describe(t, b, s.active).StateVector.OwnershipState)
			tab.WaitText(`[data-k="ownership_state"]`, "lease_revoked")

			uitest.Create(t, b, backend.CreateExecutionParams{Lane: "hold", Kind: "approval.wait"})
			held := uitest.Claim(t, b, "hold")
			uitest.Suspend(t, b, held, `{"type":"single","signal_name":"approve"}`)
			tab.Open("/ui/executions/" + held.ExecutionID.String())
			tab.WaitText("#h-wp + table", "approve")
			tab.Screenshot("execution-suspended")
			tab.Submit("#act-resume")
			tab.WaitText(".flash.ok", "Resumed")
			require.NotEqual(t, ff.PublicSuspended, uitest.Describe(t, b, held.ExecutionID).PublicState)

			// A stale page: the execution ended meanwhile; the API's
			// error is shown in place.
			other := uitest.Create(t, b, backend.CreateExecutionParams{Lane: "mail", Kind: "email.send"})
			tab.Open("/ui/executions/" + other.String())
			_, err := b.CancelExecution(ctx, backend.CancelExecutionParams{ExecutionID: other, Reason: "elsewhere"})
			require.NoError(t, err)
			tab.Submit("#act-cancel")
			tab.WaitText(".flash.err", "execution_not_active")
			tab.Screenshot("action-error")

			tab.Open("/ui/lanes")
			tab.Submit(`tr[data-lane="reports"] button`)
			tab.WaitText(".flash.ok", "Lane reports is paused")
			var paused []backend.LaneState
			paused, err = b.LaneStates(ctx, backend.LaneStatesParams{Lanes: []string{"reports"}})
			require.NoError(t, err)
			require.Len(t, paused, 1)
			require.Equal(t, "dashboard", paused[0].Source)
			tab.WaitText(`tr[data-lane="reports"]`, "paused")
			tab.Screenshot("lanes-paused")

			tab.Submit(`tr[data-lane="reports"] button`)
			tab.WaitText(".flash.ok", "Lane reports is resumed")

			odd := "eu/west 1?x"
			uitest.Create(t, b, backend.CreateExecutionParams{Lane: odd, Kind: "k"})
			tab.Open("/ui/lanes")
			tab.Submit(`tr[data-lane="eu/west 1?x"] button`)
			tab.WaitText(".flash.ok", "Lane eu/west 1?x is paused")
			paused, err = b.LaneStates(ctx, backend.LaneStatesParams{Lanes: []string{"reports"}})
			require.NoError(t, err)
			require.Empty(t, paused)
		})
	}
}
