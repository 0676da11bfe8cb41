package ui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// nodeSel selects the drawn node of a member, with an optional state.
func nodeSel(id ff.ExecutionID, state ff.PublicState) string {
	sel := fmt.Sprintf(`#flow-graph g.dag-node[data-id=%q]`, id.String())
	if state != "" {
		sel = fmt.Sprintf(`#flow-graph g.dag-node.st-%s[data-id=%q]`, state, id.String())
	}
	return sel
}

const graphBox = `JSON.stringify(document.getElementById('flow-graph').getBoundingClientRect())`

func TestFlowPagesInBrowser(t *testing.T) {
	eachStore(t, func(t *testing.T, b backend.Backend) {
		tb := openTab(t, b)
		flow := seedFlow(t, b, "ui-flows")
		extract := flow.Refs["extract"]

		tb.visit("/ui/flows", fmt.Sprintf(`tr[data-flow=%q]`, flow.ID))
		require.Contains(t, tb.text(fmt.Sprintf(`tr[data-flow=%q]`, flow.ID)), "open")
		tb.screenshot("flows")

		tb.visit("/ui/flows/"+flow.ID, nodeSel(extract, ff.PublicWaiting))
		require.Equal(t, "open", tb.text("#flow-state"))
		nodes, err := chromedp.Run(tb.ctx, chromedp.Evaluate[int](`document.querySelectorAll('#flow-graph g.dag-node').length`))
		require.NoError(t, err)
		require.Equal(t, 4, nodes)
		before, err := chromedp.Run(tb.ctx, chromedp.Evaluate[string](graphBox))
		require.NoError(t, err)

		// The drawing follows the flow live: completing extract through
		// the backend recolours it and satisfies its two edges.
		completeOn(t, b, flow.Lane)
		tb.do(chromedp.WaitReady(chromedp.CSS(nodeSel(extract, ff.PublicCompleted))),
			chromedp.WaitReady(chromedp.CSS(nodeSel(flow.Refs["transform-a"], ff.PublicWaiting))))
		satisfied, err := chromedp.Run(tb.ctx, chromedp.Evaluate[int](`document.querySelectorAll('#flow-graph path.edge-satisfied').length`))
		require.NoError(t, err)
		require.Equal(t, 2, satisfied)
		require.Equal(t, "running", tb.text("#flow-state"))
		after, err := chromedp.Run(tb.ctx, chromedp.Evaluate[string](graphBox))
		require.NoError(t, err)
		require.Equal(t, before, after, "the live update moved the drawing")
		tb.screenshot("flow")

		tb.do(chromedp.SetValue(chromedp.CSS(`select[name=policy]`), ff.CancelFlowAll))
		msg := tb.confirm(`form[action$="/cancel"] button[type=submit]`)
		require.Contains(t, msg, "cancelled (cancel_all): 3 members cancelled")
		snap, err := b.DescribeFlow(context.Background(), backend.DescribeFlowParams{FlowID: flow.ID})
		require.NoError(t, err)
		require.Equal(t, ff.FlowCancelled, snap.PublicFlowState)
		for _, m := range snap.Members {
			want := ff.PublicCancelled
			if m.ExecutionID == extract {
				want = ff.PublicCompleted
			}
			require.Equal(t, want, m.PublicState, "member %s", m.Ref)
		}
		tb.do(chromedp.WaitReady(chromedp.CSS(nodeSel(flow.Refs["load"], ff.PublicCancelled))))
		require.Equal(t, "cancelled", tb.text("#flow-state"))

		// A member links to its execution page.
		tb.do(chromedp.Click(chromedp.CSS(nodeSel(extract, "")+" rect")), chromedp.WaitVisible(chromedp.CSS("main h1")))
		loc, err := chromedp.Run(tb.ctx, chromedp.Location())
		require.NoError(t, err)
		require.Contains(t, loc, "/ui/executions/")
		tb.noConsoleErrors()
	})
}

func TestFlowCancelErrorShownInPlace(t *testing.T) {
	eachStore(t, func(t *testing.T, b backend.Backend) {
		tb := openTab(t, b)
		flow := seedFlow(t, b, "ui-flows-err")
		tb.visit("/ui/flows/"+flow.ID, "#flow-graph svg")
		// An unknown policy, as a tampered form would send, is the API's
		// validation message in place.
		tb.do(chromedp.Evaluate[chromedp.Void](`document.querySelector('select[name=policy]').add(new Option('cancel_everything', 'cancel_everything', true, true))`))
		msg := tb.confirm(`form[action$="/cancel"] button[type=submit]`)
		require.Contains(t, msg, `policy "cancel_everything": want cancel_all, cancel_pending or flow_only`)
		require.Equal(t, "open", tb.text("#flow-state"))
		tb.noConsoleErrors()
	})
}

func TestApprovalsInBrowser(t *testing.T) {
	eachStore(t, func(t *testing.T, b backend.Backend) {
		ctx := context.Background()
		tb := openTab(t, b)
		approved := seedSuspended(t, b, "ui-approve")
		rejected := seedSuspended(t, b, "ui-reject")
		row := func(id ff.ExecutionID) string { return fmt.Sprintf(`tr[data-execution=%q]`, id.String()) }

		tb.visit("/ui/approvals", row(rejected))
		require.Contains(t, tb.text(row(approved)), "any signal")
		html, err := chromedp.Run(tb.ctx, chromedp.OuterHTML(chromedp.CSS("html")))
		require.NoError(t, err)
		for _, id := range []ff.ExecutionID{approved, rejected} {
			ws, err := b.ListWaitpoints(ctx, backend.ListWaitpointsParams{ExecutionID: id})
			require.NoError(t, err)
			tok, err := b.GetWaitpointToken(ctx, backend.GetWaitpointTokenParams{ExecutionID: id, WaitpointID: ws[0].ID})
			require.NoError(t, err)
			require.NotContains(t, html, tok, "the page never shows a waitpoint token")
		}
		tb.screenshot("approvals")

		require.Contains(t, tb.confirm(row(approved)+` button.approve`), `Signal "approve" sent`)
		requireDecision(t, b, approved, "approve", true)
		require.Contains(t, tb.confirm(row(rejected)+` button.reject`), `Signal "reject" sent`)
		requireDecision(t, b, rejected, "reject", false)
		require.Contains(t, tb.text("main"), "Nothing waits for approval.")
		tb.noConsoleErrors()
	})
}

// requireDecision checks that the execution left suspended and received
// the decision signal from the dashboard.
func requireDecision(t *testing.T, b backend.Backend, id ff.ExecutionID, name string, approved bool) {
	t.Helper()
	require.NotEqual(t, ff.PublicSuspended, publicState(t, b, id))
	sigs, err := b.ListSignals(context.Background(), backend.ListSignalsParams{ExecutionID: id})
	require.NoError(t, err)
	require.Len(t, sigs, 1)
	require.Equal(t, name, sigs[0].Name)
	require.Equal(t, ff.SignalSource{Type: "operator", Identity: "dashboard"}, sigs[0].Source)
	var d struct{ Approved bool }
	require.NoError(t, json.Unmarshal(sigs[0].Payload, &d))
	require.Equal(t, approved, d.Approved)
	task := claimOne(t, b, laneOf(t, b, id))
	require.Equal(t, id, task.ExecutionID, "the resumed execution is claimable again")
	require.Len(t, task.ResumedSignals, 1)
}

func laneOf(t *testing.T, b backend.Backend, id ff.ExecutionID) string {
	t.Helper()
	snap, err := b.DescribeExecution(context.Background(), backend.DescribeExecutionParams{ExecutionID: id})
	require.NoError(t, err)
	return snap.Lane
}

func TestBudgetsInBrowser(t *testing.T) {
	eachStore(t, func(t *testing.T, b backend.Backend) {
		tb := openTab(t, b)
		seedBudget(t, b, "tenant-a")
		seedQuota(t, b, "llm-rpm")
		tb.visit("/ui/budgets?budgets=tenant-a,nope&quotas=llm-rpm", `section[data-budget="tenant-a"]`)
		tokens := tb.text(`section[data-budget="tenant-a"] tr[data-dimension="tokens"]`)
		for _, want := range []string{"700", "500", "1000", "over soft limit"} {
			require.Contains(t, tokens, want)
		}
		require.Contains(t, tb.text(`section[data-budget="tenant-a"] tr[data-dimension="calls"]`), "within limits")
		require.Equal(t, "1", tb.text(`section[data-budget="tenant-a"] .soft-breaches`))
		require.Contains(t, tb.text(`tr[data-quota="llm-rpm"]`), "0 of 5 per 1m0s")
		require.Contains(t, tb.text(".flash.err"), "budget nope")
		tb.screenshot("budgets")

		require.Contains(t, tb.confirm(`section[data-budget="tenant-a"] form button[type=submit]`), "Budget tenant-a reset")
		st, err := b.GetBudget(context.Background(), backend.GetBudgetParams{BudgetID: "tenant-a"})
		require.NoError(t, err)
		require.Zero(t, st.Usage["tokens"])
		require.Equal(t, "0", strings.TrimSpace(tb.text(`section[data-budget="tenant-a"] tr[data-dimension="tokens"] .used`)))
		tb.noConsoleErrors()
	})
}
