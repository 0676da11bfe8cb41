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

// Live parts follow the store over SSE: the execution page's stream,
// summary and state, the events feed with its filters, and the
// overview's numbers, on both stores.
func TestLiveUpdates(t *testing.T) {
	for _, st := range uitest.Stores() {
		t.Run(st.Name, func(t *testing.T) {
			b := st.Open(t)
			seed(t, b)
			ctx := context.Background()
			srv := uitest.NewServer(t, b, server.Config{Version: "v1.4.0"}, server.WithLeadership(func() bool { return true }))
			tab := browser.Tab(t, srv.URL, st.Name)

			tab.Open("/ui/") // the overview counts completions from its first view
			tab.WaitText(".tiles", "this process leads the reconcilers")
			id := uitest.Create(t, b, backend.CreateExecutionParams{Lane: "mail", Kind: "email.live"})
			task := uitest.Claim(t, b, "mail")
			require.NotEqual(t, id, task.ExecutionID, "the older waiting one is claimed first")

			tab.Open("/ui/executions/" + task.ExecutionID.String())
			_, err := b.AppendFrames(ctx, backend.AppendFramesParams{Handle: task.Handle, Frames: []ff.FrameInput{
				{Type: "log", Payload: []byte(`"live frame one"`)}}})
			require.NoError(t, err)
			tab.WaitText("#frames", "live frame one")
			_, err = b.PatchSummary(ctx, backend.PatchSummaryParams{Handle: task.Handle, Patch: []byte(`{"stage":"live"}`)})
			require.NoError(t, err)
			tab.WaitText("#summary", `"stage": "live"`)
			uitest.Complete(t, b, task, []byte(`{"ok":1}`))
			tab.WaitText(`[data-k="public_state"]`, "completed")
			tab.WaitText(`[data-k="stream_state"]`, "closed: attempt_success")

			tab.Open("/ui/executions/" + id.String())
			tab.WaitText(`[data-k="stream_state"]`, "No attempt")
			relay := uitest.Claim(t, b, "mail")
			require.Equal(t, id, relay.ExecutionID)
			tab.WaitText(`[data-k="stream_state"]`, "Attempt 0 started")
			tab.WaitText(`[data-k="public_state"]`, "active")

			tab.Open("/ui/events?type=operator")
			_, err = b.CancelExecution(ctx, backend.CancelExecutionParams{ExecutionID: id, Reason: "live test"})
			require.NoError(t, err)
			tab.WaitText("#event-rows", id.String())
			require.NotContains(t, tab.Text("#event-rows"), "completion", "the type filter holds")

			tab.Open("/ui/")
			before := tab.Text(".tiles")
			uitest.Create(t, b, backend.CreateExecutionParams{Lane: "mail", Kind: "email.live"})
			next := uitest.Claim(t, b, "mail")
			uitest.FailPermanently(t, b, next, "live failure")
			// Since the first view: a success, a cancel and now a failure.
			tab.WaitText(`.tiles [data-k="failure_pct"]`, "33%")
			require.NotEqual(t, before, tab.Text(".tiles"))
			tab.Screenshot("overview-rates")
		})
	}
}
