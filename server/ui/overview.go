package ui

import (
	"context"
	"fmt"
	"net/http"
	"time"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// overviewLanes bounds the lanes the overview shows (the Lanes page pages
// through all of them).
const overviewLanes = 100

// liveStates are the public states a lane's queue depth counts, in the
// order the tables show them.
func liveStates() []ff.PublicState {
	var out []ff.PublicState
	for _, s := range ff.PublicStates {
		if !s.IsTerminal() {
			out = append(out, s)
		}
	}
	return out
}

// overviewData is the overview page and its live updates.
type overviewData struct {
	States     []ff.PublicState `json:"-"`
	Lanes      []laneRow        `json:"lanes"`
	More       bool             `json:"-"`
	Throughput string           `json:"throughput"` // completions per minute
	FailurePct string           `json:"failure_pct"`
	RateSpan   string           `json:"rate_span"`
	Leadership string           `json:"leadership"`
	Backend    string           `json:"-"`
	Version    string           `json:"-"`
}

// laneRow is one lane: queue depth by state, rates, paused.
type laneRow struct {
	Name       string                   `json:"name"`
	Counts     map[ff.PublicState]int64 `json:"counts"`
	Depth      []int64                  `json:"-"` // Counts in States order
	Total      int64                    `json:"total"`
	Throughput string                   `json:"throughput"`
	FailurePct string                   `json:"failure_pct"`
	Paused     bool                     `json:"paused"`
}

func (d *Dashboard) overview(r *http.Request) (page, error) {
	data, err := d.overviewOf(r.Context())
	if err != nil {
		return page{}, err
	}
	return page{Template: "overview", Title: "Overview", Data: data}, nil
}

func (d *Dashboard) overviewOf(ctx context.Context) (overviewData, error) {
	lanes, err := d.b.ListLanes(ctx, backend.ListLanesParams{Limit: overviewLanes})
	if err != nil {
		return overviewData{}, fmt.Errorf("list lanes: %w", err)
	}
	paused, err := d.pausedLanes(ctx)
	if err != nil {
		return overviewData{}, err
	}
	rt, err := d.rates.read(ctx, d.b, time.Now())
	if err != nil && ff.KindOf(err) != ff.ErrUnavailable {
		return overviewData{}, err
	}
	out := overviewData{States: liveStates(), More: lanes.NextCursor != "", Throughput: rt.All.PerMinute(rt.Minutes),
		FailurePct: rt.All.FailurePct(), RateSpan: spanText(rt, err), Leadership: d.leadership(),
		Backend: d.b.Label(), Version: d.version}
	for _, l := range lanes.Lanes {
		out.Lanes = append(out.Lanes, newLaneRow(l, out.States, rt.ByLane[l.Name], rt.Minutes, paused[l.Name]))
	}
	return out, nil
}

func newLaneRow(l backend.LaneInfo, states []ff.PublicState, lr laneRate, span float64, paused bool) laneRow {
	row := laneRow{Name: l.Name, Counts: l.Counts, Throughput: lr.PerMinute(span), FailurePct: lr.FailurePct(), Paused: paused}
	for _, s := range states {
		row.Depth = append(row.Depth, l.Counts[s])
		row.Total += l.Counts[s]
	}
	return row
}

// spanText says what the rates cover; err is the read's (the backend
// keeps no events).
func spanText(rt rates, err error) string {
	if err != nil {
		return "nothing: this backend keeps no events"
	}
	if rt.Minutes >= rateSpan {
		return fmt.Sprintf("the last %d minutes", rateSpan)
	}
	return "the time since " + rt.Since.UTC().Format("15:04:05") + " UTC (the dashboard counts from its first view)"
}

// leadership says whether this process runs the reconcilers.
func (d *Dashboard) leadership() string {
	switch {
	case d.leading == nil:
		return "not run by this process"
	case d.leading():
		return "this process leads the reconcilers"
	default:
		return "another process leads the reconcilers"
	}
}

// laneStates reads the paused lanes; a backend without lane pausing has
// none.
func (d *Dashboard) laneStates(ctx context.Context) ([]backend.LaneState, error) {
	states, err := d.b.LaneStates(ctx, backend.LaneStatesParams{})
	if ff.KindOf(err) == ff.ErrUnavailable {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read lane states: %w", err)
	}
	return states, nil
}

// pausedLanes is the set of paused lanes.
func (d *Dashboard) pausedLanes(ctx context.Context) (map[string]bool, error) {
	states, err := d.laneStates(ctx)
	out := make(map[string]bool, len(states))
	for _, s := range states {
		out[s.Lane] = s.Paused
	}
	return out, err
}

// overviewLive sends the overview's numbers whenever they changed,
// read every overviewPoll.
func (d *Dashboard) overviewLive(w http.ResponseWriter, r *http.Request) error {
	s := startSSE(w, d.write)
	var last []byte
	d.follow(r.Context(), s, nil, overviewPoll, func(ctx context.Context) error {
		data, err := d.overviewOf(ctx)
		if err != nil {
			return err
		}
		return s.sendChanged("overview", data, &last)
	})
	return nil
}
