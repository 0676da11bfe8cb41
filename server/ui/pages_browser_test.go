package ui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/internal/uitest"
	"github.com/flowfabric-go/flowfabric/server"
)

// openPages serves b and opens a tab on it.
func openPages(t *testing.T, st uitest.Store, b backend.Backend) *uitest.Tab {
	srv := uitest.NewServer(t, b, server.Config{})
	return browser.Tab(t, srv.URL, st.Name)
}

// nodeSel selects the drawn node of a member, in state when it is set.
func nodeSel(id ff.ExecutionID, state ff.PublicState) string {
	if state == "" {
		return fmt.Sprintf(`#flow-graph g.dag-node[data-id=%q]`, id.String())
	}
	return fmt.Sprintf(`#flow-graph g.dag-node.st-%s[data-id=%q]`, state, id.String())
}

// waitFor waits until css matches an element.
func waitFor(tab *uitest.Tab, css string) {
	tab.Do("wait for "+css, chromedp.WaitReady(chromedp.CSS(css)))
}

const graphBox = `JSON.stringify(document.getElementById('flow-graph').getBoundingClientRect())`

func TestFlowPagesInBrowser(t *testing.T) {
	eachStore(t, func(t *testing.T, st uitest.Store, b backend.Backend) {
		tab := openPages(t, st, b)
		flow := seedFlow(t, b, "ui-flows")
		extract := flow.Refs["extract"]

		tab.Open("/ui/flows")
		tab.WaitText(fmt.Sprintf(`tr[data-flow=%q]`, flow.ID), "open")
		tab.Screenshot("flows")

		tab.Open("/ui/flows/" + flow.ID)
		waitFor(tab, nodeSel(extract, ff.PublicWaiting))
		require.Equal(t, "open", tab.Text("#flow-state"))
		require.Equal(t, 4, uitest.Eval[int](tab, `document.querySelectorAll('#flow-graph g.dag-node').length`))
		before := uitest.Eval[string](tab, graphBox)

		// The drawing follows the flow live: completing extract through
		// the backend recolours it and satisfies its two edges.
		completeOn(t, b, flow.Lane)
		waitFor(tab, nodeSel(extract, ff.PublicCompleted))
		waitFor(tab, `#flow-graph path.edge-satisfied[data-to="`+flow.Refs["transform-b"].String()+`"]`)
		require.Equal(t, 2, uitest.Eval[int](tab, `document.querySelectorAll('#flow-graph path.edge-satisfied').length`))
		tab.WaitText("#flow-state", "running")
		require.Equal(t, before, uitest.Eval[string](tab, graphBox), "the live update moved the drawing")
		tab.Screenshot("flow")

		tab.SetValue(`select[name=policy]`, ff.CancelFlowAll)
		tab.Submit(`form[action$="/cancel"] button[type=submit]`)
		require.Contains(t, tab.Text(".flash.ok"), "cancelled (cancel_all): 3 members cancelled")
		requireCancelled(t, b, flow, extract)
		waitFor(tab, nodeSel(flow.Refs["load"], ff.PublicCancelled))
		require.Equal(t, "cancelled", tab.Text("#flow-state"))

		// A member's box links to its execution page.
		tab.Do("open a member", chromedp.Click(chromedp.CSS(nodeSel(extract, "")+" rect")),
			chromedp.WaitVisible(chromedp.CSS("#main h1")))
		require.Equal(t, "/ui/executions/"+extract.String(), uitest.Eval[string](tab, `decodeURIComponent(location.pathname)`))
	})
}

// requireCancelled checks the flow and its members after cancel_all:
// every member but the completed one is cancelled.
func requireCancelled(t *testing.T, b backend.Backend, flow seededFlow, completed ff.ExecutionID) {
	t.Helper()
	snap, err := b.DescribeFlow(context.Background(), backend.DescribeFlowParams{FlowID: flow.ID})
	require.NoError(t, err)
	require.Equal(t, ff.FlowCancelled, snap.PublicFlowState)
	require.Equal(t, ff.CancelFlowAll, snap.CancelPolicy)
	for _, m := range snap.Members {
		want := ff.PublicCancelled
		if m.ExecutionID == completed {
			want = ff.PublicCompleted
		}
		require.Equal(t, want, m.PublicState, "member %s", m.Ref)
	}
}

func TestFlowCancelErrorShownInPlace(t *testing.T) {
	eachStore(t, func(t *testing.T, st uitest.Store, b backend.Backend) {
		tab := openPages(t, st, b)
		flow := seedFlow(t, b, "ui-flows-err")
		tab.Open("/ui/flows/" + flow.ID)
		// A policy the form does not offer, as a tampered form would send
		// it: the API's validation message is shown in place.
		uitest.Eval[bool](tab, `(document.querySelector('select[name=policy]').add(new Option('cancel_everything', 'cancel_everything', true, true)), true)`)
		tab.Submit(`form[action$="/cancel"] button[type=submit]`)
		require.Contains(t, tab.Text(".flash.err"), `policy "cancel_everything": want cancel_all, cancel_pending or flow_only`)
		require.Equal(t, "open", tab.Text("#flow-state"))
	})
}

func TestApprovalsInBrowser(t *testing.T) {
	eachStore(t, func(t *testing.T, st uitest.Store, b backend.Backend) {
		tab := openPages(t, st, b)
		approved := seedSuspended(t, b, "ui-approve")
		rejected := seedSuspended(t, b, "ui-reject")
		row := func(id ff.ExecutionID) string { return fmt.Sprintf(`tr[data-execution=%q]`, id.String()) }

		tab.Open("/ui/approvals")
		tab.WaitText(row(approved), "any signal")
		tab.WaitText(row(rejected), "review")
		html := tab.HTML()
		for _, id := range []ff.ExecutionID{approved, rejected} {
			require.NotContains(t, html, waitpointToken(t, b, id), "the page never shows a waitpoint token")
		}
		tab.Screenshot("approvals")

		tab.Submit(row(approved) + ` button.approve`)
		require.Contains(t, tab.Text(".flash.ok"), `Signal "approve" sent`)
		requireDecision(t, b, approved, "approve", true)
		tab.Submit(row(rejected) + ` button.reject`)
		require.Contains(t, tab.Text(".flash.ok"), `Signal "reject" sent`)
		requireDecision(t, b, rejected, "reject", false)
		require.Contains(t, tab.Text("#main"), "Nothing waits for approval.")
	})
}

// The approvals page notices a newly suspended execution while it is
// open and offers a reload instead of rewriting the list under the
// pointer; reloaded, it lists it.
func TestApprovalsLive(t *testing.T) {
	eachStore(t, func(t *testing.T, st uitest.Store, b backend.Backend) {
		tab := openPages(t, st, b)
		row := func(id ff.ExecutionID) string { return fmt.Sprintf(`tr[data-execution=%q]`, id.String()) }
		first := seedSuspended(t, b, "ui-live-a")
		tab.Open("/ui/approvals")
		tab.WaitText(row(first), "review")
		later := seedSuspended(t, b, "ui-live-b")
		tab.WaitText(`[data-k="approvals_changed"]`, "The list changed")
		tab.Screenshot("approvals-changed")
		tab.Open("/ui/approvals")
		tab.WaitText(row(later), "review")
	})
}

func waitpointToken(t *testing.T, b backend.Backend, id ff.ExecutionID) string {
	t.Helper()
	ctx := context.Background()
	ws, err := b.ListWaitpoints(ctx, backend.ListWaitpointsParams{ExecutionID: id})
	require.NoError(t, err)
	require.Len(t, ws, 1)
	tok, err := b.GetWaitpointToken(ctx, backend.GetWaitpointTokenParams{ExecutionID: id, WaitpointID: ws[0].ID})
	require.NoError(t, err)
	return tok
}

// requireDecision checks that the execution received the decision from
// the dashboard and resumed: its next claim carries the signal.
func requireDecision(t *testing.T, b backend.Backend, id ff.ExecutionID, name string, approved bool) {
	t.Helper()
	sigs, err := b.ListSignals(context.Background(), backend.ListSignalsParams{ExecutionID: id})
	require.NoError(t, err)
	require.Len(t, sigs, 1)
	require.Equal(t, name, sigs[0].Name)
	require.Equal(t, ff.SignalSource{Type: "operator", Identity: "dashboard"}, sigs[0].Source)
	var d struct{ Approved bool }
	require.NoError(t, json.Unmarshal(sigs[0].Payload, &d))
	require.Equal(t, approved, d.Approved)
	task := uitest.Claim(t, b, uitest.Describe(t, b, id).Lane)
	require.Equal(t, id, task.ExecutionID)
	require.Len(t, task.ResumedSignals, 1, "the claim resumes the suspension with the decision")
}

func TestBudgetsInBrowser(t *testing.T) {
	eachStore(t, func(t *testing.T, st uitest.Store, b backend.Backend) {
		tab := openPages(t, st, b)
		seedBudget(t, b, "tenant/a?")
		seedQuota(t, b, "llm-rpm")
		budget := `section[data-budget="tenant/a?"]`
		tab.Open("/ui/budgets")
		tokens := tab.Text(budget + ` tr[data-dimension="tokens"]`)
		for _, want := range []string{"700", "500", "1000", "over soft limit"} {
			require.Contains(t, tokens, want)
		}
		require.Contains(t, tab.Text(budget+` tr[data-dimension="calls"]`), "within limits")
		require.Equal(t, "1", tab.Text(budget+` .soft-breaches`))
		require.Equal(t, "700", uitest.Eval[string](tab, `document.querySelector('`+budget+` tr[data-dimension="tokens"] meter').getAttribute('value')`))
		require.Contains(t, tab.Text(`tr[data-quota="llm-rpm"]`), "0 of 5 per 1m0s")
		tab.Screenshot("budgets")

		tab.Submit(budget + ` form button[type=submit]`)
		require.Contains(t, tab.Text(".flash.ok"), "Budget tenant/a? reset")
		got, err := b.GetBudget(context.Background(), backend.GetBudgetParams{BudgetID: "tenant/a?"})
		require.NoError(t, err)
		require.Zero(t, got.Usage["tokens"])
		require.Equal(t, "0", tab.Text(budget+` tr[data-dimension="tokens"] .used`))
	})
}

// TestFlowDrawingMatchesTheStore draws a flow in every kind of state and
// checks each box and edge against the store; its screenshot is the
// README's.
func TestFlowDrawingMatchesTheStore(t *testing.T) {
	eachStore(t, func(t *testing.T, st uitest.Store, b backend.Backend) {
		tab := openPages(t, st, b)
		flow := seedMixedFlow(t, b, "ui-mixed")
		tab.Open("/ui/flows/" + flow.ID)
		snap, err := b.DescribeFlow(context.Background(), backend.DescribeFlowParams{FlowID: flow.ID})
		require.NoError(t, err)
		for _, m := range snap.Members {
			waitFor(tab, nodeSel(m.ExecutionID, m.PublicState))
		}
		for _, e := range snap.Edges {
			waitFor(tab, fmt.Sprintf(`#flow-graph path.edge-%s[data-from=%q][data-to=%q]`, e.State, e.Upstream.String(), e.Downstream.String()))
		}
		states := map[ff.PublicState]bool{}
		for _, m := range snap.Members {
			states[m.PublicState] = true
		}
		for _, want := range []ff.PublicState{ff.PublicCompleted, ff.PublicFailed, ff.PublicActive, ff.PublicSkipped, ff.PublicWaitingChildren} {
			require.True(t, states[want], "the seeded flow has a %s member", want)
		}
		tab.Screenshot("flow-states")
		require.True(t, uitest.Eval[bool](tab, `(() => { const a = document.querySelector('#flow-graph g.dag-node a');
			a.focus(); return document.activeElement === a; })()`), "a member's box takes the keyboard focus")
	})
}

// seedMixedFlow is ingest → parse-a, parse-b, parse-c; merge needs a and
// b, report needs a and c, notify needs report. parse-a completes,
// parse-b fails (merge is skipped), parse-c runs (report and notify wait).
func seedMixedFlow(t *testing.T, b backend.Backend, lane string) seededFlow {
	t.Helper()
	ctx := context.Background()
	member := func(ref string, ups ...string) backend.FlowMemberParams {
		return backend.FlowMemberParams{Ref: ref, DependsOnRefs: ups,
			Execution: backend.CreateExecutionParams{Lane: lane, Kind: "report." + ref}}
	}
	res, err := b.CreateFlow(ctx, backend.CreateFlowParams{Kind: "nightly-report", Members: []backend.FlowMemberParams{
		member("ingest"), member("parse-a", "ingest"), member("parse-b", "ingest"), member("parse-c", "ingest"),
		member("merge", "parse-a", "parse-b"), member("report", "parse-a", "parse-c"), member("notify", "report")}})
	require.NoError(t, err)
	completeOn(t, b, lane)
	tasks, err := b.Claim(ctx, backend.ClaimParams{WorkerID: "ui-test", Lanes: []string{lane}, Max: 3})
	require.NoError(t, err)
	require.Len(t, tasks, 3)
	for _, task := range tasks {
		switch task.ExecutionID {
		case res.ExecutionIDs["parse-a"]:
			uitest.Complete(t, b, task, []byte(`{"rows":120}`))
		case res.ExecutionIDs["parse-b"]:
			uitest.FailPermanently(t, b, task, "malformed input")
		}
	}
	return seededFlow{ID: res.FlowID, Lane: lane, Refs: res.ExecutionIDs}
}

// TestPagesFitAPhone opens the pages at a phone's width: the page never
// scrolls sideways (wide tables and the drawing scroll in their boxes).
func TestPagesFitAPhone(t *testing.T) {
	eachStore(t, func(t *testing.T, st uitest.Store, b backend.Backend) {
		tab := openPages(t, st, b)
		flow := seedMixedFlow(t, b, "ui-phone")
		seedSuspended(t, b, "ui-phone-approve")
		seedBudget(t, b, "tenant-p")
		tab.Do("phone viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
		for name, path := range map[string]string{"phone-flow": "/ui/flows/" + flow.ID, "phone-approvals": "/ui/approvals",
			"phone-budgets": "/ui/budgets"} {
			tab.Open(path)
			require.LessOrEqual(t, uitest.Eval[int](tab, `document.documentElement.scrollWidth`),
				uitest.Eval[int](tab, `window.innerWidth`), "%s scrolls sideways", path)
			tab.Screenshot(name)
		}
	})
}
