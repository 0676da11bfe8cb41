package ui

import (
	"html/template"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/server/ui/dag"
)

// flowGraph is a flow's DAG drawn as SVG, with the size of its box so the
// page reserves it before the drawing (and live updates never move it).
type flowGraph struct {
	SVG           template.HTML
	Width, Height int
}

// edgeStates are the edge classes every drawing has an arrowhead for, so
// a live update that changes an edge's state keeps its arrow.
func edgeStates() []string { return []string{ff.EdgeUnresolved, ff.EdgeSatisfied, ff.EdgeImpossible} }

// drawFlow lays out the flow's members (in their stored order, so the
// drawing is stable) and draws them.
func drawFlow(snap backend.FlowSnapshot) (flowGraph, error) {
	nodes := make([]dag.Node, len(snap.Members))
	for i, m := range snap.Members {
		nodes[i] = memberNode(m)
	}
	edges := make([]dag.Edge, len(snap.Edges))
	for i, e := range snap.Edges {
		edges[i] = dag.Edge{From: e.Upstream.String(), To: e.Downstream.String(), Class: e.State}
	}
	l := dag.Compute(nodes, edges)
	svg, err := dag.SVG(l, "Dependency graph of flow "+snap.FlowID, edgeStates()...)
	if err != nil {
		return flowGraph{}, err
	}
	return flowGraph{SVG: svg, Width: l.Width, Height: l.Height}, nil
}

// memberNode is a member as a node: its ref (or short id) and its public
// state, spelled out so the colour is never the only cue.
func memberNode(m backend.FlowMemberState) dag.Node {
	id := m.ExecutionID.String()
	label := m.Ref
	if label == "" {
		label = m.ExecutionID.UUID.String()[:8]
	}
	title := id + " · " + string(m.PublicState) + " · join " + m.Join.Policy
	if m.SiblingCancelled {
		title += " · cancelled by its sibling's join"
	}
	return dag.Node{ID: id, Label: label, Sub: string(m.PublicState), Class: string(m.PublicState),
		Title: title, Href: executionPath(m.ExecutionID)}
}

// executionPath is the dashboard page of an execution.
func executionPath(id ff.ExecutionID) string { return "/ui/executions/" + id.String() }
