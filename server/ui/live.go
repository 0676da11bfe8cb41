package ui

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

// Live parts of pages follow Server-Sent Events from a live route: the
// route validates its input, then starts the stream (startSSE) and sends
// named events whose data is JSON; assets/ui.js applies them to the page
// with textContent (never as HTML). A live route follows the backend's
// wake-ups with a poll as the fallback (follow), until the client leaves
// or the server shuts down. The connections at once are capped.

const (
	livePoll      = time.Second
	overviewPoll  = 2 * time.Second
	liveKeepAlive = 15 * time.Second
	defaultLive   = 100
)

// liveLimit counts live connections against the cap.
type liveLimit struct {
	mu     sync.Mutex
	n, max int
}

func newLiveLimit(max int) *liveLimit {
	if max <= 0 {
		max = defaultLive
	}
	return &liveLimit{max: max}
}

func (l *liveLimit) acquire() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n >= l.max {
		return false
	}
	l.n++
	return true
}

func (l *liveLimit) release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n--
}

// serveLive runs a live route within the cap. An error before the stream
// started renders as the error page; after, it ends the stream with a
// "failure" event carrying the API's message.
func (d *Dashboard) serveLive(run func(*Dashboard, http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !d.live.acquire() {
			d.serveError(w, r, &ff.Error{Class: ff.ClassResourceExhausted, Kind: ff.ErrResourceExhausted,
				RetryAfterMs: 1000, Detail: "too many live dashboard connections; reload later"})
			return
		}
		defer d.live.release()
		if err := run(d, w, r); err != nil {
			d.serveError(w, r, err)
		}
	})
}

// sse writes Server-Sent Events, each write bounded by the write
// timeout (a client that stops reading is dropped).
type sse struct {
	w     http.ResponseWriter
	rc    *http.ResponseController
	write time.Duration
	last  time.Time // of the last write, for keep-alives
}

// startSSE sends the stream's headers.
func startSSE(w http.ResponseWriter, write time.Duration) *sse {
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Now().Add(write))
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	s := &sse{w: w, rc: rc, write: write, last: time.Now()}
	_ = rc.Flush()
	return s
}

// flushed writes b and flushes it, within the write timeout.
func (s *sse) flushed(b []byte) error {
	_ = s.rc.SetWriteDeadline(time.Now().Add(s.write))
	if _, err := s.w.Write(b); err != nil {
		return err
	}
	s.last = time.Now()
	return s.rc.Flush()
}

// send writes one event with data as JSON, and flushes it.
func (s *sse) send(event string, data any) error {
	b, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("encode %s event: %w", event, err)
	}
	return s.flushed(fmt.Appendf(nil, "event: %s\ndata: %s\n\n", event, b))
}

// sendChanged sends the event only when its data differs from *last.
func (s *sse) sendChanged(event string, data any, last *[]byte) error {
	b, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("encode %s event: %w", event, err)
	}
	if bytes.Equal(b, *last) {
		return nil
	}
	*last = b
	return s.send(event, json.RawMessage(b))
}

// keepAlive writes a comment when the stream was idle for a while.
func (s *sse) keepAlive() error {
	if time.Since(s.last) < liveKeepAlive {
		return nil
	}
	return s.flushed([]byte(": keep-alive\n\n"))
}

// sendError ends a stream with the API's message for err.
func (s *sse) sendError(err error) {
	_ = s.send("failure", map[string]string{"message": wire.BodyOf(wire.ErrorOf(err)).Error})
}

// follow calls step at once, then after every wake-up and every poll
// interval, until the client leaves, the server shuts down or step fails
// (the failure is sent as a "failure" event). wake may be nil.
func (d *Dashboard) follow(ctx context.Context, s *sse, wake <-chan struct{}, every time.Duration, step func(context.Context) error) {
	poll := time.NewTicker(every)
	defer poll.Stop()
	for {
		if err := step(ctx); err != nil {
			if ctx.Err() == nil {
				s.sendError(err)
			}
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-d.closing:
			return
		case _, open := <-wake:
			if !open {
				wake = nil
			}
		case <-poll.C:
			if s.keepAlive() != nil {
				return
			}
		}
	}
}
