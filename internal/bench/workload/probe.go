package workload

import (
	"context"
	"sync/atomic"
	"time"
)

// Probe records when each job's handler started and when its completion
// was acknowledged. Systems call Started first thing in the handler and
// Completed where the completion acknowledgement is observed. Both are
// safe for concurrent use and lock-free.
//
// Invariant: a job (by Payload.N) is counted at most once by each probe
// point; a repeated start (a reclaim) or a repeated acknowledgement keeps
// the first observation. Payloads with N outside [0, jobs) are counted as
// stray and otherwise ignored.
type Probe struct {
	started, done   []atomic.Bool
	pickup, e2e     []atomic.Int64 // nanoseconds, written once per job
	nStarted, nDone atomic.Int64
	stray           atomic.Int64
	firstStart      atomic.Int64 // unix nanos; 0 = none yet
	lastDone        atomic.Int64 // unix nanos; 0 = none yet
	changed         chan struct{}
	now             func() time.Time
}

// NewProbe returns a probe for jobs jobs.
func NewProbe(jobs int) *Probe {
	return &Probe{
		started: make([]atomic.Bool, jobs), done: make([]atomic.Bool, jobs),
		pickup: make([]atomic.Int64, jobs), e2e: make([]atomic.Int64, jobs),
		changed: make(chan struct{}, 1), now: time.Now,
	}
}

// Started records that p's handler started now.
func (pr *Probe) Started(p Payload) {
	if p.N < 0 || p.N >= len(pr.started) {
		pr.stray.Add(1)
		return
	}
	now := pr.now().UnixNano()
	if !pr.started[p.N].CompareAndSwap(false, true) {
		return
	}
	pr.pickup[p.N].Store(max(now-p.T, 0))
	pr.nStarted.Add(1)
	casMin(&pr.firstStart, now)
}

// Completed records that p's completion was acknowledged now.
func (pr *Probe) Completed(p Payload) {
	if p.N < 0 || p.N >= len(pr.done) {
		pr.stray.Add(1)
		return
	}
	now := pr.now().UnixNano()
	if !pr.done[p.N].CompareAndSwap(false, true) {
		return
	}
	pr.e2e[p.N].Store(max(now-p.T, 0))
	casMax(&pr.lastDone, now)
	pr.nDone.Add(1)
	select {
	case pr.changed <- struct{}{}:
	default:
	}
}

// StartedCount is the number of distinct jobs whose handler started.
func (pr *Probe) StartedCount() int { return int(pr.nStarted.Load()) }

// CompletedCount is the number of distinct jobs acknowledged complete.
func (pr *Probe) CompletedCount() int { return int(pr.nDone.Load()) }

// Stray is the number of probe calls for jobs outside this run.
func (pr *Probe) Stray() int { return int(pr.stray.Load()) }

// Window is the work window: first handler start to last completion
// acknowledgement (zero when nothing completed).
func (pr *Probe) Window() time.Duration {
	first, last := pr.firstStart.Load(), pr.lastDone.Load()
	if first == 0 || last == 0 || last < first {
		return 0
	}
	return time.Duration(last - first)
}

// WaitCompleted blocks until at least n jobs completed or ctx ends.
func (pr *Probe) WaitCompleted(ctx context.Context, n int) error {
	for pr.CompletedCount() < n {
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-pr.changed:
		case <-time.After(50 * time.Millisecond): // belt and braces
		}
	}
	return nil
}

// Latencies returns the pickup and end-to-end samples of the jobs that
// reached each probe point.
func (pr *Probe) Latencies() (pickup, endToEnd []time.Duration) {
	for i := range pr.started {
		if pr.started[i].Load() {
			pickup = append(pickup, time.Duration(pr.pickup[i].Load()))
		}
		if pr.done[i].Load() {
			endToEnd = append(endToEnd, time.Duration(pr.e2e[i].Load()))
		}
	}
	return pickup, endToEnd
}

func casMin(a *atomic.Int64, v int64) {
	for {
		cur := a.Load()
		if cur != 0 && cur <= v {
			return
		}
		if a.CompareAndSwap(cur, v) {
			return
		}
	}
}

func casMax(a *atomic.Int64, v int64) {
	for {
		cur := a.Load()
		if cur >= v {
			return
		}
		if a.CompareAndSwap(cur, v) {
			return
		}
	}
}
