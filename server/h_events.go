package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

// sseKeepAlive is how often an idle event stream sends a comment, so
// proxies and clients see the connection alive.
const sseKeepAlive = 15 * time.Second

// eventsFallback is how often waiting readers read again without a
// wake-up (a commit that did not signal, rows held back by a running
// transaction on Postgres).
const eventsFallback = time.Second

// eventFeed shares one events subscription among every waiting reader of
// GET /v1/events: a burst of commits wakes them all with one broadcast.
// It holds the subscription only while someone waits.
type eventFeed struct {
	subscribe func(ctx context.Context) (<-chan struct{}, func())
	max       int // waiters at once; one more is refused
	gauge     func(waiters int)

	mu      sync.Mutex
	gen     chan struct{} // closed and replaced on every wake-up
	waiters int
	stop    context.CancelFunc
}

func newEventFeed(b backend.Backend, max int, gauge func(int)) *eventFeed {
	return &eventFeed{subscribe: b.SubscribeEvents, max: max, gauge: gauge, gen: make(chan struct{})}
}

// join registers a waiter (starting the subscription for the first) and
// returns the function that leaves; false when the feed is at its cap.
func (f *eventFeed) join() (func(), bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.waiters >= f.max {
		return nil, false
	}
	if f.waiters == 0 {
		ctx, cancel := context.WithCancel(context.Background())
		ch, unsub := f.subscribe(ctx)
		f.stop = func() { unsub(); cancel() }
		go f.run(ctx, ch)
	}
	f.waiters++
	f.gauge(f.waiters)
	var once sync.Once
	return func() { once.Do(f.leave) }, true
}

func (f *eventFeed) leave() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.waiters--
	f.gauge(f.waiters)
	if f.waiters == 0 {
		f.stop()
	}
}

// changed returns the channel closed by the next wake-up; take it
// before reading, so a commit between the read and the wait is not lost.
func (f *eventFeed) changed() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.gen
}

func (f *eventFeed) run(ctx context.Context, ch <-chan struct{}) {
	t := time.NewTicker(eventsFallback)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-t.C:
		}
		f.mu.Lock()
		close(f.gen)
		f.gen = make(chan struct{})
		f.mu.Unlock()
	}
}

// eventsRoutes are the routes of the outbox (issue 14 item 4).
func (s *Server) eventsRoutes() []*route {
	return []*route{
		{method: "GET", path: "/v1/events", op: "readEvents",
			summary: "Outbox events in commit order after a cursor; wait_ms long-polls. With Accept: text/event-stream, " +
				"Server-Sent Events (id: the cursor, event: the type, data: the event), resuming after Last-Event-ID. " +
				"Gap-free: walking the cursor sees every committed event exactly once.",
			query: []param{
				{"after", "string", "exclusive cursor; absent: the oldest retained event; latest: only events committed from now on",
					map[string]any{"maxLength": maxCursorBytes}},
				{"types", "string", "comma-separated event types (" + strings.Join(strs(backend.EventTypes...), ", ") + "); absent: all", nil},
				{"lane", "string", "only events of this lane", map[string]any{"maxLength": ff.MaxLaneBytes, "pattern": lanePattern}},
				{"limit", "integer", "page size", map[string]any{"minimum": 1, "maximum": 1000, "default": 100}},
				{"wait_ms", "integer", "long-poll: wait up to this long for an event", map[string]any{"minimum": 0, "maximum": wire.MaxEventsWaitMs, "default": 0}}},
			responses: []response{ok(200, "a page of events (text/event-stream when asked for)", wire.EventPage{})},
			handle:    (*Server).readEvents},
	}
}

// maxCursorBytes bounds a cursor in a query or Last-Event-ID.
const maxCursorBytes = 64

func (s *Server) readEvents(w http.ResponseWriter, r *http.Request) error {
	p, wait, err := eventsQuery(r)
	if err != nil {
		return err
	}
	if strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
		return s.streamEvents(w, r, p)
	}
	if wait > 0 {
		setWriteDeadline(w, wait+eventSettleAllowance+s.timeouts.Write)
	}
	page, err := s.waitEvents(r.Context(), p, wait)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, wire.EventPageOf(page))
	return nil
}

// eventSettleAllowance covers a read that waits for rows held back by
// running transactions (Postgres), beyond wait_ms.
const eventSettleAllowance = 3 * time.Second

// eventsQuery parses and validates the query of GET /v1/events.
func eventsQuery(r *http.Request) (backend.ReadEventsParams, time.Duration, error) {
	q, err := query(r)
	if err != nil {
		return backend.ReadEventsParams{}, 0, err
	}
	p := backend.ReadEventsParams{After: backend.EventCursor(q.Get("after")), Lane: q.Get("lane")}
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		p.After = backend.EventCursor(id)
	}
	if len(p.After) > maxCursorBytes {
		return p, 0, ff.Validation(ff.ErrInvalidInput, "after: %d bytes, at most %d", len(p.After), maxCursorBytes)
	}
	if t := q.Get("types"); t != "" {
		for _, typ := range strings.Split(t, ",") {
			p.Types = append(p.Types, ff.EventType(strings.TrimSpace(typ)))
		}
	}
	if p.Limit, err = queryLimit(q); err != nil {
		return p, 0, err
	}
	waitMs, _, err := queryInt(q, "wait_ms", 64)
	if err != nil {
		return p, 0, err
	}
	if waitMs < 0 || waitMs > wire.MaxEventsWaitMs {
		return p, 0, ff.Validation(ff.ErrInvalidInput, "wait_ms %d outside [0, %d]", waitMs, wire.MaxEventsWaitMs)
	}
	return p, time.Duration(waitMs) * time.Millisecond, p.Normalize()
}

// waitEvents reads once, and with wait reads again on every wake-up of
// the event feed until an event passes the filters, wait passes, the
// client goes away or shutdown begins. The cursor advances past events
// filtered out meanwhile.
func (s *Server) waitEvents(ctx context.Context, p backend.ReadEventsParams, wait time.Duration) (backend.EventPage, error) {
	if wait <= 0 {
		return s.b.ReadEvents(ctx, p)
	}
	leave, ok := s.events.join()
	if !ok {
		return backend.EventPage{}, s.tooManyEventWaiters()
	}
	defer leave()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		changed := s.events.changed()
		page, err := s.b.ReadEvents(ctx, p)
		if err != nil || len(page.Events) > 0 {
			return page, err
		}
		p.After = page.Next
		select {
		case <-changed:
		case <-deadline.C:
			return page, nil
		case <-s.closing:
			return page, nil
		case <-ctx.Done():
			return page, ctx.Err()
		}
	}
}

// streamEvents serves the events as Server-Sent Events until the client
// goes away or shutdown begins. The first read happens before anything
// is written, so a bad cursor is still a 400. Each read takes the feed's
// generation first, so a commit during a read is never waited out.
func (s *Server) streamEvents(w http.ResponseWriter, r *http.Request, p backend.ReadEventsParams) error {
	ctx := r.Context()
	leave, ok := s.events.join()
	if !ok {
		return s.tooManyEventWaiters()
	}
	defer leave()
	changed := s.events.changed()
	page, err := s.b.ReadEvents(ctx, p)
	if err != nil {
		return err
	}
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	keepAlive := time.NewTicker(sseKeepAlive)
	defer keepAlive.Stop()
	for {
		if writeSSE(w, page) != nil || rc.Flush() != nil {
			return nil // the client is gone
		}
		p.After = page.Next
		if len(page.Events) < p.Limit && s.sseIdle(ctx, w, rc, changed, keepAlive.C) != nil {
			return nil
		}
		changed = s.events.changed()
		if page, err = s.b.ReadEvents(ctx, p); err != nil {
			if ctx.Err() == nil {
				writeSSEError(w, err)
			}
			return nil
		}
	}
}

// tooManyEventWaiters is the 429 beyond the cap of waiting event readers
// (long-polls and streams), the cap of long-polling claims.
func (s *Server) tooManyEventWaiters() error {
	return &ff.Error{Class: ff.ClassResourceExhausted, Kind: ff.ErrResourceExhausted, RetryAfterMs: longPollRetryAfterMs,
		Detail: fmt.Sprintf("too many event readers waiting on this server (cap %d); retry later or read with wait_ms 0", s.maxLongPolls)}
}

// errStreamDone ends an event stream: the client left or shutdown began.
var errStreamDone = errors.New("event stream done")

// sseIdle waits for a wake-up, sending keep-alive comments meanwhile.
func (s *Server) sseIdle(ctx context.Context, w http.ResponseWriter, rc *http.ResponseController, changed <-chan struct{}, tick <-chan time.Time) error {
	for {
		select {
		case <-changed:
			return nil
		case <-tick:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return err
			}
			if err := rc.Flush(); err != nil {
				return err
			}
		case <-s.closing:
			return errStreamDone
		case <-ctx.Done():
			return errStreamDone
		}
	}
}

// writeSSE writes one SSE event per event of page: id the cursor, event
// the type, data the event's JSON.
func writeSSE(w http.ResponseWriter, page backend.EventPage) error {
	for _, ev := range page.Events {
		data, err := json.Marshal(wire.EventOf(ev))
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "id: %s\nevent: %s\ndata: %s\n\n", ev.Cursor, ev.Type, data); err != nil {
			return err
		}
	}
	return nil
}

// writeSSEError ends a stream with an error event carrying the API
// error body.
func writeSSEError(w http.ResponseWriter, err error) {
	var fe *ff.Error
	if !errors.As(err, &fe) {
		fe = ff.Transport("read events", err, true)
	}
	data, _ := json.Marshal(wire.BodyOf(fe))
	_, _ = fmt.Fprintf(w, "event: error\ndata: %s\n\n", data)
	_ = http.NewResponseController(w).Flush()
}
