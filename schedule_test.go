package flowfabric

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func ms(s string) int64 {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UnixMilli()
}

func utc(msv int64) string { return time.UnixMilli(msv).UTC().Format(time.RFC3339) }

func TestEveryTicksAreEpochAnchored(t *testing.T) {
	s := ScheduleSpec{Every: 5 * time.Minute, Offset: 30 * time.Second}
	require.NoError(t, s.Validate())
	next, ok := s.Next(ms("2026-01-01T00:00:00Z"))
	require.True(t, ok)
	require.Equal(t, "2026-01-01T00:00:30Z", utc(next))
	next, _ = s.Next(next)
	require.Equal(t, "2026-01-01T00:05:30Z", utc(next), "strictly after a tick")
	neg, _ := s.Next(-1)
	require.Equal(t, int64(30_000), neg, "floor division below the epoch")
	neg, _ = s.Next(-300_001)
	require.Equal(t, int64(-270_000), neg)
}

func TestCronInZone(t *testing.T) {
	s := ScheduleSpec{Cron: "0 9 * * 1-5", Timezone: "Europe/Paris"}
	require.NoError(t, s.Validate())
	got := s.Upcoming(ms("2026-01-02T09:00:00Z"), 2) // a Friday
	require.Equal(t, []string{"2026-01-05T08:00:00Z", "2026-01-06T08:00:00Z"}, []string{utc(got[0]), utc(got[1])})
	d := ScheduleSpec{Cron: "@daily"}
	next, _ := d.Next(ms("2026-03-01T10:00:00Z"))
	require.Equal(t, "2026-03-02T00:00:00Z", utc(next))
}

func TestCronDST(t *testing.T) {
	ny := ScheduleSpec{Cron: "30 1 * * *", Timezone: "America/New_York"}
	// Fall back on 2026-11-01: 01:30 happens twice (EDT, then EST).
	got := ny.Upcoming(ms("2026-10-31T12:00:00Z"), 3)
	require.Equal(t, []string{"2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z", "2026-11-03T06:30:00Z"},
		[]string{utc(got[0]), utc(got[1]), utc(got[2])}, "a fixed hour fires once on the fall-back night")
	hourly := ScheduleSpec{Cron: "0 * * * *", Timezone: "America/New_York"}
	got = hourly.Upcoming(ms("2026-11-01T04:30:00Z"), 3)
	require.Equal(t, []string{"2026-11-01T05:00:00Z", "2026-11-01T06:00:00Z", "2026-11-01T07:00:00Z"},
		[]string{utc(got[0]), utc(got[1]), utc(got[2])}, "a wildcard hour fires every real hour")
	paris := ScheduleSpec{Cron: "30 2 * * *", Timezone: "Europe/Paris"}
	// Spring forward on 2026-03-29: 02:30 does not exist.
	got = paris.Upcoming(ms("2026-03-28T12:00:00Z"), 2)
	require.Equal(t, []string{"2026-03-30T00:30:00Z", "2026-03-31T00:30:00Z"}, []string{utc(got[0]), utc(got[1])})
}

func TestSpecBounds(t *testing.T) {
	s := ScheduleSpec{Every: time.Hour, StartAt: time.UnixMilli(ms("2026-01-01T05:00:00Z")),
		EndAt: time.UnixMilli(ms("2026-01-01T07:00:00Z"))}
	require.NoError(t, s.Validate())
	got := s.Upcoming(ms("2026-01-01T00:00:00Z"), 10)
	require.Equal(t, []int64{ms("2026-01-01T05:00:00Z"), ms("2026-01-01T06:00:00Z"), ms("2026-01-01T07:00:00Z")}, got,
		"start and end inclusive")
}

func TestSpecValidation(t *testing.T) {
	bad := []ScheduleSpec{
		{},
		{Cron: "* * * * *", Every: time.Second},
		{Cron: "0 0 30 2 *"},
		{Cron: "0 0 * * * *"},
		{Cron: "@every 1m"},
		{Cron: "TZ=UTC 0 0 * * *"},
		{Cron: "0 0 * * *", Timezone: "Mars/Olympus"},
		{Cron: "0 0 * * *", Offset: time.Second},
		{Every: 500 * time.Millisecond},
		{Every: time.Second + time.Microsecond},
		{Every: time.Minute, Offset: time.Minute},
		{Every: time.Minute, Timezone: "UTC"},
		{Every: time.Minute, StartAt: time.UnixMilli(10), EndAt: time.UnixMilli(10)},
	}
	for _, s := range bad {
		require.ErrorIs(t, s.Validate(), ErrInvalidInput, "%+v", s)
	}
}

func newTestSchedule(t *testing.T, spec ScheduleSpec, cu CatchUp, now int64) *Schedule {
	t.Helper()
	s, ev, err := NewSchedule(ScheduleDefinition{ID: "s1", Spec: spec, CatchUp: cu,
		Template: ScheduleTemplate{Kind: "job"}}, false, now)
	require.NoError(t, err)
	require.Len(t, ev, 1)
	return s
}

// The design's worked example: every 5 minutes, the server down 42
// minutes.
func TestPlanSkipAndCatchUp(t *testing.T) {
	start := ms("2026-01-01T00:00:00Z")
	now := start + 42*60_000
	skip := newTestSchedule(t, ScheduleSpec{Every: 5 * time.Minute}, CatchUp{}, start)
	p := skip.Plan(now, time.Minute, 100)
	require.Empty(t, p.Fire, "late ticks 00:05 … 00:40 are dropped")
	require.Equal(t, int64(8), p.Skipped)
	require.Equal(t, start+5*60_000, p.SkippedFrom)
	require.Equal(t, start+40*60_000, p.SkippedTo)
	require.Equal(t, start+45*60_000, p.Next)

	cu := newTestSchedule(t, ScheduleSpec{Every: 5 * time.Minute}, CatchUp{Policy: CatchUpAll, Max: 3}, start)
	p = cu.Plan(now, time.Minute, 100)
	require.Equal(t, []int64{start + 30*60_000, start + 35*60_000, start + 40*60_000}, p.Fire)
	require.Equal(t, int64(5), p.Skipped)

	// A sweep 3 s behind a per-second schedule: all on time.
	sec := newTestSchedule(t, ScheduleSpec{Every: time.Second}, CatchUp{}, start)
	p = sec.Plan(start+3000, time.Minute, 100)
	require.Equal(t, []int64{start + 1000, start + 2000, start + 3000}, p.Fire)
	require.Zero(t, p.Skipped)
	require.Equal(t, start+4000, p.Next)
}

func TestPlanBudgetAndApply(t *testing.T) {
	start := ms("2026-01-01T00:00:00Z")
	s := newTestSchedule(t, ScheduleSpec{Every: time.Second}, CatchUp{}, start)
	p := s.Plan(start+5000, time.Minute, 2)
	require.Equal(t, []int64{start + 1000, start + 2000}, p.Fire)
	require.Equal(t, start+3000, p.Next, "the rest stays due")
	id := NewExecutionID("default")
	ev := s.Apply(p, []FiredTick{{TickMs: start + 1000, ExecutionID: id}, {TickMs: start + 2000, ExecutionID: id, Duplicate: true}}, start+5000)
	require.Len(t, ev, 2)
	require.Equal(t, ScheduleFired, ev[0].Action)
	require.Equal(t, id, ev[0].ExecutionID)
	require.Equal(t, int64(1), s.FiredCount, "a duplicate is not counted fired")
	require.Equal(t, start+3000, s.NextFireAtMs)
	require.Equal(t, start+2000, s.LastTickMs)

	// A failed create is skipped and recorded; the schedule moves on.
	p = s.Plan(start+5000, time.Minute, 10)
	ev = s.Apply(p, []FiredTick{{TickMs: start + 3000, Err: Validation(ErrInvalidInput, "bad")}}, start+5000)
	require.Equal(t, ScheduleTicksSkipped, ev[len(ev)-1].Action)
	require.Equal(t, int64(1), s.SkippedCount)
	require.Contains(t, s.LastError, "bad")
	require.Equal(t, start+6000, s.NextFireAtMs)
}

func TestPlanCronLateAndEnd(t *testing.T) {
	start := ms("2026-01-01T00:00:00Z")
	s := newTestSchedule(t, ScheduleSpec{Cron: "*/10 * * * *", EndAt: time.UnixMilli(start + 60*60_000)},
		CatchUp{Policy: CatchUpAll, Max: 2}, start)
	p := s.Plan(start+3*60*60_000, time.Minute, 100)
	require.Equal(t, []int64{start + 50*60_000, start + 60*60_000}, p.Fire)
	require.Equal(t, int64(4), p.Skipped)
	require.Zero(t, p.Next, "past end_at nothing remains")
	s.Apply(p, nil, start)
	require.Zero(t, s.NextFireAtMs)
	require.Empty(t, s.Plan(start+4*60*60_000, time.Minute, 100).Fire)
}

func TestPauseResumeReplace(t *testing.T) {
	start := ms("2026-01-01T00:00:00Z")
	s := newTestSchedule(t, ScheduleSpec{Every: time.Hour}, CatchUp{}, start)
	changed, ev := s.Pause("maintenance", start)
	require.True(t, changed)
	require.Len(t, ev, 1)
	changed, ev = s.Pause("again", start)
	require.False(t, changed)
	require.Empty(t, ev)
	require.Empty(t, s.Plan(start+5*3600_000, time.Hour, 10).Fire)
	changed, _ = s.Resume(start + 5*3600_000 + 1)
	require.True(t, changed)
	require.Equal(t, start+6*3600_000, s.NextFireAtMs, "paused ticks never fire")

	d := ScheduleDefinition{ID: "s1", Spec: ScheduleSpec{Every: time.Hour}, Template: ScheduleTemplate{Kind: "job"}}
	changed, ev, err := s.Replace(d, start)
	require.NoError(t, err)
	require.False(t, changed, "same definition")
	require.Empty(t, ev)
	d.Template.Priority = 5
	changed, _, err = s.Replace(d, start+6*3600_000+5)
	require.NoError(t, err)
	require.True(t, changed)
	require.Equal(t, start+6*3600_000, s.NextFireAtMs, "same spec keeps the next tick")
	d.Spec.Every = 2 * time.Hour
	_, _, err = s.Replace(d, start+6*3600_000+5)
	require.NoError(t, err)
	require.Equal(t, start+8*3600_000, s.NextFireAtMs, "a new spec restarts from now")
}

func TestTemplateRules(t *testing.T) {
	def := func(tmpl ScheduleTemplate) error {
		_, _, err := NewSchedule(ScheduleDefinition{ID: "s", Spec: ScheduleSpec{Every: time.Minute}, Template: tmpl}, false, 0)
		return err
	}
	require.ErrorIs(t, def(ScheduleTemplate{}), ErrInvalidInput, "kind required")
	require.ErrorIs(t, def(ScheduleTemplate{Kind: "k", Tags: map[string]string{"ff.x": "1"}}), ErrInvalidTagKey)
	require.ErrorIs(t, def(ScheduleTemplate{Kind: "k", Lane: "bad\nlane"}), ErrInvalidInput)
	require.NoError(t, def(ScheduleTemplate{Kind: "k", Tags: map[string]string{"team.owner": "ops"}}))
	_, _, err := NewSchedule(ScheduleDefinition{ID: "has space", Spec: ScheduleSpec{Every: time.Minute},
		Template: ScheduleTemplate{Kind: "k"}}, false, 0)
	require.ErrorIs(t, err, ErrInvalidInput)
}

func TestHashesAndCodec(t *testing.T) {
	mk := func(tags map[string]string) *Schedule {
		s, _, err := NewSchedule(ScheduleDefinition{ID: "s", Spec: ScheduleSpec{Cron: "0 * * * *", Timezone: "UTC"},
			CatchUp: CatchUp{Policy: CatchUpAll, Max: 4}, Template: ScheduleTemplate{Kind: "k", Tags: tags,
				Input: []byte(`{"a":1}`)}}, false, 0)
		require.NoError(t, err)
		return s
	}
	a := mk(map[string]string{"a.x": "1", "b.y": "2", "c.z": "3"})
	b := mk(map[string]string{"c.z": "3", "b.y": "2", "a.x": "1"})
	require.Equal(t, a.DefinitionHash, b.DefinitionHash)
	require.Len(t, a.DefinitionHash, 32)
	raw, err := EncodeScheduleDefinition(a)
	require.NoError(t, err)
	var back Schedule
	require.NoError(t, DecodeScheduleDefinition(raw, &back))
	require.Equal(t, a.Spec, back.Spec)
	require.Equal(t, a.CatchUp, back.CatchUp)
	require.Equal(t, a.Template, back.Template)
	spec := a.TickSpec(1234)
	require.Equal(t, "ffsched:s:1234", spec.IdempotencyKey)
	require.Equal(t, "s", spec.Tags[TagSchedule])
	require.Equal(t, "1234", spec.Tags[TagTickMs])
	require.Len(t, a.Template.Tags, 3, "the template is not changed by a tick")
}

func FuzzScheduleSpec(f *testing.F) {
	f.Add("*/5 * * * *", "Europe/Paris", int64(0))
	f.Add("0 2 * * 0", "America/New_York", int64(1_790_000_000_000))
	f.Add("@monthly", "", int64(-5))
	f.Fuzz(func(t *testing.T, expr, tz string, at int64) {
		s := ScheduleSpec{Cron: expr, Timezone: tz}
		if s.Validate() != nil || at < 0 || at > MaxInstantMs {
			return
		}
		prev := at
		for range 50 {
			next, ok := s.Next(prev)
			if !ok {
				return
			}
			if next <= prev {
				t.Fatalf("%q in %q: tick %d after %d", expr, tz, next, prev)
			}
			prev = next
		}
	})
}
