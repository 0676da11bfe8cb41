package wakeup

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ErrTooManyWaiters is Join's answer when the pool is at its cap.
var ErrTooManyWaiters = errors.New("wakeup: too many waiters")

// SubscribeFunc subscribes to wake-ups for lanes, as
// backend.Maintenance.SubscribeWork does.
type SubscribeFunc func(ctx context.Context, lanes []string) (<-chan struct{}, func())

// WaitersConfig configures a Waiters pool.
type WaitersConfig struct {
	// Subscribe is the wake-up source; one subscription per group.
	Subscribe SubscribeFunc
	// Fallback is how often a group with waiters probes without a
	// wake-up (one waiter's claim); default 1 s. Probes across all groups
	// are further spread to at most MaxProbesPerSecond.
	Fallback time.Duration
	// MaxProbesPerSecond bounds fallback probes over all groups
	// (default 10), so many distinct groups cannot add up to a poll per
	// waiter.
	MaxProbesPerSecond int
	// Max caps the waiters at once; 0 means no cap.
	Max int
	// Changed, when set, is called with the number of waiters after each
	// Join and Leave (outside the pool's lock is not promised: keep it
	// cheap and non-blocking).
	Changed func(waiting int)
}

// Waiters shares wake-ups among idle claimers so that their cost does not
// grow with their number. Waiters that would claim the same work (same
// key: lanes and capabilities) form a group with ONE subscription. A
// waiter claims only when it holds a turn, and turns are handed out one at
// a time:
//
//   - a waiter joining a group not known to be idle gets a turn at once,
//     unless another member is claiming already;
//   - each wake-up gives one waiting member a turn;
//   - a claim that came back full (work may remain) hands turns to two
//     more members, so a burst fans out without a stampede;
//   - a claim that came back short marks the group idle, unless a
//     wake-up arrived since its turn began;
//   - every Fallback, a group with waiters and no claim in flight gives
//     one member a turn whatever its state (the safety net for a lost
//     wake-up);
//   - a turn given up unused (the waiter left) passes to the next member.
//
// So N idle waiters on one group cost one claim per Fallback, not N.
type Waiters struct {
	cfg WaitersConfig

	mu      sync.Mutex
	groups  map[string]*group
	waiting int
}

// group is the waiters of one key. Fields are guarded by Waiters.mu.
type group struct {
	key      string
	queue    []*Waiter // members without a turn, oldest first
	claiming int       // members holding a turn
	members  int       // queued + holding a turn
	idle     bool      // the last claim found no more work and no wake-up came since
	gen      uint64    // wake-ups received
	stop     chan struct{}
}

// Waiter is one member of a group.
type Waiter struct {
	p        *Waiters
	g        *group
	turn     chan struct{} // receives when the waiter may claim
	hasTurn  bool
	startGen uint64
	left     bool
}

// NewWaiters returns an empty pool.
func NewWaiters(cfg WaitersConfig) *Waiters {
	if cfg.Fallback <= 0 {
		cfg.Fallback = time.Second
	}
	if cfg.MaxProbesPerSecond <= 0 {
		cfg.MaxProbesPerSecond = 10
	}
	return &Waiters{cfg: cfg, groups: map[string]*group{}}
}

// Join adds a waiter to the group of key, creating it (and its
// subscription to lanes) if needed. It fails with ErrTooManyWaiters when
// the pool is at its cap. The caller must Leave.
func (p *Waiters) Join(key string, lanes []string) (*Waiter, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cfg.Max > 0 && p.waiting >= p.cfg.Max {
		return nil, ErrTooManyWaiters
	}
	g := p.groups[key]
	if g == nil {
		g = p.startGroup(key, lanes)
	}
	w := &Waiter{p: p, g: g, turn: make(chan struct{}, 1)}
	g.members++
	p.waiting++
	if !g.idle && g.claiming == 0 {
		p.grant(w)
	} else {
		g.queue = append(g.queue, w)
	}
	p.changed()
	return w, nil
}

// Waiting is the number of waiters in the pool.
func (p *Waiters) Waiting() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.waiting
}

// startGroup subscribes before any member claims, so a wake-up between an
// empty claim and the wait is never lost. Called with p.mu held.
func (p *Waiters) startGroup(key string, lanes []string) *group {
	g := &group{key: key, stop: make(chan struct{})}
	p.groups[key] = g
	ctx, cancel := context.WithCancel(context.Background())
	wake, unsubscribe := p.cfg.Subscribe(ctx, lanes)
	go p.run(g, wake, func() { unsubscribe(); cancel() })
	return g
}

// run forwards the group's wake-ups and runs its fallback probe until the
// group empties.
func (p *Waiters) run(g *group, wake <-chan struct{}, unsubscribe func()) {
	defer unsubscribe()
	probe := time.NewTimer(p.probeInterval())
	defer probe.Stop()
	for {
		select {
		case <-g.stop:
			return
		case _, open := <-wake:
			if !open {
				wake = nil // the source ended: the probe carries on alone
				continue
			}
			p.woken(g)
		case <-probe.C:
			p.probe(g)
			probe.Reset(p.probeInterval())
		}
	}
}

// probeInterval spreads probes: Fallback, or longer when many groups
// would together exceed MaxProbesPerSecond.
func (p *Waiters) probeInterval() time.Duration {
	p.mu.Lock()
	n := len(p.groups)
	p.mu.Unlock()
	return max(p.cfg.Fallback, time.Duration(n)*time.Second/time.Duration(p.cfg.MaxProbesPerSecond))
}

// woken handles a wake-up: the group may have work, and one member tries.
func (p *Waiters) woken(g *group) {
	p.mu.Lock()
	defer p.mu.Unlock()
	g.gen++
	g.idle = false
	p.grantNext(g, 1)
}

// probe gives one member a turn when nobody is claiming.
func (p *Waiters) probe(g *group) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if g.claiming == 0 {
		p.grantNext(g, 1)
	}
}

// grantNext gives up to n queued members a turn. Called with p.mu held.
func (p *Waiters) grantNext(g *group, n int) {
	for ; n > 0 && len(g.queue) > 0; n-- {
		w := g.queue[0]
		g.queue[0] = nil
		g.queue = g.queue[1:]
		p.grant(w)
	}
}

// grant gives w a turn. Called with p.mu held; w is not queued.
func (p *Waiters) grant(w *Waiter) {
	w.hasTurn = true
	w.startGen = w.g.gen
	w.g.claiming++
	w.turn <- struct{}{} // never blocks: one turn at a time per waiter
}

// Turn receives when the waiter may claim.
func (w *Waiter) Turn() <-chan struct{} { return w.turn }

// Claimed reports the claim made on the current turn: n tasks of at most
// max. A full claim passes turns on (work may remain); a short one marks
// the group idle unless a wake-up came since the turn began. The waiter
// keeps its place and waits for another turn unless it leaves.
func (w *Waiter) Claimed(n, max int) {
	p, g := w.p, w.g
	p.mu.Lock()
	defer p.mu.Unlock()
	if !w.hasTurn || w.left {
		return
	}
	w.endTurn()
	switch {
	case n >= max:
		g.idle = false
		p.grantNext(g, 2)
	case g.gen == w.startGen:
		g.idle = true
	}
	g.queue = append(g.queue, w)
}

// Failed reports that the claim on the current turn failed: the turn
// ends without a verdict on the group (no idle mark, no hand-off); the
// fallback probe tries again.
func (w *Waiter) Failed() {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	if w.hasTurn && !w.left {
		w.endTurn()
		w.g.queue = append(w.g.queue, w)
	}
}

// endTurn ends w's turn. Called with p.mu held.
func (w *Waiter) endTurn() {
	w.hasTurn = false
	w.g.claiming--
	select { // drop a turn granted but not yet received
	case <-w.turn:
	default:
	}
}

// Leave removes the waiter; a turn it held unused passes to the next
// member. The last member to leave ends the group and its subscription.
// Leave is idempotent.
func (w *Waiter) Leave() {
	p, g := w.p, w.g
	p.mu.Lock()
	defer p.mu.Unlock()
	if w.left {
		return
	}
	w.left = true
	if w.hasTurn {
		w.endTurn()
		p.grantNext(g, 1)
	} else {
		g.removeQueued(w)
	}
	g.members--
	p.waiting--
	if g.members == 0 {
		delete(p.groups, g.key)
		close(g.stop)
	}
	p.changed()
}

func (g *group) removeQueued(w *Waiter) {
	for i, q := range g.queue {
		if q == w {
			g.queue = append(g.queue[:i], g.queue[i+1:]...)
			return
		}
	}
}

// changed reports the waiter count. Called with p.mu held.
func (p *Waiters) changed() {
	if p.cfg.Changed != nil {
		p.cfg.Changed(p.waiting)
	}
}
