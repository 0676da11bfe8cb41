package fftest

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// ScheduleReader is what the schedule assertions read: backend.Backend,
// *client.Client and *Engine satisfy it.
type ScheduleReader interface {
	Reader
	GetSchedule(ctx context.Context, p backend.GetScheduleParams) (ff.Schedule, error)
}

// RequireTicksFired fails t unless schedule (ns, id) created exactly one
// execution for each of ticks and none for any other tick.
func RequireTicksFired(t testing.TB, r ScheduleReader, ns, id string, ticks ...time.Time) {
	t.Helper()
	got := TicksFired(t, r, ns, id)
	want := make([]int64, len(ticks))
	for i, tk := range ticks {
		want[i] = tk.UnixMilli()
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("fftest: schedule %s fired ticks %v, want %v", id, fmtTicks(got), fmtTicks(want))
	}
}

// TicksFired returns the ticks (Unix ms, in order) schedule (ns, id) has
// executions for, one entry per execution: a tick listed twice was
// created twice.
func TicksFired(t testing.TB, r ScheduleReader, ns, id string) []int64 {
	t.Helper()
	ctx, cancel := readCtx()
	defer cancel()
	s, err := r.GetSchedule(ctx, backend.GetScheduleParams{Namespace: ns, ID: id})
	if err != nil {
		t.Fatalf("fftest: schedule %s: %v", id, err)
	}
	var ticks []int64
	p := backend.ListExecutionsParams{Lane: s.Template.Lane, Limit: 1000}
	for {
		page, err := r.ListExecutions(ctx, p)
		if err != nil {
			t.Fatalf("fftest: executions of lane %s: %v", p.Lane, err)
		}
		for _, x := range page.Executions {
			snap := snapshot(t, r, x.ExecutionID)
			if snap.Namespace != ns || snap.Tags[ff.TagSchedule] != id {
				continue
			}
			tick, err := strconv.ParseInt(snap.Tags[ff.TagTickMs], 10, 64)
			if err != nil {
				t.Fatalf("fftest: %s: tick tag %q: %v", x.ExecutionID, snap.Tags[ff.TagTickMs], err)
			}
			ticks = append(ticks, tick)
		}
		if page.NextCursor == "" {
			break
		}
		p.Cursor = page.NextCursor
	}
	slices.Sort(ticks)
	return ticks
}

func fmtTicks(ms []int64) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = time.UnixMilli(m).UTC().Format(time.RFC3339)
	}
	return out
}
