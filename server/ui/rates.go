package ui

import (
	"context"
	"fmt"
	"sync"
	"time"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// rateWindow counts completions per lane and minute from the outbox, for
// the overview's throughput and failure rate. It starts at the outbox's
// end when first asked (it never reads the history) and reads only what
// was committed since its last read, at most rateMaxPages pages a time,
// so a view costs a bounded read whatever the outbox holds.
type rateWindow struct {
	mu      sync.Mutex
	started bool
	since   time.Time // when counting began
	cursor  backend.EventCursor
	minutes map[int64]map[string]*laneRate // unix minute → lane → counts
}

const (
	rateSpan     = 5 // minutes the rates cover
	rateMaxPages = 10
)

// laneRate counts completions by outcome.
type laneRate struct {
	Total, Failed int64
}

func newRateWindow() *rateWindow {
	return &rateWindow{minutes: map[int64]map[string]*laneRate{}}
}

// rates is the window's answer: counts per lane over the last rateSpan
// minutes (or since counting began, when later).
type rates struct {
	Since   time.Time
	Minutes float64 // the span the counts cover, at least 1
	ByLane  map[string]laneRate
	All     laneRate
}

// PerMinute is the completions per minute over the span.
func (r laneRate) PerMinute(span float64) string {
	if span <= 0 {
		return "0"
	}
	return fmt.Sprintf("%.1f", float64(r.Total)/span)
}

// FailurePct is the share of failed or expired completions.
func (r laneRate) FailurePct() string {
	if r.Total == 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f%%", 100*float64(r.Failed)/float64(r.Total))
}

// read catches up with the outbox and returns the rates at now.
func (w *rateWindow) read(ctx context.Context, b backend.Events, now time.Time) (rates, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.catchUp(ctx, b, now); err != nil {
		return rates{}, err
	}
	return w.sum(now), nil
}

func (w *rateWindow) catchUp(ctx context.Context, b backend.Events, now time.Time) error {
	p := backend.ReadEventsParams{After: w.cursor, Types: []ff.EventType{ff.EventCompletion}, Limit: 1000}
	if !w.started {
		p.After = backend.EventCursorLatest
	}
	for range rateMaxPages {
		page, err := b.ReadEvents(ctx, p)
		if err != nil {
			return fmt.Errorf("read completions: %w", err)
		}
		if !w.started {
			w.started, w.since = true, now
		}
		w.cursor, p.After = page.Next, page.Next
		for _, ev := range page.Events {
			w.add(ev.Event)
		}
		if len(page.Events) < p.Limit {
			break
		}
	}
	w.prune(now)
	return nil
}

func (w *rateWindow) add(ev ff.Event) {
	m := ev.AtMs / 60_000
	lanes := w.minutes[m]
	if lanes == nil {
		lanes = map[string]*laneRate{}
		w.minutes[m] = lanes
	}
	lr := lanes[ev.Lane]
	if lr == nil {
		lr = &laneRate{}
		lanes[ev.Lane] = lr
	}
	lr.Total++
	if o := ff.TerminalOutcome(ev.Action); o == ff.OutcomeFailed || o == ff.OutcomeExpired {
		lr.Failed++
	}
}

// prune drops the minutes before the span.
func (w *rateWindow) prune(now time.Time) {
	first := now.UnixMilli()/60_000 - rateSpan + 1
	for m := range w.minutes {
		if m < first {
			delete(w.minutes, m)
		}
	}
}

func (w *rateWindow) sum(now time.Time) rates {
	// Less than a minute counts as one: a few seconds of data would
	// extrapolate wildly.
	span := max(1, min(float64(rateSpan), now.Sub(w.since).Minutes()))
	out := rates{Since: w.since, Minutes: span, ByLane: map[string]laneRate{}}
	for _, lanes := range w.minutes {
		for lane, lr := range lanes {
			sum := out.ByLane[lane]
			sum.Total += lr.Total
			sum.Failed += lr.Failed
			out.ByLane[lane] = sum
			out.All.Total += lr.Total
			out.All.Failed += lr.Failed
		}
	}
	return out
}
