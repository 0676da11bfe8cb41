package wakeup

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// source is a wake-up source the test drives: one channel per
// subscription, and a count of live subscriptions.
type source struct {
	mu   sync.Mutex
	subs map[chan struct{}]bool
	gone chan struct{} // receives when a subscription ends
}

func newSource() *source {
	return &source{subs: map[chan struct{}]bool{}, gone: make(chan struct{}, 16)}
}

func (s *source) subscribe(_ context.Context, _ []string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	s.mu.Lock()
	s.subs[ch] = true
	s.mu.Unlock()
	return ch, func() {
		s.mu.Lock()
		delete(s.subs, ch)
		s.mu.Unlock()
		s.gone <- struct{}{}
	}
}

func (s *source) notify() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ch := range s.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

func (s *source) live() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.subs)
}

func hasTurn(w *Waiter) bool {
	select {
	case <-w.Turn():
		return true
	default:
		return false
	}
}

func awaitTurn(t *testing.T, w *Waiter) {
	t.Helper()
	select {
	case <-w.Turn():
	case <-time.After(5 * time.Second):
		t.Fatal("no turn")
	}
}

func newPool(src *source, max int) *Waiters {
	return NewWaiters(WaitersConfig{Subscribe: src.subscribe, Fallback: time.Hour, Max: max})
}

func join(t *testing.T, p *Waiters, key string) *Waiter {
	t.Helper()
	w, err := p.Join(key, []string{"l"})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestOneClaimerAtATimeAndIdleGroupsWait(t *testing.T) {
	src := newSource()
	p := newPool(src, 0)
	a := join(t, p, "k")
	b := join(t, p, "k")
	if !hasTurn(a) || hasTurn(b) {
		t.Fatal("the first joiner claims, the second waits for it")
	}
	a.Claimed(0, 1) // nothing: the group is idle
	c := join(t, p, "k")
	if hasTurn(b) || hasTurn(c) {
		t.Fatal("an idle group gave a turn without a wake-up")
	}
	if src.live() != 1 {
		t.Fatalf("%d subscriptions for one group", src.live())
	}
	for _, w := range []*Waiter{a, b, c} {
		w.Leave()
	}
	<-src.gone
	if p.Waiting() != 0 || src.live() != 0 {
		t.Fatal("the empty group kept its subscription")
	}
}

func TestWakeUpGivesOneTurnAndFullClaimsChain(t *testing.T) {
	src := newSource()
	p := newPool(src, 0)
	first := join(t, p, "k")
	awaitTurn(t, first)
	first.Claimed(0, 1)
	ws := []*Waiter{first}
	for range 5 {
		ws = append(ws, join(t, p, "k"))
	}
	src.notify()
	// Turns go oldest first: first, which re-queued before the others
	// joined, wins.
	awaitTurn(t, ws[0])
	for _, w := range ws[1:] {
		if hasTurn(w) {
			t.Fatal("a wake-up woke more than one waiter")
		}
	}
	ws[0].Claimed(1, 1) // full: two more try
	awaitTurn(t, ws[1])
	awaitTurn(t, ws[2])
	if hasTurn(ws[3]) {
		t.Fatal("a full claim handed on more than two turns")
	}
	ws[1].Claimed(0, 1)
	ws[2].Claimed(0, 1)
	for _, w := range ws {
		if hasTurn(w) {
			t.Fatal("short claims handed turns on")
		}
	}
	for _, w := range ws {
		w.Leave()
	}
	<-src.gone
}

func TestWakeUpDuringAClaimKeepsTheGroupBusy(t *testing.T) {
	src := newSource()
	p := newPool(src, 0)
	a := join(t, p, "k")
	awaitTurn(t, a)
	src.notify() // arrives while a claims: nobody else is queued
	deadline := time.After(5 * time.Second)
	for {
		p.mu.Lock()
		gen := a.g.gen
		p.mu.Unlock()
		if gen == 1 {
			break
		}
		select {
		case <-deadline:
			t.Fatal("wake-up not seen")
		case <-time.After(time.Millisecond):
		}
	}
	a.Claimed(0, 1) // may have missed the new work: not idle
	b := join(t, p, "k")
	if !hasTurn(b) {
		t.Fatal("a joiner after a missed wake-up did not claim at once")
	}
	a.Leave()
	b.Leave()
	<-src.gone
}

func TestLeavingWithAnUnusedTurnPassesIt(t *testing.T) {
	src := newSource()
	p := newPool(src, 0)
	a := join(t, p, "k")
	b := join(t, p, "k")
	c := join(t, p, "k")
	a.Leave() // had the turn, never claimed
	awaitTurn(t, b)
	if hasTurn(c) {
		t.Fatal("a passed turn reached two waiters")
	}
	b.Failed() // an error: no verdict, no hand-off
	if hasTurn(c) {
		t.Fatal("a failed claim handed its turn on")
	}
	b.Leave()
	c.Leave()
	<-src.gone
}

func TestFallbackProbeGivesOneTurn(t *testing.T) {
	src := newSource()
	p := NewWaiters(WaitersConfig{Subscribe: src.subscribe, Fallback: 10 * time.Millisecond})
	a := join(t, p, "k")
	awaitTurn(t, a)
	a.Claimed(0, 1)
	b := join(t, p, "k")
	// Idle, no wake-up: only the probe gives a turn, to one of them.
	select {
	case <-a.Turn():
		a.Claimed(0, 1)
	case <-b.Turn():
		b.Claimed(0, 1)
	case <-time.After(5 * time.Second):
		t.Fatal("no probe")
	}
	a.Leave()
	b.Leave()
	<-src.gone
}

func TestCapAndSeparateGroups(t *testing.T) {
	src := newSource()
	var counts []int
	p := NewWaiters(WaitersConfig{Subscribe: src.subscribe, Fallback: time.Hour, Max: 2,
		Changed: func(n int) { counts = append(counts, n) }})
	a := join(t, p, "x")
	b := join(t, p, "y")
	if !hasTurn(a) || !hasTurn(b) {
		t.Fatal("each group's first joiner claims")
	}
	if _, err := p.Join("x", []string{"l"}); !errors.Is(err, ErrTooManyWaiters) {
		t.Fatalf("over the cap: %v", err)
	}
	a.Leave()
	a.Leave() // idempotent
	b.Leave()
	<-src.gone
	<-src.gone
	if len(counts) != 4 || counts[1] != 2 || counts[3] != 0 {
		t.Fatalf("changes reported: %v", counts)
	}
}
