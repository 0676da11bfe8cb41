package ui

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/flowfabric-go/flowfabric/backend"
)

// flowLive is the flow page's live part: a "flow" event with the flow's
// state and its members' and edges' states, sent whenever they change.
// assets/flows.js recolours the drawing in place; the layout depends only
// on the graph, so nothing moves. A new graph revision (a member or edge
// added) makes the script reload the page for a new layout.
type flowLive struct {
	State    string       `json:"state"`
	Revision int64        `json:"revision"`
	Counts   string       `json:"counts"`
	Members  []memberLive `json:"members"`
	Edges    []edgeLive   `json:"edges"`
}

type memberLive struct {
	ID    string `json:"id"`
	State string `json:"state"`
}

type edgeLive struct {
	From  string `json:"from"`
	To    string `json:"to"`
	State string `json:"state"`
}

func (d *Dashboard) flowLiveFeed(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if _, err := d.describeFlow(r.Context(), id); err != nil {
		return err
	}
	s := startSSE(w)
	var last []byte
	d.follow(r.Context(), s, nil, livePoll, func(ctx context.Context) error {
		snap, err := d.describeFlow(ctx, id)
		if err != nil {
			return err
		}
		return s.sendChanged("flow", flowLiveOf(snap), &last)
	})
	return nil
}

func flowLiveOf(snap backend.FlowSnapshot) flowLive {
	out := flowLive{State: snap.PublicFlowState, Revision: snap.GraphRevision,
		Counts:  countsText(memberCounts(snap.Members)),
		Members: make([]memberLive, len(snap.Members)), Edges: make([]edgeLive, len(snap.Edges))}
	for i, m := range snap.Members {
		out.Members[i] = memberLive{ID: m.ExecutionID.String(), State: string(m.PublicState)}
	}
	for i, e := range snap.Edges {
		out.Edges[i] = edgeLive{From: e.Upstream.String(), To: e.Downstream.String(), State: e.State}
	}
	return out
}

// countsText is the member counts as one line: "completed 2 · waiting 1".
func countsText(cs []stateCount) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = string(c.State) + " " + strconv.Itoa(c.N)
	}
	return strings.Join(parts, " · ")
}
