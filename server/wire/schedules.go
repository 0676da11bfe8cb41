package wire

import (
	"encoding/json"
	"time"

	ff "github.com/flowfabric-go/flowfabric"
)

// ScheduleRequest is the body of POST /v1/schedules and of
// PUT /v1/schedules/{schedule_id}: a timing spec (cron or every_ms), a
// catch-up policy and the execution each tick creates.
type ScheduleRequest struct {
	// ScheduleID is required by POST; PUT takes it from the path (a body
	// value must then be equal).
	ScheduleID string `json:"schedule_id,omitempty"`
	Namespace  string `json:"namespace,omitempty"`
	Cron       string `json:"cron,omitempty"`
	Timezone   string `json:"timezone,omitempty"`
	EveryMs    int64  `json:"every_ms,omitempty"`
	OffsetMs   int64  `json:"offset_ms,omitempty"`
	StartAtMs  int64  `json:"start_at_ms,omitempty"`
	EndAtMs    int64  `json:"end_at_ms,omitempty"`
	// CatchUp is the policy for late ticks; absent means skip.
	CatchUp   *CatchUp          `json:"catch_up,omitempty"`
	Execution ScheduleExecution `json:"execution"`
	// Paused creates the schedule paused (ignored when it exists).
	Paused bool `json:"paused,omitempty"`
}

// CatchUp is a schedule's catch-up policy.
type CatchUp struct {
	Policy ff.CatchUpPolicy `json:"policy"`
	Max    int              `json:"max,omitempty"`
}

// ScheduleExecution is the execution every tick creates: a create
// request without the per-execution fields (id, idempotency key, delay,
// absolute deadline).
type ScheduleExecution struct {
	Kind                 string            `json:"kind"`
	Lane                 string            `json:"lane,omitempty"`
	Input                json.RawMessage   `json:"input,omitempty"`
	InputBase64          []byte            `json:"input_base64,omitempty"`
	Priority             int64             `json:"priority,omitempty"`
	RequiredCapabilities []string          `json:"required_capabilities,omitempty"`
	Tags                 map[string]string `json:"tags,omitempty"`
	Policy               json.RawMessage   `json:"policy,omitempty"`
}

// Schedule is a stored schedule with its firing state.
type Schedule struct {
	ScheduleID      string            `json:"schedule_id"`
	Namespace       string            `json:"namespace"`
	Source          ff.ScheduleSource `json:"source"`
	Cron            string            `json:"cron,omitempty"`
	Timezone        string            `json:"timezone,omitempty"`
	EveryMs         int64             `json:"every_ms,omitempty"`
	OffsetMs        int64             `json:"offset_ms,omitempty"`
	StartAtMs       int64             `json:"start_at_ms,omitempty"`
	EndAtMs         int64             `json:"end_at_ms,omitempty"`
	CatchUp         CatchUp           `json:"catch_up"`
	Execution       ScheduleExecution `json:"execution"`
	Paused          bool              `json:"paused"`
	PauseReason     string            `json:"pause_reason,omitempty"`
	PausedAtMs      int64             `json:"paused_at_ms,omitempty"`
	NextFireAtMs    int64             `json:"next_fire_at_ms"`
	LastTickMs      int64             `json:"last_tick_ms,omitempty"`
	LastExecutionID string            `json:"last_execution_id,omitempty"`
	FiredCount      int64             `json:"fired_count"`
	SkippedCount    int64             `json:"skipped_count"`
	LastError       string            `json:"last_error,omitempty"`
	DefinitionHash  string            `json:"definition_hash"`
	CreatedAtMs     int64             `json:"created_at_ms"`
	UpdatedAtMs     int64             `json:"updated_at_ms"`
	// Outcome answers a create: created, existing or replaced.
	Outcome string `json:"outcome,omitempty"`
	// UpcomingMs are the next ticks (GET of one schedule), computed from
	// the spec, not stored.
	UpcomingMs []int64 `json:"upcoming_ms,omitempty"`
}

// SchedulePage is a page of schedules; NextCursor is absent on the last.
type SchedulePage struct {
	Schedules  []Schedule `json:"schedules"`
	NextCursor string     `json:"next_cursor,omitempty"`
}

// PauseScheduleRequest is the optional body of
// POST /v1/schedules/{schedule_id}/pause.
type PauseScheduleRequest struct {
	Reason string `json:"reason,omitempty"`
}

// ScheduleOf renders a stored schedule.
func ScheduleOf(s ff.Schedule) Schedule {
	t := s.Template
	x := ScheduleExecution{Kind: t.Kind, Lane: t.Lane, Priority: t.Priority, RequiredCapabilities: t.Capabilities, Tags: t.Tags}
	x.Input, x.InputBase64 = EncodePayload(t.Input)
	if t.Policy != nil {
		x.Policy, _ = json.Marshal(t.Policy)
	}
	w := Schedule{ScheduleID: s.ID, Namespace: s.Namespace, Source: s.Source, Cron: s.Spec.Cron, Timezone: s.Spec.Timezone,
		EveryMs: s.Spec.Every.Milliseconds(), OffsetMs: s.Spec.Offset.Milliseconds(),
		StartAtMs: ff.MsFromTime(s.Spec.StartAt), EndAtMs: ff.MsFromTime(s.Spec.EndAt),
		CatchUp: CatchUp(s.CatchUp), Execution: x, Paused: s.Paused, PauseReason: s.PauseReason, PausedAtMs: s.PausedAtMs,
		NextFireAtMs: s.NextFireAtMs, LastTickMs: s.LastTickMs, FiredCount: s.FiredCount, SkippedCount: s.SkippedCount,
		LastError: s.LastError, DefinitionHash: s.DefinitionHash, CreatedAtMs: s.CreatedAtMs, UpdatedAtMs: s.UpdatedAtMs}
	if !s.LastExecutionID.IsZero() {
		w.LastExecutionID = s.LastExecutionID.String()
	}
	return w
}

// SchedulePageOf renders a page.
func SchedulePageOf(ss []ff.Schedule, next string) SchedulePage {
	p := SchedulePage{Schedules: make([]Schedule, len(ss)), NextCursor: next}
	for i, s := range ss {
		p.Schedules[i] = ScheduleOf(s)
	}
	return p
}

// Spec is the request's timing spec.
func (r ScheduleRequest) Spec() ff.ScheduleSpec {
	return ff.ScheduleSpec{Cron: r.Cron, Timezone: r.Timezone, Every: msDuration(r.EveryMs), Offset: msDuration(r.OffsetMs),
		StartAt: ff.TimeFromMs(r.StartAtMs), EndAt: ff.TimeFromMs(r.EndAtMs)}
}

// ScheduleRequestOf is the request that creates a schedule with spec, cu
// and the template x (whose policy is already encoded).
func ScheduleRequestOf(id, ns string, spec ff.ScheduleSpec, cu ff.CatchUp, x ScheduleExecution, paused bool) ScheduleRequest {
	r := ScheduleRequest{ScheduleID: id, Namespace: ns, Cron: spec.Cron, Timezone: spec.Timezone,
		EveryMs: spec.Every.Milliseconds(), OffsetMs: spec.Offset.Milliseconds(),
		StartAtMs: ff.MsFromTime(spec.StartAt), EndAtMs: ff.MsFromTime(spec.EndAt), Execution: x, Paused: paused}
	if cu != (ff.CatchUp{}) {
		c := CatchUp(cu)
		r.CatchUp = &c
	}
	return r
}

func msDuration(ms int64) time.Duration { return time.Duration(ms) * time.Millisecond }

// ToDomain rebuilds the stored schedule from its wire form.
func (w Schedule) ToDomain() (ff.Schedule, error) {
	input, err := DecodePayload("execution.input", w.Execution.Input, w.Execution.InputBase64)
	if err != nil {
		return ff.Schedule{}, err
	}
	var policy *ff.ExecutionPolicy
	if len(w.Execution.Policy) > 0 {
		if policy, err = ff.ParsePolicy(w.Execution.Policy); err != nil {
			return ff.Schedule{}, err
		}
	}
	s := ff.Schedule{Namespace: w.Namespace, ID: w.ScheduleID, Source: w.Source,
		Spec: ScheduleRequest{Cron: w.Cron, Timezone: w.Timezone, EveryMs: w.EveryMs, OffsetMs: w.OffsetMs,
			StartAtMs: w.StartAtMs, EndAtMs: w.EndAtMs}.Spec(),
		CatchUp: ff.CatchUp(w.CatchUp),
		Template: ff.ScheduleTemplate{Lane: w.Execution.Lane, Kind: w.Execution.Kind, Input: input, Priority: w.Execution.Priority,
			Capabilities: w.Execution.RequiredCapabilities, Tags: w.Execution.Tags, Policy: policy},
		DefinitionHash: w.DefinitionHash, Paused: w.Paused, PauseReason: w.PauseReason, PausedAtMs: w.PausedAtMs,
		NextFireAtMs: w.NextFireAtMs, LastTickMs: w.LastTickMs, FiredCount: w.FiredCount, SkippedCount: w.SkippedCount,
		LastError: w.LastError, CreatedAtMs: w.CreatedAtMs, UpdatedAtMs: w.UpdatedAtMs}
	if w.LastExecutionID != "" {
		if s.LastExecutionID, err = ff.ParseExecutionID(w.LastExecutionID); err != nil {
			return ff.Schedule{}, err
		}
	}
	return s, nil
}
