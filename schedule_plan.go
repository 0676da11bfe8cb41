package flowfabric

import "time"

// TickPlan is what one sweep does with a due schedule.
type TickPlan struct {
	// Fire are the ticks to create now (Unix ms), oldest first.
	Fire []int64
	// Skipped counts the late ticks the catch-up policy dropped, from
	// SkippedFrom to SkippedTo; Approximate says the count is a bound
	// (too many cron ticks to walk one by one).
	Skipped                int64
	SkippedFrom, SkippedTo int64
	Approximate            bool
	// Next is NextFireAtMs after the plan: the first tick not fired
	// (0 when none remains).
	Next int64
}

// FiredTick is the outcome of creating one planned tick's execution.
type FiredTick struct {
	TickMs      int64
	ExecutionID ExecutionID
	Duplicate   bool  // the tick's key already held an execution
	Err         error // the create failed (the tick is counted skipped)
}

// Plan decides which due ticks to fire at nowMs. A tick at most grace
// behind nowMs is on time and always fires; older (late) ticks are
// dropped by CatchUpSkip and, by CatchUpAll, fired up to Max (the most
// recent). At most budget ticks fire; the rest stay due (Next is the
// first of them). A paused, finished or not yet due schedule plans
// nothing.
func (s *Schedule) Plan(nowMs int64, grace time.Duration, budget int) TickPlan {
	p := TickPlan{Next: s.NextFireAtMs}
	if s.Paused || s.NextFireAtMs == 0 || s.NextFireAtMs > nowMs || budget <= 0 {
		return p
	}
	lateBound := nowMs - grace.Milliseconds() // a tick before it is late
	late, t := s.lateTicks(s.NextFireAtMs, lateBound, &p)
	p.Fire = late
	for ok := t != 0; ok && t <= nowMs; t, ok = s.Spec.Next(t) {
		p.Fire = append(p.Fire, t)
	}
	p.Next = t // after the loop: the first tick after nowMs, or 0 when none remains
	if len(p.Fire) > budget {
		p.Next, p.Fire = p.Fire[budget], p.Fire[:budget]
	}
	return p
}

// lateTicks walks the ticks from t (a tick) that are before bound,
// keeps the policy's most recent ones and records the others in p as
// skipped. It returns the kept ticks and the first tick at or after
// bound (0 when none remains).
func (s *Schedule) lateTicks(t, bound int64, p *TickPlan) ([]int64, int64) {
	keep := s.CatchUp.keep()
	if t >= bound {
		return nil, t
	}
	if s.Spec.Every > 0 {
		return s.lateEvery(t, bound, keep, p)
	}
	var ring []int64
	for steps := 0; t != 0 && t < bound; steps++ {
		if steps == maxLateScan {
			p.Approximate = true
			next, _ := s.Spec.Next(bound - 1)
			p.skip(t, bound-1, 1)
			return ring, next
		}
		ring = append(ring, t)
		if len(ring) > keep {
			p.skip(ring[0], ring[0], 1)
			ring = ring[1:]
		}
		t, _ = s.Spec.Next(t)
	}
	return ring, t
}

// lateEvery is lateTicks for a fixed interval, by arithmetic.
func (s *Schedule) lateEvery(t, bound int64, keep int, p *TickPlan) ([]int64, int64) {
	every := s.Spec.Every.Milliseconds()
	n := (bound - t + every - 1) / every // ticks in [t, bound)
	if end := MsFromTime(s.Spec.EndAt); end > 0 && end < bound {
		n = min(n, (end-t)/every+1)
	}
	drop := max(n-int64(keep), 0)
	if drop > 0 {
		p.skip(t, t+(drop-1)*every, drop)
	}
	var kept []int64
	for i := drop; i < n; i++ {
		kept = append(kept, t+i*every)
	}
	next, ok := s.Spec.Next(t + (n-1)*every)
	if !ok {
		next = 0
	}
	return kept, next
}

// skip records n skipped ticks from first to last.
func (p *TickPlan) skip(first, last, n int64) {
	if p.Skipped == 0 {
		p.SkippedFrom = first
	}
	p.Skipped += n
	p.SkippedTo = last
}

// Apply records a plan's outcome: next tick, counters, last tick and
// error, and returns the events (one fired per created tick, one
// ticks_skipped for the dropped and the failed ones). nowMs is when the
// sweep ran.
func (s *Schedule) Apply(p TickPlan, fired []FiredTick, nowMs int64) []Event {
	var events []Event
	failed := TickPlan{}
	s.LastError = ""
	for _, f := range fired {
		if f.Err != nil {
			failed.skip(f.TickMs, f.TickMs, 1)
			s.LastError = CutText(f.Err.Error(), MaxReasonBytes)
			continue
		}
		s.LastTickMs, s.LastExecutionID = f.TickMs, f.ExecutionID
		if !f.Duplicate {
			s.FiredCount++
		}
		ev := s.event(ScheduleFired, nowMs, map[string]any{"tick_at_ms": f.TickMs, "execution_id": f.ExecutionID.String(),
			"duplicate": f.Duplicate, "lag_ms": nowMs - f.TickMs})
		ev.ExecutionID, ev.Partition = f.ExecutionID, 0
		events = append(events, ev)
	}
	if p.Skipped > 0 {
		s.SkippedCount += p.Skipped
		events = append(events, s.skippedEvent(p, "late", nowMs))
	}
	if failed.Skipped > 0 {
		s.SkippedCount += failed.Skipped
		ev := s.skippedEvent(failed, "create_failed", nowMs)
		ev.Data.(map[string]any)["error"] = s.LastError
		events = append(events, ev)
	}
	// Invariant: NextFireAtMs only grows; a plan made from it never
	// lowers it (0, none left, is the end).
	if p.Next == 0 || p.Next > s.NextFireAtMs {
		s.NextFireAtMs = p.Next
	}
	s.UpdatedAtMs = nowMs
	return events
}

func (s *Schedule) skippedEvent(p TickPlan, reason string, nowMs int64) Event {
	return s.event(ScheduleTicksSkipped, nowMs, map[string]any{"count": p.Skipped, "first_tick_ms": p.SkippedFrom,
		"last_tick_ms": p.SkippedTo, "reason": reason, "approximate": p.Approximate})
}
