package backendtest

import (
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// Periodic schedules (issue 15): stored definitions, and a sweep that
// creates one execution per tick, each keyed by its tick.

func init() {
	register("Schedules/CreateGetListDelete", testScheduleCRUD)
	register("Schedules/Validation", testScheduleValidation)
	register("Schedules/CreateSameDefinitionIsExisting", testScheduleExisting)
	register("Schedules/CreateOtherDefinitionConflicts", testScheduleConflict)
	register("Schedules/FiresTickWithKeyAndTags", testScheduleFires)
	register("Schedules/RepeatSweepCreatesNothing", testScheduleRepeatSweep)
	register("Schedules/SkipDropsLateTicks", testScheduleSkip)
	register("Schedules/CatchUpFiresMostRecentN", testScheduleCatchUp)
	register("Schedules/PauseResume", testSchedulePauseResume)
	register("Schedules/StartEnd", testScheduleStartEnd)
	register("Schedules/BatchLimitContinues", testScheduleBatchLimit)
	register("Schedules/ExistingKeyIsDuplicate", testScheduleExistingKey)
	register("Schedules/ConcurrentSweepsFireEachTickOnce", testScheduleConcurrentSweeps)
	register("Schedules/DeleteKeepsExecutions", testScheduleDeleteKeeps)
	register("Schedules/TimezoneDST", testScheduleDST)
	register("Schedules/WakesLane", testScheduleWakes)
}

// schedEnv is env plus schedule helpers; it skips a store without
// schedules.
type schedEnv struct{ *env }

func newSchedEnv(t *testing.T, h Harness) schedEnv {
	if !h.Backend.Capabilities().Supports.Schedules {
		t.Skip("store without schedules")
	}
	return schedEnv{newEnv(t, h)}
}

// every is a schedule ticking every d on lane, with kind "tick".
func every(id, lane string, d time.Duration) backend.CreateScheduleParams {
	return backend.CreateScheduleParams{ID: id, Spec: ff.ScheduleSpec{Every: d},
		Execution: backend.CreateExecutionParams{Lane: lane, Kind: "tick", Input: []byte(`{"n":1}`)}}
}

func (e schedEnv) createSchedule(p backend.CreateScheduleParams) ff.Schedule {
	e.t.Helper()
	res, err := e.b.CreateSchedule(e.ctx, p)
	require.NoError(e.t, err)
	require.Equal(e.t, backend.ScheduleCreated, res.Outcome)
	return res.Schedule
}

func (e schedEnv) get(ns, id string) ff.Schedule {
	e.t.Helper()
	s, err := e.b.GetSchedule(e.ctx, backend.GetScheduleParams{Namespace: ns, ID: id})
	require.NoError(e.t, err)
	return s
}

// fire sweeps once with the default grace.
func (e schedEnv) fire(limit int) backend.FireSchedulesResult {
	e.t.Helper()
	res, err := e.b.FireDueSchedules(e.ctx, backend.FireSchedulesParams{Limit: limit})
	require.NoError(e.t, err)
	return res
}

// ticks returns the tick times of the executions on lane, in order, and
// checks each execution carries its tick's key and tags.
func (e schedEnv) ticks(ns, lane, schedule string) []int64 {
	e.t.Helper()
	var out []int64
	for _, x := range e.listAll(backend.ListExecutionsParams{Lane: lane}) {
		snap := e.consistent(x.ExecutionID)
		require.Equal(e.t, schedule, snap.Tags[ff.TagSchedule])
		tick, err := strconv.ParseInt(snap.Tags[ff.TagTickMs], 10, 64)
		require.NoError(e.t, err)
		require.Equal(e.t, ns, snap.Namespace)
		out = append(out, tick)
	}
	slicesSort(out)
	return out
}

func slicesSort(s []int64) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// tickTimes are n ticks of period d after from.
func tickTimes(from int64, d time.Duration, n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = from + int64(i+1)*d.Milliseconds()
	}
	return out
}

func testScheduleCRUD(t *testing.T, h Harness) {
	e := newSchedEnv(t, h)
	p := every("nightly", "crud", time.Hour)
	p.Namespace = "team-a"
	p.CatchUp = ff.CatchUp{Policy: ff.CatchUpAll, Max: 3}
	p.Execution.Priority, p.Execution.Tags = 7, map[string]string{"team.owner": "ops"}
	p.Execution.RequiredCapabilities = []string{"gpu"}
	s := e.createSchedule(p)
	require.Equal(t, e.now()+time.Hour.Milliseconds(), s.NextFireAtMs)
	got := e.get("team-a", "nightly")
	require.Equal(t, s, got, "every field round-trips")
	require.Equal(t, ff.SourceAPI, got.Source)
	require.Equal(t, []byte(`{"n":1}`), got.Template.Input)
	_, err := e.b.GetSchedule(e.ctx, backend.GetScheduleParams{ID: "nightly"})
	requireKind(t, err, ff.ErrNotFound, "another namespace")

	for _, id := range []string{"a", "b", "c"} {
		q := every(id, "crud", time.Minute)
		q.Namespace, q.Paused = "team-a", id == "b"
		e.createSchedule(q)
	}
	page, err := e.b.ListSchedules(e.ctx, backend.ListSchedulesParams{Namespace: "team-a", Limit: 2})
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b"}, scheduleIDs(page.Schedules))
	require.Equal(t, "b", page.NextCursor)
	page, err = e.b.ListSchedules(e.ctx, backend.ListSchedulesParams{Namespace: "team-a", Cursor: "b"})
	require.NoError(t, err)
	require.Equal(t, []string{"c", "nightly"}, scheduleIDs(page.Schedules))
	require.Empty(t, page.NextCursor)
	page, err = e.b.ListSchedules(e.ctx, backend.ListSchedulesParams{Namespace: "team-a", Paused: ptr(true)})
	require.NoError(t, err)
	require.Equal(t, []string{"b"}, scheduleIDs(page.Schedules))

	require.NoError(t, e.b.DeleteSchedule(e.ctx, backend.DeleteScheduleParams{Namespace: "team-a", ID: "nightly"}))
	_, err = e.b.GetSchedule(e.ctx, backend.GetScheduleParams{Namespace: "team-a", ID: "nightly"})
	requireKind(t, err, ff.ErrNotFound)
	err = e.b.DeleteSchedule(e.ctx, backend.DeleteScheduleParams{Namespace: "team-a", ID: "nightly"})
	requireKind(t, err, ff.ErrNotFound, "delete again")
	_, err = e.b.PauseSchedule(e.ctx, backend.PauseScheduleParams{ID: "ghost"})
	requireKind(t, err, ff.ErrNotFound)
}

func scheduleIDs(ss []ff.Schedule) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.ID
	}
	return out
}

func testScheduleValidation(t *testing.T, h Harness) {
	e := newSchedEnv(t, h)
	bad := map[string]func(p *backend.CreateScheduleParams){
		"no spec":        func(p *backend.CreateScheduleParams) { p.Spec = ff.ScheduleSpec{} },
		"six fields":     func(p *backend.CreateScheduleParams) { p.Spec = ff.ScheduleSpec{Cron: "0 0 0 * * *"} },
		"bad zone":       func(p *backend.CreateScheduleParams) { p.Spec = ff.ScheduleSpec{Cron: "@daily", Timezone: "Nowhere/X"} },
		"short every":    func(p *backend.CreateScheduleParams) { p.Spec = ff.ScheduleSpec{Every: time.Millisecond} },
		"bad id":         func(p *backend.CreateScheduleParams) { p.ID = "two words" },
		"no kind":        func(p *backend.CreateScheduleParams) { p.Execution.Kind = "" },
		"explicit key":   func(p *backend.CreateScheduleParams) { p.Execution.IdempotencyKey = "k" },
		"explicit id":    func(p *backend.CreateScheduleParams) { p.Execution.ExecutionID = randomID() },
		"skip with max":  func(p *backend.CreateScheduleParams) { p.CatchUp = ff.CatchUp{Max: 2} },
		"catch-up 1001":  func(p *backend.CreateScheduleParams) { p.CatchUp = ff.CatchUp{Policy: ff.CatchUpAll, Max: 1001} },
		"unknown policy": func(p *backend.CreateScheduleParams) { p.CatchUp = ff.CatchUp{Policy: "all"} },
		"bad policy json": func(p *backend.CreateScheduleParams) {
			p.Execution.Policy = &ff.ExecutionPolicy{DedupWindow: ptr(int64(-1))}
		},
	}
	for name, mutate := range bad {
		p := every("v", "validation", time.Minute)
		mutate(&p)
		_, err := e.b.CreateSchedule(e.ctx, p)
		require.ErrorIs(t, err, ff.ClassValidation, name)
	}
	p := every("v", "validation", time.Minute)
	p.Execution.Tags = map[string]string{"ff.schedule": "x"}
	_, err := e.b.CreateSchedule(e.ctx, p)
	requireKind(t, err, ff.ErrInvalidTagKey)
	page, err := e.b.ListSchedules(e.ctx, backend.ListSchedulesParams{})
	require.NoError(t, err)
	require.Empty(t, page.Schedules, "nothing stored")
}

func testScheduleExisting(t *testing.T, h Harness) {
	e := newSchedEnv(t, h)
	first := e.createSchedule(every("s", "existing", time.Minute))
	e.advance(5_000)
	res, err := e.b.CreateSchedule(e.ctx, every("s", "existing", time.Minute))
	require.NoError(t, err)
	require.Equal(t, backend.ScheduleExisting, res.Outcome)
	require.Equal(t, first, res.Schedule, "nothing written")
	require.Equal(t, first.UpdatedAtMs, e.get("", "s").UpdatedAtMs)
}

func testScheduleConflict(t *testing.T, h Harness) {
	e := newSchedEnv(t, h)
	start := e.now()
	e.createSchedule(every("s", "conflict", time.Minute))
	_, err := e.b.PauseSchedule(e.ctx, backend.PauseScheduleParams{ID: "s", Reason: "hold"})
	require.NoError(t, err)
	other := every("s", "conflict", time.Minute)
	other.Execution.Priority = 9
	_, err = e.b.CreateSchedule(e.ctx, other)
	requireKind(t, err, ff.ErrScheduleConflict)
	require.ErrorIs(t, err, ff.ClassConflict)

	e.advance(90_000)
	other.Replace = true
	res, err := e.b.CreateSchedule(e.ctx, other)
	require.NoError(t, err)
	require.Equal(t, backend.ScheduleReplaced, res.Outcome)
	require.True(t, res.Schedule.Paused, "paused state kept")
	require.Equal(t, start+60_000, res.Schedule.NextFireAtMs, "same spec: next tick kept")
	require.Equal(t, int64(9), e.get("", "s").Template.Priority)

	other.Spec.Every = 7 * time.Minute
	res, err = e.b.CreateSchedule(e.ctx, other)
	require.NoError(t, err)
	require.Equal(t, backend.ScheduleReplaced, res.Outcome)
	require.Equal(t, e.get("", "s"), res.Schedule)
	next, _ := other.Spec.Next(e.now())
	require.Equal(t, next, res.Schedule.NextFireAtMs, "new spec: ticks restart from now")
}

func testScheduleFires(t *testing.T, h Harness) {
	e := newSchedEnv(t, h)
	p := every("fires", "fires", time.Minute)
	p.Namespace = "ns"
	p.Execution.Priority, p.Execution.Tags = 3, map[string]string{"team.owner": "ops"}
	s := e.createSchedule(p)
	require.Zero(t, e.fire(0).Fired, "not due yet")
	e.advance(60_000)
	res := e.fire(0)
	require.Equal(t, 1, res.Fired)
	require.Equal(t, ff.TimeFromMs(s.NextFireAtMs+60_000), res.NextFireAt)
	task := e.claim("fires")
	require.Equal(t, "tick", task.Kind)
	require.Equal(t, `{"n":1}`, string(task.Input))
	require.Equal(t, int32(3), task.Priority)
	require.Equal(t, map[string]string{"team.owner": "ops", ff.TagSchedule: "fires",
		ff.TagTickMs: strconv.FormatInt(s.NextFireAtMs, 10)}, task.Tags)
	dup, err := e.b.CreateExecution(e.ctx, backend.CreateExecutionParams{Namespace: "ns", Kind: "tick", Lane: "fires",
		IdempotencyKey: ff.ScheduleIdempotencyKey("fires", s.NextFireAtMs)})
	require.NoError(t, err)
	require.True(t, dup.Duplicate, "the tick's key")
	require.Equal(t, task.ExecutionID, dup.ExecutionID)
	got := e.get("ns", "fires")
	require.Equal(t, int64(1), got.FiredCount)
	require.Equal(t, s.NextFireAtMs, got.LastTickMs)
	require.Equal(t, task.ExecutionID, got.LastExecutionID)
	require.Equal(t, s.NextFireAtMs+60_000, got.NextFireAtMs)
	e.requireScheduleEvents("fires", ff.ScheduleCreated, ff.ScheduleFired)
}

// requireScheduleEvents checks the outbox's schedule events of id, when
// the harness can read the outbox.
func (e schedEnv) requireScheduleEvents(id string, actions ...string) {
	e.t.Helper()
	if e.h.Events == nil {
		return
	}
	var got []string
	for _, ev := range e.h.Events(e.t) {
		data, _ := ev.Data.(map[string]any)
		if ev.Type == ff.EventSchedule && data["schedule_id"] == id {
			got = append(got, ev.Action)
			if ev.Action == ff.ScheduleFired {
				require.False(e.t, ev.ExecutionID.IsZero(), "a fired event names its execution")
			}
		}
	}
	require.Equal(e.t, actions, got)
}

func testScheduleRepeatSweep(t *testing.T, h Harness) {
	e := newSchedEnv(t, h)
	e.createSchedule(every("r", "repeat", time.Minute))
	e.advance(60_000)
	require.Equal(t, 1, e.fire(0).Fired)
	before := e.get("", "r")
	res := e.fire(0)
	require.Zero(t, res.Changed())
	require.Equal(t, before, e.get("", "r"))
	require.Len(t, e.ticks("", "repeat", "r"), 1)
}

func testScheduleSkip(t *testing.T, h Harness) {
	e := newSchedEnv(t, h)
	start := e.now()
	e.createSchedule(every("skip", "skip", time.Minute))
	e.advance(10*60_000 + 30_000) // ticks 1..10; grace 1 min: 10 is on time, 1..9 late
	res := e.fire(0)
	require.Equal(t, 1, res.Fired, "only the on-time tick")
	require.Equal(t, 9, res.Skipped)
	require.Equal(t, []int64{start + 10*60_000}, e.ticks("", "skip", "skip"))
	s := e.get("", "skip")
	require.Equal(t, int64(9), s.SkippedCount)
	require.Equal(t, start+11*60_000, s.NextFireAtMs)
	e.requireScheduleEvents("skip", ff.ScheduleCreated, ff.ScheduleFired, ff.ScheduleTicksSkipped)
}

func testScheduleCatchUp(t *testing.T, h Harness) {
	e := newSchedEnv(t, h)
	start := e.now()
	p := every("cu", "catchup", time.Minute)
	p.CatchUp = ff.CatchUp{Policy: ff.CatchUpAll, Max: 3}
	e.createSchedule(p)
	e.advance(10*60_000 + 30_000)
	res := e.fire(0)
	require.Equal(t, 4, res.Fired, "3 late, 1 on time")
	require.Equal(t, 6, res.Skipped)
	require.Equal(t, []int64{start + 7*60_000, start + 8*60_000, start + 9*60_000, start + 10*60_000},
		e.ticks("", "catchup", "cu"))
	require.Equal(t, 210*time.Second, res.MaxLag, "the oldest tick fired, 7 min, at 10 min 30 s")
}

func testSchedulePauseResume(t *testing.T, h Harness) {
	e := newSchedEnv(t, h)
	start := e.now()
	e.createSchedule(every("pr", "pause", time.Minute))
	paused, err := e.b.PauseSchedule(e.ctx, backend.PauseScheduleParams{ID: "pr", Reason: "deploy"})
	require.NoError(t, err)
	require.True(t, paused.Paused)
	require.Equal(t, "deploy", paused.PauseReason)
	again, err := e.b.PauseSchedule(e.ctx, backend.PauseScheduleParams{ID: "pr", Reason: "other"})
	require.NoError(t, err)
	require.Equal(t, paused, again, "idempotent")
	e.advance(5 * 60_000)
	require.Zero(t, e.fire(0).Changed(), "a paused schedule does not fire")
	e.advance(10_000)
	resumed, err := e.b.ResumeSchedule(e.ctx, backend.ResumeScheduleParams{ID: "pr"})
	require.NoError(t, err)
	require.False(t, resumed.Paused)
	require.Equal(t, start+6*60_000, resumed.NextFireAtMs, "ticks during the pause never fire")
	again, err = e.b.ResumeSchedule(e.ctx, backend.ResumeScheduleParams{ID: "pr"})
	require.NoError(t, err)
	require.Equal(t, resumed, again)
	require.Zero(t, e.fire(0).Changed())
	e.advance(50_000)
	require.Equal(t, 1, e.fire(0).Fired)
	require.Equal(t, []int64{start + 6*60_000}, e.ticks("", "pause", "pr"))
	e.requireScheduleEvents("pr", ff.ScheduleCreated, ff.SchedulePausedEvent, ff.ScheduleResumedEvent, ff.ScheduleFired)
}

func testScheduleStartEnd(t *testing.T, h Harness) {
	e := newSchedEnv(t, h)
	start := e.now()
	p := every("se", "startend", time.Minute)
	p.Spec.StartAt, p.Spec.EndAt = ff.TimeFromMs(start+3*60_000), ff.TimeFromMs(start+4*60_000)
	s := e.createSchedule(p)
	require.Equal(t, start+3*60_000, s.NextFireAtMs, "no tick before start")
	for range 6 {
		e.advance(60_000)
		e.fire(0)
	}
	require.Equal(t, []int64{start + 3*60_000, start + 4*60_000}, e.ticks("", "startend", "se"))
	done := e.get("", "se")
	require.Zero(t, done.NextFireAtMs, "finished")
	page, err := e.b.ListSchedules(e.ctx, backend.ListSchedulesParams{})
	require.NoError(t, err)
	require.Len(t, page.Schedules, 1, "a finished schedule stays listed")
}

func testScheduleBatchLimit(t *testing.T, h Harness) {
	e := newSchedEnv(t, h)
	start := e.now()
	for _, id := range []string{"b1", "b2", "b3"} {
		p := every(id, "batch-"+id, 10*time.Second)
		e.createSchedule(p)
	}
	e.advance(50_000) // 5 on-time ticks each
	total := 0
	for sweeps := 0; ; sweeps++ {
		require.Less(t, sweeps, 10)
		res := e.fire(4)
		require.LessOrEqual(t, res.Fired, 4)
		total += res.Fired
		if res.Fired == 0 {
			break
		}
	}
	require.Equal(t, 15, total)
	for _, id := range []string{"b1", "b2", "b3"} {
		require.Equal(t, tickTimes(start, 10*time.Second, 5), e.ticks("", "batch-"+id, id), "each tick once, in order")
	}
}

func testScheduleExistingKey(t *testing.T, h Harness) {
	e := newSchedEnv(t, h)
	s := e.createSchedule(every("dup", "dupkey", time.Minute))
	pre, err := e.b.CreateExecution(e.ctx, backend.CreateExecutionParams{Lane: "dupkey", Kind: "tick",
		IdempotencyKey: ff.ScheduleIdempotencyKey("dup", s.NextFireAtMs),
		Tags:           map[string]string{ff.TagSchedule: "dup", ff.TagTickMs: strconv.FormatInt(s.NextFireAtMs, 10)}})
	require.NoError(t, err)
	e.advance(60_000)
	res := e.fire(0)
	require.Equal(t, 1, res.Duplicates)
	require.Zero(t, res.Fired)
	require.Len(t, e.ticks("", "dupkey", "dup"), 1, "no second execution")
	got := e.get("", "dup")
	require.Equal(t, pre.ExecutionID, got.LastExecutionID)
	require.Equal(t, s.NextFireAtMs+60_000, got.NextFireAtMs, "the schedule advances")
}

// Two backends on one store (two servers), four sweepers each, while the
// clock moves through 120 ticks: each tick has exactly one execution.
func testScheduleConcurrentSweeps(t *testing.T, h Harness) {
	if h.OpenAnother == nil {
		t.Skip("harness cannot open a second backend")
	}
	e := newSchedEnv(t, h)
	start := e.now()
	p := every("race", "race", time.Second)
	p.CatchUp = ff.CatchUp{Policy: ff.CatchUpAll, Max: 1000}
	e.createSchedule(p)
	backends := []backend.Backend{e.b, h.OpenAnother(t)}
	swept := make(chan struct{}, 1)
	stop := make(chan struct{})
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() { errs <- sweepUntil(e, backends[i%2], stop, swept) })
	}
	const n = 120
	for range n {
		h.Clock.Advance(time.Second)
		<-swept // at least one sweep ran since (or across) the move
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	e.fire(0)
	require.Equal(t, tickTimes(start, time.Second, n), e.ticks("", "race", "race"))
}

// sweepUntil sweeps with b until stop, signalling each sweep; retryable
// contention between the two backends is not a failure.
func sweepUntil(e schedEnv, b backend.Backend, stop <-chan struct{}, swept chan<- struct{}) error {
	for {
		select {
		case <-stop:
			return nil
		default:
		}
		_, err := b.FireDueSchedules(e.ctx, backend.FireSchedulesParams{Limit: 3})
		if err != nil && !ff.IsRetryable(err) {
			return fmt.Errorf("sweep: %w", err)
		}
		select {
		case swept <- struct{}{}:
		default:
		}
	}
}

func testScheduleDeleteKeeps(t *testing.T, h Harness) {
	e := newSchedEnv(t, h)
	e.createSchedule(every("del", "delete", time.Minute))
	e.advance(60_000)
	require.Equal(t, 1, e.fire(0).Fired)
	require.NoError(t, e.b.DeleteSchedule(e.ctx, backend.DeleteScheduleParams{ID: "del"}))
	e.advance(60_000)
	require.Zero(t, e.fire(0).Changed())
	require.Len(t, e.ticks("", "delete", "del"), 1, "the execution stays")
	e.requireScheduleEvents("del", ff.ScheduleCreated, ff.ScheduleFired, ff.ScheduleDeleted)
}

// A daily 01:30 in New York on the fall-back night fires once.
func testScheduleDST(t *testing.T, h Harness) {
	e := newSchedEnv(t, h)
	h.Clock.Set(time.Date(2026, 10, 31, 12, 0, 0, 0, time.UTC))
	e.createSchedule(backend.CreateScheduleParams{ID: "dst", Spec: ff.ScheduleSpec{Cron: "30 1 * * *", Timezone: "America/New_York"},
		Execution: backend.CreateExecutionParams{Lane: "dst", Kind: "tick"}})
	for range 90 { // to 2026-11-02 09:00 UTC
		e.advance(30 * 60_000)
		e.fire(0)
	}
	want := []int64{time.Date(2026, 11, 1, 5, 30, 0, 0, time.UTC).UnixMilli(), time.Date(2026, 11, 2, 6, 30, 0, 0, time.UTC).UnixMilli()}
	require.Equal(t, want, e.ticks("", "dst", "dst"))
}

func testScheduleWakes(t *testing.T, h Harness) {
	e := newSchedEnv(t, h)
	e.createSchedule(every("wake", "wake-lane", time.Minute))
	ch, cancel := e.b.SubscribeWork(e.ctx, backend.SubscribeWorkParams{Lanes: []string{"wake-lane"}})
	defer cancel()
	drain(ch)
	e.advance(60_000)
	require.Equal(t, 1, e.fire(0).Fired)
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("the lane was not woken after the sweep")
	}
}
