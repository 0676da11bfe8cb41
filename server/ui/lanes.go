package ui

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
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
	States  []ff.PublicState
	Lanes   []laneState
	NextURL string
}

type laneState struct {
	laneRow
	PausedAt, PausedBy, Reason string
}

func (d *Dashboard) lanes(r *http.Request) (page, error) {
	q := r.URL.Query()
	p := backend.ListLanesParams{Cursor: q.Get("cursor")}
	var err error
	if p.Limit, err = pageLimit(q.Get("limit"), 0); err != nil {
		return page{}, err
	}
	if err := p.Normalize(); err != nil {
		return page{}, err
	}
	ls, err := d.b.ListLanes(r.Context(), p)
	if err != nil {
		return page{}, fmt.Errorf("list lanes: %w", err)
	}
	states, err := d.laneStates(r.Context())
	if err != nil {
		return page{}, err
	}
	data := lanesData{States: liveStates(), NextURL: nextLanesURL(ls.NextCursor, q.Get("limit"))}
	data.Lanes = mergeLanes(ls, states, data.States, p.Cursor)
	return page{Template: "lanes", Title: "Lanes", Data: data}, nil
}

// nextLanesURL is the link to the page after cursor ("" on the last).
func nextLanesURL(cursor, limit string) string {
	if cursor == "" {
		return ""
	}
	next := url.Values{"cursor": {cursor}}
	if limit != "" {
		next.Set("limit", limit)
	}
	return "/ui/lanes?" + next.Encode()
}

// mergeLanes lists the page's lanes, and the paused lanes without live
// executions that fall in its range, by name, with their pause state.
func mergeLanes(ls backend.LanePage, states []backend.LaneState, order []ff.PublicState, from string) []laneState {
	byName := map[string]laneState{}
	for _, l := range ls.Lanes {
		byName[l.Name] = laneState{laneRow: newLaneRow(l, order, laneRate{}, 0, false)}
	}
	for _, st := range states {
		l, listed := byName[st.Lane]
		inRange := st.Lane > from && (ls.NextCursor == "" || st.Lane <= ls.NextCursor)
		if !st.Paused || !listed && !inRange {
			continue
		}
		if !listed {
			l.laneRow = laneRow{Name: st.Lane, Depth: make([]int64, len(order))}
		}
		l.Paused, l.PausedBy, l.Reason = true, st.Source, st.Reason
		l.PausedAt = time.UnixMilli(st.PausedAtMs).UTC().Format(time.DateTime)
		byName[st.Lane] = l
	}
	return slices.SortedFunc(maps.Values(byName), func(a, b laneState) int { return strings.Compare(a.Name, b.Name) })
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
