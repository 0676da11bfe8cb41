package fftest

import (
	"time"

	"github.com/flowfabric-go/flowfabric/backend"
)

// Now is the engine's time.
func (e *Engine) Now() time.Time {
	if e.fake == nil {
		return time.Now()
	}
	return e.fake.Now()
}

// Advance moves the fake clock forward by d and sweeps (see AdvanceTo).
func (e *Engine) Advance(d time.Duration) {
	e.t.Helper()
	e.AdvanceTo(e.Now().Add(d))
}

// AdvanceTo moves the fake clock to t, stopping at every schedule tick on
// the way: at each stop, and at t, every reconciler sweeps until quiet.
// So the engine behaves as if it had run through the interval: each tick
// fires on time, delayed work is promoted, leases that ran out expire.
// A time before now is refused.
func (e *Engine) AdvanceTo(t time.Time) {
	e.t.Helper()
	e.requireFake("AdvanceTo")
	if t.Before(e.fake.Now()) {
		e.t.Fatalf("fftest: AdvanceTo %v: before now (%v)", t, e.fake.Now())
	}
	for {
		next := e.nextTick()
		if next.IsZero() || next.After(t) || !next.After(e.fake.Now()) {
			break
		}
		e.fake.Set(next)
		e.Sweep()
	}
	e.fake.Set(t)
	e.Sweep()
}

// nextTick is the earliest next tick of any running schedule (zero for
// none). Asking through a sweep fires nothing more: Sweep just ran.
func (e *Engine) nextTick() time.Time {
	if !e.Backend().Capabilities().Supports.Schedules {
		return time.Time{}
	}
	res, err := e.Backend().FireDueSchedules(e.ctx, backend.FireSchedulesParams{Grace: e.opts.engine.ScheduleGrace})
	if err != nil {
		e.t.Fatalf("fftest: next schedule tick: %v", err)
	}
	return res.NextFireAt
}

// Sweep runs every reconciler until it has nothing left to do at the
// current time, then wakes the waiters.
func (e *Engine) Sweep() {
	e.t.Helper()
	e.requireFake("Sweep")
	if _, err := e.sup.Sweep(e.ctx); err != nil {
		e.t.Fatalf("fftest: sweep: %v", err)
	}
	e.sig.notify()
}

func (e *Engine) requireFake(op string) {
	e.t.Helper()
	if e.fake == nil {
		e.t.Fatalf("fftest: %s needs the fake clock (the engine runs WithRealClock)", op)
	}
}
