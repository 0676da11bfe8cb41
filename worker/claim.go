package worker

import (
	"context"
	"runtime"
	"time"

	"github.com/flowfabric-go/flowfabric/backend"
)

// claimLoop claims work into free concurrency slots until ctx is done.
// Each claim asks for min(free slots, ClaimBatch) tasks; any non-empty
// result is followed at once by another claim, an empty one means the
// lanes are drained and the loop waits for a wake-up or its poll timer.
// Config.Claimers loops run side by side, sharing the slots.
func (w *Worker) claimLoop(ctx context.Context) {
	var wake <-chan struct{}
	if s, ok := w.transport.(WorkSubscriber); ok {
		ch, unsubscribe := s.SubscribeWork(ctx, backend.SubscribeWorkParams{Lanes: w.cfg.Lanes})
		defer unsubscribe()
		wake = ch
	}
	idle := newIdler(w.cfg, wake)
	defer idle.stop()
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	for ctx.Err() == nil {
		// Let handlers that just finished give their slots back first, so
		// one claim refills many slots instead of many claims a few.
		runtime.Gosched()
		w.gatherSlots(ctx, linger, claimLinger)
		n := w.slots.take(w.cfg.ClaimBatch)
		if n == 0 {
			if !w.slots.await(1) {
				select {
				case <-ctx.Done():
				case <-w.slots.freed:
				}
			}
			continue
		}
		claimedAt := w.clock.Now()
		tasks, err := w.transport.Claim(ctx, backend.ClaimParams{
			WorkerID: w.cfg.WorkerID, WorkerInstanceID: w.cfg.InstanceID, Lanes: w.cfg.Lanes,
			Capabilities: w.cfg.Capabilities, LeaseTTL: w.cfg.LeaseTTL, Max: n,
		})
		if len(tasks) > n {
			tasks = tasks[:n] // never run more than the slots reserved
		}
		w.slots.put(n - len(tasks))
		if ctx.Err() != nil {
			// The answer arrived as the worker stops: give the tasks back
			// rather than start them.
			w.releaseClaimed(tasks)
			w.slots.put(len(tasks))
			return
		}
		for _, c := range tasks {
			w.start(c, claimedAt)
		}
		switch {
		case err != nil:
			if ctx.Err() == nil {
				w.log.Warn("worker: claim failed", "error", err)
				idle.backoff(ctx)
			}
		case len(tasks) > 0:
			// A short batch may only mean another claimer holds the
			// rows it wanted: claim again at once; an empty one waits.
			idle.reset()
		default:
			idle.wait(ctx)
		}
	}
}

// claimLinger is the longest a claim waits for running handlers to give
// back enough slots for half a batch.
const claimLinger = time.Millisecond

// gatherSlots lets the next claim wait, at most d, while fewer
// than half a batch of slots is free and handlers are running: those
// handlers are about to give slots back, and one claim of many rows costs
// the database far less than several claims of a few. An idle worker, or
// one with half a batch free, claims at once.
func (w *Worker) gatherSlots(ctx context.Context, timer *time.Timer, d time.Duration) {
	half := (w.cfg.ClaimBatch + 1) / 2
	if w.slots.available() >= half || w.running.Load() == 0 {
		return
	}
	timer.Reset(d)
	defer timer.Stop()
	for !w.slots.await(half) && w.running.Load() > 0 {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
			return
		case <-w.slots.freed:
		}
	}
}

// idler decides how long an idle claim loop waits. With wake-ups it waits
// for one, or PollInterval as a fallback; without, it polls with a
// backoff from PollBackoffMin doubling to PollBackoffMax.
type idler struct {
	wake     <-chan struct{}
	poll     time.Duration
	minDelay time.Duration
	maxDelay time.Duration
	cur      time.Duration
	timer    *time.Timer
}

func newIdler(cfg Config, wake <-chan struct{}) *idler {
	lo := min(PollBackoffMin, cfg.PollBackoffMax)
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &idler{wake: wake, poll: cfg.PollInterval, minDelay: lo, maxDelay: cfg.PollBackoffMax, cur: lo, timer: t}
}

func (i *idler) reset() { i.cur = i.minDelay }

func (i *idler) stop() { i.timer.Stop() }

// wait waits for a wake-up or the poll timer.
func (i *idler) wait(ctx context.Context) {
	if i.wake != nil {
		i.sleep(ctx, i.poll, i.wake)
		return
	}
	i.backoff(ctx)
}

// backoff waits the current backoff, ignoring wake-ups, and grows it.
func (i *idler) backoff(ctx context.Context) {
	d := i.cur
	i.cur = min(i.cur*2, i.maxDelay)
	i.sleep(ctx, d, nil)
}

func (i *idler) sleep(ctx context.Context, d time.Duration, wake <-chan struct{}) {
	i.timer.Reset(d)
	defer i.timer.Stop()
	select {
	case <-ctx.Done():
	case <-wake:
	case <-i.timer.C:
	}
}
