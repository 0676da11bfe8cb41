package ui

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

// flowLive is the flow page's live part: a "flow" event with the flow as
// the API shows it (wire.Flow) and the member counts, sent whenever it
// changes. assets/flows.js recolours the drawing in place; the layout
// depends only on the graph, so nothing moves. A new graph revision (a
// member or edge added) makes the script reload the page for a new layout.
type flowLive struct {
	wire.Flow
	Counts string `json:"counts"`
}

func (d *Dashboard) flowLiveFeed(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if _, err := d.describeFlow(r.Context(), id); err != nil {
		return err
	}
	s := startSSE(w, d.write)
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
	return flowLive{Flow: wire.FlowOf(snap), Counts: countsText(memberCounts(snap.Members))}
}

// countsText is the member counts as one line: "completed 2 · waiting 1".
func countsText(cs []stateCount) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = string(c.State) + " " + strconv.Itoa(c.N)
	}
	return strings.Join(parts, " · ")
}
