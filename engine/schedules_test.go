package engine

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

func hourly(id string) backend.CreateScheduleParams {
	return backend.CreateScheduleParams{ID: id, Spec: ff.ScheduleSpec{Every: time.Hour},
		Execution: backend.CreateExecutionParams{Lane: "sched", Kind: "report"}}
}

func TestScheduleFirerRunOnce(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		s := open(t)
		ctx := context.Background()
		sc, err := s.b.CreateSchedule(ctx, hourly("h"))
		require.NoError(t, err)
		r := &scheduleFirer{s.b, 100, time.Minute}
		n, err := r.runOnce(ctx)
		require.NoError(t, err)
		require.Zero(t, n, "nothing due")
		s.clock.Set(time.UnixMilli(sc.Schedule.NextFireAtMs)) // the first tick, on time
		n, err = r.runOnce(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		tasks := claim(t, s, 1000)
		require.Empty(t, tasks, "the default lane has nothing; the tick is on its template's lane")
		got, err := s.b.Claim(ctx, backend.ClaimParams{WorkerID: "w", Lanes: []string{"sched"}})
		require.NoError(t, err)
		require.Len(t, got, 1)
		require.Equal(t, "report", got[0].Kind)
	})
}

// The supervisor runs the firer only when Config.Schedules is set; Sweep
// drives every reconciler without leadership.
func TestSweepRunsSchedules(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		s := open(t)
		ctx := context.Background()
		sc, err := s.b.CreateSchedule(ctx, hourly("h"))
		require.NoError(t, err)
		without, err := New(s.b, Config{})
		require.NoError(t, err)
		with, err := New(s.b, Config{Schedules: s.b})
		require.NoError(t, err)
		s.clock.Set(time.UnixMilli(sc.Schedule.NextFireAtMs))
		n, err := without.Sweep(ctx)
		require.NoError(t, err)
		require.NotContains(t, n, "schedules")
		n, err = with.Sweep(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n["schedules"])
		require.Contains(t, n, "lease_expiry")
	})
}

func TestDeclareSchedules(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		s := open(t)
		ctx := context.Background()
		log := slog.New(slog.DiscardHandler)
		rep, err := DeclareSchedules(ctx, s.b, []backend.CreateScheduleParams{hourly("a"), hourly("b")}, log)
		require.NoError(t, err)
		require.Equal(t, []string{"a", "b"}, rep.Created)
		_, err = s.b.PauseSchedule(ctx, backend.PauseScheduleParams{ID: "a"})
		require.NoError(t, err)

		changed := hourly("a")
		changed.Execution.Priority = 5
		rep, err = DeclareSchedules(ctx, s.b, []backend.CreateScheduleParams{changed}, log)
		require.NoError(t, err)
		require.Equal(t, []string{"a"}, rep.Replaced)
		require.Equal(t, []string{"b"}, rep.Stale, "reported, not deleted")
		a, err := s.b.GetSchedule(ctx, backend.GetScheduleParams{ID: "a"})
		require.NoError(t, err)
		require.True(t, a.Paused, "a replaced declaration keeps the pause")
		require.Equal(t, ff.SourceDeclared, a.Source)
		_, err = s.b.GetSchedule(ctx, backend.GetScheduleParams{ID: "b"})
		require.NoError(t, err)

		// Two processes declaring the same schedules at once end with one
		// row each and no error.
		errs := make(chan error, 2)
		for range 2 {
			go func() {
				_, err := DeclareSchedules(ctx, s.b, []backend.CreateScheduleParams{changed, hourly("c")}, log)
				errs <- err
			}()
		}
		require.NoError(t, <-errs)
		require.NoError(t, <-errs)
		page, err := s.b.ListSchedules(ctx, backend.ListSchedulesParams{})
		require.NoError(t, err)
		require.Len(t, page.Schedules, 3)
	})
}
