package ui

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// dashboardSource is the source every dashboard action records in its
// operator event.
const dashboardSource = "dashboard"

// actor is who an action records: the dashboard, with the form's reason.
func actor(r *http.Request) ff.Actor {
	return ff.Actor{Source: dashboardSource, Reason: r.PostForm.Get("reason")}
}

// lanesData is the Lanes page: a page of lanes with their depth and
// pause state, paused lanes without live executions included.
type lanesData struct {
	States []ff.PublicState
	Lanes  []laneState
	Next   string
}

type laneState struct {
	laneRow
	PausedAt, PausedBy, Reason string
}

func (d *Dashboard) lanes(r *http.Request) (page, error) {
	p := backend.ListLanesParams{Cursor: r.URL.Query().Get("cursor")}
	if err := p.Normalize(); err != nil {
		return page{}, err
	}
	ls, err := d.b.ListLanes(r.Context(), p)
	if err != nil {
		return page{}, fmt.Errorf("list lanes: %w", err)
	}
	states, err := d.b.LaneStates(r.Context(), backend.LaneStatesParams{})
	if err != nil && ff.KindOf(err) != ff.ErrUnavailable {
		return page{}, fmt.Errorf("read lane states: %w", err)
	}
	data := lanesData{States: liveStates(), Next: ls.NextCursor}
	data.Lanes = mergeLanes(ls, states, data.States, p.Cursor)
	return page{Template: "lanes", Title: "Lanes", Data: data}, nil
}

// mergeLanes lists the page's lanes and the paused lanes that fall in its
// range, by name.
func mergeLanes(ls backend.LanePage, states []backend.LaneState, order []ff.PublicState, from string) []laneState {
	byName := map[string]*laneState{}
	var out []laneState
	for _, l := range ls.Lanes {
		out = append(out, laneState{laneRow: newLaneRow(l, order, laneRate{}, 0, false)})
	}
	for _, st := range states {
		inPage := st.Lane > from && (ls.NextCursor == "" || st.Lane <= ls.NextCursor)
		if !slices.ContainsFunc(out, func(l laneState) bool { return l.Name == st.Lane }) && inPage {
			out = append(out, laneState{laneRow: laneRow{Name: st.Lane, Depth: make([]int64, len(order))}})
		}
	}
	for i := range out {
		byName[out[i].Name] = &out[i]
	}
	for _, st := range states {
		if l := byName[st.Lane]; l != nil && st.Paused {
			l.Paused, l.PausedBy, l.Reason = true, st.Source, st.Reason
			l.PausedAt = time.UnixMilli(st.PausedAtMs).UTC().Format(time.DateTime)
		}
	}
	slices.SortFunc(out, func(a, b laneState) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func (d *Dashboard) pauseLane(r *http.Request) (string, error) { return d.setLanePaused(r, true) }

func (d *Dashboard) resumeLane(r *http.Request) (string, error) { return d.setLanePaused(r, false) }

func (d *Dashboard) setLanePaused(r *http.Request, paused bool) (string, error) {
	p := backend.SetLanePausedParams{Lane: r.PathValue("lane"), Paused: paused, Who: actor(r)}
	if err := p.Normalize(); err != nil {
		return "", err
	}
	st, err := d.b.SetLanePaused(r.Context(), p)
	if err != nil {
		return "", err
	}
	if st.Paused {
		return fmt.Sprintf("Lane %s is paused: claims skip it until it is resumed.", st.Lane), nil
	}
	return fmt.Sprintf("Lane %s is resumed: its waiting executions are claimable.", st.Lane), nil
}
