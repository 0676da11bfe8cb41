package ui

import (
	"context"
	"fmt"
	"net/http"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// flowsPageSize is how many flows one page of the Flows list shows.
const flowsPageSize = 50

// flowsData is the Flows list: a page of flows by id.
type flowsData struct {
	Flows      []backend.FlowSummary
	Next, Prev string // cursors; Prev is "" on the first page
}

func (d *Dashboard) flows(r *http.Request) (page, error) {
	p := backend.ListFlowsParams{Cursor: r.URL.Query().Get("cursor"), Limit: flowsPageSize}
	if err := p.Normalize(); err != nil {
		return page{}, err
	}
	fp, err := d.b.ListFlows(r.Context(), p)
	if err != nil {
		return page{}, fmt.Errorf("list flows: %w", err)
	}
	data := flowsData{Flows: fp.Flows, Next: fp.NextCursor, Prev: p.Cursor}
	return page{Template: "flows", Title: "Flows", Data: data}, nil
}

// flowData is the flow detail page.
type flowData struct {
	Flow     backend.FlowSnapshot
	Graph    flowGraph
	Counts   string // members by state, as countsText words them
	Policies []string
}

// stateCount is how many members are in one public state.
type stateCount struct {
	State ff.PublicState
	N     int
}

// cancelPolicies are the choices of the cancel form, the default first.
func cancelPolicies() []string {
	return []string{ff.CancelFlowAll, ff.CancelFlowPending, ff.CancelFlowOnly}
}

func (d *Dashboard) flow(r *http.Request) (page, error) {
	snap, err := d.describeFlow(r.Context(), r.PathValue("id"))
	if err != nil {
		return page{}, err
	}
	g, err := drawFlow(snap)
	if err != nil {
		return page{}, err
	}
	data := flowData{Flow: snap, Graph: g, Counts: countsText(memberCounts(snap.Members)), Policies: cancelPolicies()}
	return page{Template: "flow", Title: "Flow " + snap.FlowID, Data: data}, nil
}

// describeFlow reads a flow; a malformed id is the API's validation error.
func (d *Dashboard) describeFlow(ctx context.Context, id string) (backend.FlowSnapshot, error) {
	if _, err := ff.ParseFlowID(id); err != nil {
		return backend.FlowSnapshot{}, err
	}
	snap, err := d.b.DescribeFlow(ctx, backend.DescribeFlowParams{FlowID: id})
	if err != nil {
		return backend.FlowSnapshot{}, fmt.Errorf("describe flow %s: %w", id, err)
	}
	return snap, nil
}

// memberCounts counts members by public state as the flow's state counts
// them, in the order of ff.PublicStates, leaving out empty states.
func memberCounts(ms []backend.FlowMemberState) []stateCount {
	c := backend.FlowStateCounts(ms)
	var out []stateCount
	for _, st := range ff.PublicStates {
		if c[st] > 0 {
			out = append(out, stateCount{State: st, N: c[st]})
		}
	}
	return out
}

// cancelFlow cancels the flow with the form's policy, working the member
// backlog in the same transaction so the result is final when shown.
func (d *Dashboard) cancelFlow(r *http.Request) (string, error) {
	p := backend.CancelFlowParams{FlowID: r.PathValue("id"), Policy: r.PostForm.Get("policy"),
		Reason: actor(r).Reason, Wait: true}
	if err := p.Normalize(); err != nil {
		return "", err
	}
	res, err := d.b.CancelFlow(r.Context(), p)
	if err != nil {
		return "", fmt.Errorf("cancel flow %s: %w", p.FlowID, err)
	}
	if res.Repeated {
		return fmt.Sprintf("Flow %s was already cancelled (%s); nothing changed.", res.FlowID, res.Policy), nil
	}
	return fmt.Sprintf("Flow %s cancelled (%s): %d members cancelled, %d still queued.",
		res.FlowID, res.Policy, res.Cancelled, res.Pending), nil
}
