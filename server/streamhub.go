package server

import (
	"context"
	"log/slog"
	"sync"
	"time"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// The stream hub shares the reading of a stream among its followers: the
// long-polls and SSE connections following one attempt's stream join one
// feed, which holds ONE wake-up subscription and reads the new frames
// ONCE per wake-up (one query per append burst, whatever the number of
// followers), keeping the recent frames in memory for them. A follower
// that is behind what the feed keeps reads the store itself to catch up.
//
// An attempt's end wakes nobody (it writes nothing for streams), so a
// feed also polls every feedPoll: a follower learns of the close within
// that time.

const (
	feedPoll  = 500 * time.Millisecond
	feedCache = 1024 // frames a feed keeps for its followers
	feedPage  = backend.MaxStreamReadLimit
)

// feedFrame is a frame and its SSE event, encoded once for every
// follower.
type feedFrame struct {
	frame ff.StreamFrame
	sse   []byte
}

type streamHub struct {
	b       backend.Backend
	log     *slog.Logger
	max     int                 // followers at once; one more is refused
	changed func(followers int) // metric hook

	mu        sync.Mutex
	feeds     map[backend.StreamRef]*feed
	followers int
}

func newStreamHub(b backend.Backend, log *slog.Logger, max int, changed func(int)) *streamHub {
	return &streamHub{b: b, log: log, max: max, changed: changed, feeds: map[backend.StreamRef]*feed{}}
}

// errTooManyFollowers is join's answer at the cap.
var errTooManyFollowers = &ff.Error{Class: ff.ClassResourceExhausted, Kind: ff.ErrResourceExhausted, RetryAfterMs: 1000,
	Detail: "too many stream followers on this server; retry later or read without wait_ms"}

// feed is the shared reader of one stream. Its fields below mu are
// guarded by it; changed is closed (and replaced) whenever they change.
type feed struct {
	hub  *streamHub
	ref  backend.StreamRef
	refs int // guarded by hub.mu
	stop chan struct{}

	mu      sync.Mutex
	frames  []feedFrame // ids in (base, last], ascending
	base    uint64
	last    uint64
	closed  *backend.StreamPage // the page that reported the close
	changed chan struct{}
}

// join returns the feed of ref, starting it at after when it is new, or
// errTooManyFollowers at the cap. The caller must leave.
func (h *streamHub) join(ref backend.StreamRef, after uint64) (*feed, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.followers >= h.max {
		return nil, errTooManyFollowers
	}
	f := h.feeds[ref]
	if f == nil {
		f = &feed{hub: h, ref: ref, stop: make(chan struct{}), base: after, last: after, changed: make(chan struct{})}
		h.feeds[ref] = f
		go f.run()
	}
	f.refs++
	h.followers++
	h.changed(h.followers)
	return f, nil
}

func (f *feed) leave() {
	h := f.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	f.refs--
	h.followers--
	h.changed(h.followers)
	if f.refs == 0 {
		delete(h.feeds, f.ref)
		close(f.stop)
	}
}

// run subscribes before its first read (no append is missed between the
// two), then reads on every wake-up and poll until the stream closes or
// the last follower leaves.
func (f *feed) run() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-f.stop
		cancel()
	}()
	wake, unsubscribe := f.hub.b.SubscribeStream(ctx, f.ref)
	defer unsubscribe()
	poll := time.NewTicker(feedPoll)
	defer poll.Stop()
	for {
		if f.fetch(ctx) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case _, open := <-wake:
			if !open {
				wake = nil
			}
		case <-poll.C:
		}
	}
}

// fetch reads every frame after the feed's last and publishes them; it
// reports whether the stream is closed (nothing more will come).
func (f *feed) fetch(ctx context.Context) bool {
	for {
		f.mu.Lock()
		after := f.last
		f.mu.Unlock()
		page, err := f.hub.b.ReadStream(ctx, backend.ReadStreamParams{StreamRef: f.ref, After: after, Limit: feedPage})
		if err != nil {
			if ctx.Err() == nil {
				f.hub.log.Debug("stream feed read failed", "execution_id", f.ref.ExecutionID, "attempt", f.ref.Attempt, "err", err)
			}
			return false
		}
		f.publish(page)
		if page.Closed || len(page.Frames) < feedPage {
			return page.Closed
		}
	}
}

func (f *feed) publish(page backend.StreamPage) {
	if len(page.Frames) == 0 && !page.Closed {
		return
	}
	encoded := make([]feedFrame, len(page.Frames))
	for i, fr := range page.Frames {
		encoded[i] = feedFrame{frame: fr, sse: sseFrame(fr)}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.frames = append(f.frames, encoded...)
	if n := len(f.frames); n > 0 {
		f.last = f.frames[n-1].frame.ID
	}
	if drop := len(f.frames) - feedCache; drop > 0 {
		f.base = f.frames[drop-1].frame.ID
		f.frames = append([]feedFrame(nil), f.frames[drop:]...)
	}
	if page.Closed {
		p := page
		f.closed = &p
	}
	close(f.changed)
	f.changed = make(chan struct{})
}

// next is what a follower at after gets from the feed without reading
// the store: frames after it (at most limit), or the close once it has
// every frame. behind reports that the feed no longer keeps the frames
// right after after: the follower reads the store itself. When there is
// nothing yet, wait is closed at the next change.
func (f *feed) next(after uint64, limit int) (frames []feedFrame, closed *backend.StreamPage, behind bool, wait <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if after < f.base {
		return nil, nil, true, nil
	}
	if after < f.last {
		i := 0
		for i < len(f.frames) && f.frames[i].frame.ID <= after {
			i++
		}
		end := min(len(f.frames), i+limit)
		return append([]feedFrame(nil), f.frames[i:end]...), nil, false, nil
	}
	if f.closed != nil {
		return nil, f.closed, false, nil
	}
	return nil, nil, false, f.changed
}
