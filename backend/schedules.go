package backend

import (
	"context"
	"time"

	ff "github.com/flowfabric-go/flowfabric"
)

// Schedules are stored periodic schedules: each tick of a schedule
// creates one execution from its template, keyed by the tick
// (ff.ScheduleIdempotencyKey), so a tick is never created twice. Methods
// name a schedule by (Namespace, ID); an unknown one is not_found
// (entity "schedule").
type Schedules interface {
	// CreateSchedule stores a schedule. The same id with the same
	// definition answers ScheduleExisting and writes nothing; with
	// another definition it is schedule_conflict, unless p.Replace, which
	// swaps the definition (ScheduleReplaced) keeping the paused state
	// and counters, and restarting the ticks from now when the spec
	// changed.
	CreateSchedule(ctx context.Context, p CreateScheduleParams) (CreateScheduleResult, error)
	// GetSchedule returns a schedule.
	GetSchedule(ctx context.Context, p GetScheduleParams) (ff.Schedule, error)
	// ListSchedules pages one namespace's schedules by id.
	ListSchedules(ctx context.Context, p ListSchedulesParams) (SchedulePage, error)
	// PauseSchedule stops a schedule's ticks; ResumeSchedule restarts
	// them from now (ticks that fell during the pause never fire). Both
	// are idempotent: repeating answers the schedule unchanged.
	PauseSchedule(ctx context.Context, p PauseScheduleParams) (ff.Schedule, error)
	ResumeSchedule(ctx context.Context, p ResumeScheduleParams) (ff.Schedule, error)
	// DeleteSchedule deletes a schedule; its executions stay. Repeating
	// it is not_found.
	DeleteSchedule(ctx context.Context, p DeleteScheduleParams) error
	// FireDueSchedules is the reconciler's sweep: it creates the
	// executions of up to p.Limit due ticks and advances their schedules
	// in one transaction, and wakes the lanes after the commit. Safe to
	// repeat and to run concurrently, from any number of processes: each
	// tick is created at most once.
	FireDueSchedules(ctx context.Context, p FireSchedulesParams) (FireSchedulesResult, error)
}

// CreateScheduleParams is the input of CreateSchedule.
type CreateScheduleParams struct {
	ID        string
	Namespace string
	Spec      ff.ScheduleSpec
	CatchUp   ff.CatchUp
	// Execution is the template of every tick's execution. ExecutionID,
	// IdempotencyKey, DelayUntil and DeadlineAt must be zero (a relative
	// deadline belongs in Policy); Namespace is the schedule's.
	Execution CreateExecutionParams
	// Paused creates the schedule paused (ignored when it exists).
	Paused  bool
	Replace bool
	// Declared marks a schedule declared by a program at startup
	// (engine.DeclareSchedules) rather than created over the API.
	Declared bool
}

// Definition validates the parts of p that only the seam knows (the
// template's per-execution fields) and returns the domain definition;
// the rest is validated by ff.NewSchedule.
func (p CreateScheduleParams) Definition() (ff.ScheduleDefinition, error) {
	x := p.Execution
	switch {
	case !x.ExecutionID.IsZero():
		return ff.ScheduleDefinition{}, ff.Validation(ff.ErrInvalidInput, "schedule template: execution_id must be empty (each tick mints one)")
	case x.IdempotencyKey != "":
		return ff.ScheduleDefinition{}, ff.Validation(ff.ErrInvalidInput, "schedule template: idempotency_key must be empty (each tick is keyed by its time)")
	case !x.DelayUntil.IsZero() || !x.DeadlineAt.IsZero():
		return ff.ScheduleDefinition{}, ff.Validation(ff.ErrInvalidInput, "schedule template: delay_until and deadline_at must be empty (use the policy's relative deadline)")
	case x.Namespace != "" && x.Namespace != p.Namespace:
		return ff.ScheduleDefinition{}, ff.Validation(ff.ErrInvalidInput, "schedule template: namespace is the schedule's")
	}
	src := ff.SourceAPI
	if p.Declared {
		src = ff.SourceDeclared
	}
	return ff.ScheduleDefinition{Namespace: p.Namespace, ID: p.ID, Spec: p.Spec, CatchUp: p.CatchUp, Source: src,
		Template: ff.ScheduleTemplate{Lane: x.Lane, Kind: x.Kind, Input: x.Input, Priority: x.Priority,
			Capabilities: x.RequiredCapabilities, Tags: x.Tags, Policy: x.Policy}}, nil
}

// ScheduleOutcome says what CreateSchedule did.
type ScheduleOutcome string

const (
	ScheduleCreated  ScheduleOutcome = "created"
	ScheduleExisting ScheduleOutcome = "existing" // same definition: nothing written
	ScheduleReplaced ScheduleOutcome = "replaced"
)

// CreateScheduleResult is the stored schedule and what was done.
type CreateScheduleResult struct {
	Schedule ff.Schedule
	Outcome  ScheduleOutcome
}

// GetScheduleParams names a schedule.
type GetScheduleParams struct{ Namespace, ID string }

// PauseScheduleParams is the input of PauseSchedule.
type PauseScheduleParams struct{ Namespace, ID, Reason string }

// ResumeScheduleParams is the input of ResumeSchedule.
type ResumeScheduleParams struct{ Namespace, ID string }

// DeleteScheduleParams is the input of DeleteSchedule.
type DeleteScheduleParams struct{ Namespace, ID string }

// ValidateScheduleRef checks a (namespace, id) pair every named method
// receives: a malformed one is invalid_input, never not_found.
func ValidateScheduleRef(ns, id string) error {
	if err := ff.ValidateNamespace(ns); err != nil {
		return err
	}
	return ff.ValidateScheduleID(id)
}

// ListSchedulesParams filters and pages schedules by id; Cursor is the
// exclusive id to start after.
type ListSchedulesParams struct {
	Namespace string
	Paused    *bool // nil: both
	Cursor    string
	Limit     int // 0 = 50; at most 1000
}

// Normalize validates p and applies defaults.
func (p *ListSchedulesParams) Normalize() error {
	if err := ff.ValidateNamespace(p.Namespace); err != nil {
		return err
	}
	if p.Cursor != "" {
		if err := ff.ValidateScheduleID(p.Cursor); err != nil {
			return ff.Validation(ff.ErrInvalidInput, "cursor: %v", err)
		}
	}
	return normalizePageLimit(&p.Limit, 50)
}

// SchedulePage is a page of schedules; NextCursor is empty on the last.
type SchedulePage struct {
	Schedules  []ff.Schedule
	NextCursor string
}

// FireSchedulesParams is the input of FireDueSchedules.
type FireSchedulesParams struct {
	// Limit bounds the ticks fired by one sweep: 0 = DefaultSweepLimit,
	// at most MaxSweepLimit.
	Limit int
	// Grace is how late a tick may be and still count as on time (0 =
	// ff.DefaultScheduleGrace, at most ff.MaxScheduleGrace).
	Grace time.Duration
}

// Normalize applies the sweep rules every store shares.
func (p *FireSchedulesParams) Normalize() error {
	sp := SweepParams{Limit: p.Limit}
	if err := sp.Normalize(); err != nil {
		return err
	}
	p.Limit = sp.Limit
	if p.Grace == 0 {
		p.Grace = ff.DefaultScheduleGrace
	}
	if p.Grace < 0 || p.Grace > ff.MaxScheduleGrace {
		return ff.Validation(ff.ErrInvalidInput, "schedule grace %v outside (0, %v]", p.Grace, ff.MaxScheduleGrace)
	}
	return nil
}

// FireSchedulesResult is what one sweep did.
type FireSchedulesResult struct {
	// Fired counts executions created, Duplicates ticks whose key
	// already held one, Skipped ticks dropped (late, or failed create).
	Fired, Duplicates, Skipped int
	// MaxLag is the largest (now - tick) among the ticks fired.
	MaxLag time.Duration
	// NextFireAt is the earliest next tick of any running schedule after
	// the sweep; zero when none remains.
	NextFireAt time.Time
}

// Changed is how many schedules' ticks the sweep handled: the
// reconciler's count.
func (r FireSchedulesResult) Changed() int { return r.Fired + r.Duplicates + r.Skipped }

// UnimplementedSchedules answers every schedule operation with
// Unavailable. A backend embeds it until it builds the area;
// Capabilities must agree.
type UnimplementedSchedules struct{}

func (UnimplementedSchedules) CreateSchedule(context.Context, CreateScheduleParams) (CreateScheduleResult, error) {
	return CreateScheduleResult{}, ff.Unavailable("schedules")
}

func (UnimplementedSchedules) GetSchedule(context.Context, GetScheduleParams) (ff.Schedule, error) {
	return ff.Schedule{}, ff.Unavailable("schedules")
}

func (UnimplementedSchedules) ListSchedules(context.Context, ListSchedulesParams) (SchedulePage, error) {
	return SchedulePage{}, ff.Unavailable("schedules")
}

func (UnimplementedSchedules) PauseSchedule(context.Context, PauseScheduleParams) (ff.Schedule, error) {
	return ff.Schedule{}, ff.Unavailable("schedules")
}

func (UnimplementedSchedules) ResumeSchedule(context.Context, ResumeScheduleParams) (ff.Schedule, error) {
	return ff.Schedule{}, ff.Unavailable("schedules")
}

func (UnimplementedSchedules) DeleteSchedule(context.Context, DeleteScheduleParams) error {
	return ff.Unavailable("schedules")
}

func (UnimplementedSchedules) FireDueSchedules(context.Context, FireSchedulesParams) (FireSchedulesResult, error) {
	return FireSchedulesResult{}, ff.Unavailable("schedules")
}

var _ Schedules = UnimplementedSchedules{}
