// Package wakeup is an in-process hub that wakes idle workers when work may
// have become claimable on a lane. Wake-ups are hints: they coalesce, may
// be spurious, and never carry data, so a subscriber always re-claims
// from the store and keeps a short poll as a fallback.
package wakeup

import (
	"context"
	"sync"
)

// Hub fans lane notifications out to subscribers.
type Hub struct {
	mu     sync.Mutex
	byLane map[string]map[*sub]struct{}
}

type sub struct{ ch chan struct{} }

// New returns an empty hub.
func New() *Hub { return &Hub{byLane: map[string]map[*sub]struct{}{}} }

// Subscribe returns a channel with a one-slot buffer that receives when
// Notify is called for one of lanes, and a function that unsubscribes.
// Unsubscribing, or ctx ending, removes the subscriber and then closes
// the channel (after removal no Notify can send on it).
func (h *Hub) Subscribe(ctx context.Context, lanes []string) (<-chan struct{}, func()) {
	s := &sub{ch: make(chan struct{}, 1)}
	h.mu.Lock()
	for _, l := range lanes {
		m := h.byLane[l]
		if m == nil {
			m = map[*sub]struct{}{}
			h.byLane[l] = m
		}
		m[s] = struct{}{}
	}
	h.mu.Unlock()
	var once sync.Once
	unsubscribe := func() {
		once.Do(func() {
			h.mu.Lock()
			for _, l := range lanes {
				if m := h.byLane[l]; m != nil {
					delete(m, s)
					if len(m) == 0 {
						delete(h.byLane, l)
					}
				}
			}
			h.mu.Unlock()
			close(s.ch)
		})
	}
	stop := context.AfterFunc(ctx, unsubscribe)
	return s.ch, func() {
		stop()
		unsubscribe()
	}
}

// Notify wakes every subscriber of lane without blocking; a subscriber
// that has a wake-up pending already keeps just the one.
func (h *Hub) Notify(lane string) {
	h.mu.Lock()
	for s := range h.byLane[lane] {
		select {
		case s.ch <- struct{}{}:
		default:
		}
	}
	h.mu.Unlock()
}

// HasSubscribers reports whether anyone waits on lane.
func (h *Hub) HasSubscribers(lane string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.byLane[lane]) > 0
}

// EventsKey is the hub key of outbox wake-ups: no lane can have this
// name (lanes are printable ASCII), so event followers and claimers never
// share a subscription.
const EventsKey = "\x01events"
