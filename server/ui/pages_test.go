package ui_test

import (
	"testing"

	"github.com/stretchr/testify/require"

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
