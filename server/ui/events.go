package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// The Events page shows the outbox: by default a live tail (events
// committed from the page's load on); with from=start, pages of the
// oldest retained events, the live feed continuing after the last one.

const eventsPage = 100

// eventsData is the Events page.
type eventsData struct {
	Types    []eventTypeOption
	Lane     string
	FromHere bool // reading from the oldest retained event
	Events   []eventView
	LiveURL  string // the live feed, continuing after the shown events
	NextURL  string // the next page, when this one is full
}

type eventTypeOption struct {
	Name    ff.EventType
	Checked bool
}

// eventView is one event as shown (and as the live feed sends it).
type eventView struct {
	Cursor    string `json:"cursor"`
	Type      string `json:"type"`
	Action    string `json:"action"`
	Execution string `json:"execution"`
	Lane      string `json:"lane"`
	At        string `json:"at"`
	Data      string `json:"data"`
}

func eventViewOf(ev backend.EventRecord) eventView {
	v := eventView{Cursor: string(ev.Cursor), Type: string(ev.Type), Action: ev.Action, Lane: ev.Lane, At: whenMs(ev.AtMs)}
	if !ev.ExecutionID.IsZero() {
		v.Execution = ev.ExecutionID.String()
	}
	if ev.Data != nil {
		if b, err := json.Marshal(ev.Data); err == nil {
			v.Data = string(b)
		}
	}
	return v
}

// eventsParams reads the filters and the cursor as the API does.
func eventsParams(q url.Values) (backend.ReadEventsParams, error) {
	p := backend.ReadEventsParams{After: backend.EventCursor(q.Get("after")), Lane: q.Get("lane"), Limit: eventsPage}
	for _, t := range q["type"] {
		p.Types = append(p.Types, ff.EventType(strings.TrimSpace(t)))
	}
	return p, p.Normalize()
}

// eventsQuery is the filter (and cursor) as a query string.
func eventsQuery(p backend.ReadEventsParams, after backend.EventCursor) string {
	q := url.Values{}
	for _, t := range p.Types {
		q.Add("type", string(t))
	}
	if p.Lane != "" {
		q.Set("lane", p.Lane)
	}
	if after != "" {
		q.Set("after", string(after))
	}
	return q.Encode()
}

func (d *Dashboard) events(r *http.Request) (page, error) {
	q := r.URL.Query()
	p, err := eventsParams(q)
	data := eventsData{Lane: p.Lane, FromHere: q.Get("from") == "start" || p.After != ""}
	for _, t := range backend.EventTypes {
		data.Types = append(data.Types, eventTypeOption{Name: t, Checked: slices.Contains(p.Types, t)})
	}
	if err != nil {
		return page{Template: "events", Title: "Events", Data: data, Refused: err}, nil
	}
	if !data.FromHere {
		p.After = backend.EventCursorLatest
	}
	evs, err := d.b.ReadEvents(r.Context(), p)
	if err != nil {
		return page{}, fmt.Errorf("read events: %w", err)
	}
	for _, ev := range evs.Events {
		data.Events = append(data.Events, eventViewOf(ev))
	}
	data.LiveURL = "/ui/events/live?" + eventsQuery(p, evs.Next)
	if len(evs.Events) == p.Limit {
		data.NextURL = "/ui/events?" + eventsQuery(p, evs.Next)
	}
	return page{Template: "events", Title: "Events", Data: data}, nil
}

// eventsLive sends "events" with every batch committed after the cursor
// that passes the filters. The first read happens before the stream
// starts, so a bad cursor is an error page.
func (d *Dashboard) eventsLive(w http.ResponseWriter, r *http.Request) error {
	p, err := eventsParams(r.URL.Query())
	if err != nil {
		return err
	}
	if p.After == "" {
		p.After = backend.EventCursorLatest
	}
	ctx := r.Context()
	wake, stop := d.b.SubscribeEvents(ctx)
	defer stop()
	page, err := d.b.ReadEvents(ctx, p)
	if err != nil {
		return err
	}
	s := startSSE(w, d.write)
	read := false // the first step sends the page read above
	d.follow(ctx, s, wake, livePoll, func(ctx context.Context) error {
		if read {
			if page, err = d.b.ReadEvents(ctx, p); err != nil {
				return err
			}
		}
		read = true
		p.After = page.Next
		return sendEvents(s, page.Events)
	})
	return nil
}

func sendEvents(s *sse, evs []backend.EventRecord) error {
	if len(evs) == 0 {
		return nil
	}
	out := make([]eventView, len(evs))
	for i, ev := range evs {
		out[i] = eventViewOf(ev)
	}
	return s.send("events", out)
}
