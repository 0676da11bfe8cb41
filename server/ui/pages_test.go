package ui_test

import (
	"slices"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/internal/uitest"
	"github.com/flowfabric-go/flowfabric/server"
)

// Every page loads without a console error, shows the seeded data and
// is photographed, on both stores.
func TestPagesShowSeededData(t *testing.T) {
	for _, st := range uitest.Stores() {
		t.Run(st.Name, func(t *testing.T) {
			b := st.Open(t)
			s := seed(t, b)
			srv := uitest.NewServer(t, b, server.Config{Version: "v9.9.9-test"})
			tab := browser.Tab(t, srv.URL, st.Name)

			tab.Open("/ui/")
			tab.WaitText("#lanes", "mail")
			tab.WaitText("#lanes", "reports")
			require.Contains(t, tab.Text("main"), "v9.9.9-test")
			tab.Screenshot("overview")

			tab.Open("/ui/executions?lane=mail")
			list := tab.Text("#executions")
			for _, id := range []string{s.waiting.String(), s.active.String(), s.completed.String(), s.failed.String()} {
				require.Contains(t, list, id)
			}
			require.Contains(t, list, "email.digest")
			require.NotContains(t, list, "report.build", "the lane filter holds")
			tab.Screenshot("executions")

			tab.Open("/ui/executions/" + s.active.String())
			tab.WaitText("#frames", "sent 3 of 10")
			tab.WaitText("#summary", `"sent": 3`)
			require.Contains(t, tab.Text("main"), "ada@example.com", "the input")
			tab.Screenshot("execution")

			tab.Open("/ui/executions/" + s.completed.String())
			tab.WaitText("#result", `"delivered": true`)

			tab.Open("/ui/events?from=start")
			tab.WaitText("#events", "completion")
			tab.WaitText("#events", s.completed.String())
			tab.Screenshot("events")

			tab.Open("/ui/lanes")
			tab.WaitText("#lanes", "reports")
			tab.Screenshot("lanes")
		})
	}
}

// The executions list filters by lane, state, kind, tag and flow, and
// pages with the store's cursor.
func TestExecutionFilters(t *testing.T) {
	b := uitest.OpenSQLite(t)
	s := seed(t, b)
	flow, err := b.CreateFlow(t.Context(), backend.CreateFlowParams{Kind: "digest", Members: []backend.FlowMemberParams{
		{Ref: "a", Execution: backend.CreateExecutionParams{Lane: "mail", Kind: "email.flowed"}}}})
	require.NoError(t, err)
	member := flow.ExecutionIDs["a"]
	srv := uitest.NewServer(t, b, server.Config{})
	tab := browser.Tab(t, srv.URL, "sqlite")

	shows := func(query string, want ...ff.ExecutionID) {
		t.Helper()
		tab.Open("/ui/executions?" + query)
		text := tab.Text("main")
		for _, id := range []ff.ExecutionID{s.waiting, s.active, s.completed, s.failed, member} {
			if slices.Contains(want, id) {
				require.Contains(t, text, id.String(), query)
			} else {
				require.NotContains(t, text, id.String(), query)
			}
		}
	}
	shows("kind=email.bounce", s.failed)
	shows("tag=acme.team%3Dops", s.active)
	shows("state=completed&lane=mail", s.completed)
	shows("flow="+flow.FlowID, member)

	tab.Open("/ui/executions?lane=mail&limit=3")
	require.Equal(t, 3, uitest.Eval[int](tab, `document.querySelectorAll("#executions tbody tr").length`))
	tab.Do("next page", chromedp.Click(chromedp.CSS(`a[rel="next"]`)), chromedp.WaitVisible(chromedp.CSS(`a[href*="First"], .pager a`)))
	tab.WaitText(".pager", "First page")
	require.Equal(t, 2, uitest.Eval[int](tab, `document.querySelectorAll("#executions tbody tr").length`))

	tab.Open("/ui/executions?tag=nokey")
	tab.WaitText(".flash.err", "key=value")
	require.Equal(t, "nokey", uitest.Eval[string](tab, `document.getElementById("f-tag").value`), "the form keeps the input")
	tab.ExpectConsoleError("400 (Bad Request)")
}
