package flowfabric

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// EventSchedule is the outbox family of schedule events (ScheduleEvent*).
const EventSchedule EventType = "schedule"

// Schedule event actions.
const (
	ScheduleCreated      = "created"
	ScheduleReplaced     = "replaced"
	SchedulePausedEvent  = "paused"
	ScheduleResumedEvent = "resumed"
	ScheduleDeleted      = "deleted"
	ScheduleFired        = "fired"
	ScheduleTicksSkipped = "ticks_skipped"
)

// Schedule limits (docs/limits.md).
const (
	// MaxScheduleIDBytes bounds a schedule id, so that its tick keys
	// (ffsched:<id>:<tick_ms>) stay within an idempotency key.
	MaxScheduleIDBytes = 200
	// MinScheduleEvery and MaxScheduleEvery bound a fixed interval.
	MinScheduleEvery = time.Second
	MaxScheduleEvery = 366 * 24 * time.Hour
	// MaxCatchUp bounds CatchUp.Max.
	MaxCatchUp = 1000
	// DefaultScheduleGrace is how late a tick may fire and still count as
	// on time; MaxScheduleGrace bounds the setting.
	DefaultScheduleGrace = time.Minute
	MaxScheduleGrace     = time.Hour
	// maxScheduleTemplateTags leaves room for the two tick tags.
	maxScheduleTemplateTags = MaxTags - 2
	// maxLateScan bounds how many late cron ticks a plan walks one by one;
	// past it the skipped count is approximate.
	maxLateScan = 100_000
)

// Tags every tick execution carries (the "ff." prefix is reserved for
// them in templates).
const (
	TagSchedule = "ff.schedule"
	TagTickMs   = "ff.tick_ms"
)

// ScheduleSpec says when a schedule ticks: a cron expression in a zone,
// or a fixed interval anchored at the Unix epoch. Exactly one of Cron and
// Every is set.
type ScheduleSpec struct {
	// Cron is five fields (minute hour day-of-month month day-of-week) or
	// a descriptor (@yearly, @monthly, @weekly, @daily, @midnight,
	// @hourly); "" when Every is set.
	Cron string
	// Timezone is the IANA zone Cron is read in; "" is UTC. Empty for
	// Every.
	Timezone string
	// Every is the fixed interval, whole milliseconds in [1 s, 366 days];
	// ticks fall at Unix epoch + Offset + k·Every, the same instants on
	// every server.
	Every time.Duration
	// Offset shifts Every's ticks, in [0, Every).
	Offset time.Duration
	// StartAt, when set, is the earliest tick; EndAt, when set, the
	// latest (inclusive).
	StartAt time.Time
	EndAt   time.Time
}

// Validate reports a spec no schedule may have (invalid_input).
func (s ScheduleSpec) Validate() error {
	switch {
	case s.Cron == "" && s.Every == 0:
		return Validation(ErrInvalidInput, "schedule: set cron or every")
	case s.Cron != "" && s.Every != 0:
		return Validation(ErrInvalidInput, "schedule: set cron or every, not both")
	case s.Cron != "":
		if err := s.validateCron(); err != nil {
			return err
		}
	default:
		if err := s.validateEvery(); err != nil {
			return err
		}
	}
	if err := ValidateInstant("start_at", MsFromTime(s.StartAt)); err != nil {
		return err
	}
	if err := ValidateInstant("end_at", MsFromTime(s.EndAt)); err != nil {
		return err
	}
	if !s.StartAt.IsZero() && !s.EndAt.IsZero() && !s.EndAt.After(s.StartAt) {
		return Validation(ErrInvalidInput, "schedule: end_at must be after start_at")
	}
	return nil
}

// cronReference is where Validate looks for a first tick: a spec with
// none within five years of it never fires.
var cronReference = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()

func (s ScheduleSpec) validateCron() error {
	if s.Offset != 0 {
		return Validation(ErrInvalidInput, "schedule: offset applies to every only")
	}
	spec, err := parseCron(s.Cron, s.Timezone)
	if err != nil {
		return err
	}
	if _, ok := cronNext(spec, cronReference); !ok {
		return Validation(ErrInvalidInput, "cron %q: never fires", clip(s.Cron))
	}
	return nil
}

func (s ScheduleSpec) validateEvery() error {
	switch {
	case s.Timezone != "":
		return Validation(ErrInvalidInput, "schedule: timezone applies to cron only")
	case s.Every%time.Millisecond != 0:
		return Validation(ErrInvalidInput, "schedule: every %v is not whole milliseconds", s.Every)
	case s.Every < MinScheduleEvery || s.Every > MaxScheduleEvery:
		return Validation(ErrInvalidInput, "schedule: every %v outside [%v, %v]", s.Every, MinScheduleEvery, MaxScheduleEvery)
	case s.Offset < 0 || s.Offset >= s.Every || s.Offset%time.Millisecond != 0:
		return Validation(ErrInvalidInput, "schedule: offset %v outside [0, every) or not whole milliseconds", s.Offset)
	}
	return nil
}

// Next returns the first tick strictly after afterMs (Unix ms), or false
// when none remains (past EndAt, or a cron that never fires again). The
// spec must be valid.
func (s ScheduleSpec) Next(afterMs int64) (int64, bool) {
	if start := MsFromTime(s.StartAt); start > 0 && afterMs < start-1 {
		afterMs = start - 1
	}
	t, ok := s.next(afterMs)
	if !ok {
		return 0, false
	}
	if end := MsFromTime(s.EndAt); end > 0 && t > end {
		return 0, false
	}
	return t, true
}

// next is Next without the StartAt/EndAt bounds.
func (s ScheduleSpec) next(afterMs int64) (int64, bool) {
	if s.Every > 0 {
		every, off := s.Every.Milliseconds(), s.Offset.Milliseconds()
		k := floorDiv(afterMs-off, every) + 1
		return off + k*every, true
	}
	spec, err := parseCron(s.Cron, s.Timezone)
	if err != nil {
		return 0, false
	}
	return cronNext(spec, afterMs)
}

// Upcoming returns up to n ticks after afterMs, in order.
func (s ScheduleSpec) Upcoming(afterMs int64, n int) []int64 {
	var out []int64
	for t := afterMs; len(out) < n; {
		next, ok := s.Next(t)
		if !ok {
			break
		}
		out = append(out, next)
		t = next
	}
	return out
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// CatchUpPolicy says what a schedule does with ticks it missed while no
// server fired it (late ticks: more than the grace behind now).
type CatchUpPolicy string

const (
	// CatchUpSkip drops late ticks (the default); on-time ticks always fire.
	CatchUpSkip CatchUpPolicy = "skip"
	// CatchUpAll fires the Max most recent late ticks, oldest first, and
	// drops the older ones.
	CatchUpAll CatchUpPolicy = "catch_up"
)

// CatchUp is a schedule's catch-up policy.
type CatchUp struct {
	Policy CatchUpPolicy // "" is CatchUpSkip
	Max    int           // CatchUpAll: in [1, 1000] (0 is 1); CatchUpSkip: 0
}

// normalize fills defaults and validates.
func (c *CatchUp) normalize() error {
	switch c.Policy {
	case "", CatchUpSkip:
		c.Policy = CatchUpSkip
		if c.Max != 0 {
			return Validation(ErrInvalidInput, "catch_up: max applies to catch_up only")
		}
	case CatchUpAll:
		if c.Max == 0 {
			c.Max = 1
		}
		if c.Max < 1 || c.Max > MaxCatchUp {
			return Validation(ErrInvalidInput, "catch_up: max %d outside [1, %d]", c.Max, MaxCatchUp)
		}
	default:
		return Validation(ErrInvalidInput, "catch_up: policy %q: want skip or catch_up", clip(string(c.Policy)))
	}
	return nil
}

// keep is how many late ticks the policy fires.
func (c CatchUp) keep() int {
	if c.Policy == CatchUpAll {
		return c.Max
	}
	return 0
}

// ScheduleTemplate is the execution every tick creates.
type ScheduleTemplate struct {
	Lane         string
	Kind         string
	Input        []byte
	Priority     int64
	Capabilities []string
	// Tags are copied to every tick execution, with TagSchedule and
	// TagTickMs added; keys starting with "ff." are reserved.
	Tags   map[string]string
	Policy *ExecutionPolicy
}

// validate checks the template with the rules of a create, so that a bad
// template fails when the schedule is stored, not at its first tick.
func (t *ScheduleTemplate) validate() error {
	if t.Lane == "" {
		t.Lane = "default"
	}
	if len(t.Tags) > maxScheduleTemplateTags {
		return Validation(ErrInvalidTagKey, "template tags: %d entries, at most %d", len(t.Tags), maxScheduleTemplateTags)
	}
	for k := range t.Tags {
		if strings.HasPrefix(k, "ff.") {
			return Validation(ErrInvalidTagKey, "template tag %q: the ff. prefix is reserved for tick tags", clip(k))
		}
	}
	probe := (&Schedule{ID: "x", Template: *t}).TickSpec(0)
	_, err := NewExecution(probe, 0)
	return err
}

// ScheduleSource says who made a schedule.
type ScheduleSource string

const (
	SourceAPI      ScheduleSource = "api"      // created over the API (or the seam)
	SourceDeclared ScheduleSource = "declared" // declared by a program at startup
)

// Schedule is a stored periodic schedule: a spec, a catch-up policy and
// the template of the execution each tick creates, with its firing state.
// Methods below are its state machine, written once for every store.
type Schedule struct {
	Namespace string
	ID        string
	Source    ScheduleSource
	Spec      ScheduleSpec
	CatchUp   CatchUp
	Template  ScheduleTemplate

	// DefinitionHash identifies Spec, CatchUp and Template (hex);
	// SpecHash identifies Spec alone.
	DefinitionHash string
	SpecHash       string

	Paused      bool
	PauseReason string
	PausedAtMs  int64
	// NextFireAtMs is the next tick to fire; 0 when none remains.
	// Invariant: it only grows, so no tick is fired twice by the
	// schedule itself (the tick's idempotency key guards the rest).
	NextFireAtMs    int64
	LastTickMs      int64
	LastExecutionID ExecutionID
	FiredCount      int64
	SkippedCount    int64
	LastError       string
	CreatedAtMs     int64
	UpdatedAtMs     int64
}

// ScheduleDefinition is what a caller defines of a schedule.
type ScheduleDefinition struct {
	Namespace string
	ID        string
	Spec      ScheduleSpec
	CatchUp   CatchUp
	Template  ScheduleTemplate
	Source    ScheduleSource // "" is SourceAPI
}

// ValidateScheduleID checks a schedule id: an identifier (no whitespace
// or control character) of at most 200 bytes.
func ValidateScheduleID(id string) error {
	if err := ValidateIdentifier("schedule_id", id); err != nil {
		return err
	}
	if len(id) > MaxScheduleIDBytes {
		return Validation(ErrInvalidInput, "schedule_id: %d bytes, at most %d", len(id), MaxScheduleIDBytes)
	}
	return nil
}

// normalize validates d and fills its defaults.
func (d *ScheduleDefinition) normalize() error {
	if err := ValidateScheduleID(d.ID); err != nil {
		return err
	}
	if err := ValidateNamespace(d.Namespace); err != nil {
		return err
	}
	if err := d.Spec.Validate(); err != nil {
		return err
	}
	if err := d.CatchUp.normalize(); err != nil {
		return err
	}
	switch d.Source {
	case "":
		d.Source = SourceAPI
	case SourceAPI, SourceDeclared:
	default:
		return Validation(ErrInvalidInput, "schedule source %q: want api or declared", clip(string(d.Source)))
	}
	return d.Template.validate()
}

// NewSchedule validates d and returns the new schedule, whose first tick
// is the first after nowMs, with its created event.
func NewSchedule(d ScheduleDefinition, paused bool, nowMs int64) (*Schedule, []Event, error) {
	if err := d.normalize(); err != nil {
		return nil, nil, err
	}
	s := &Schedule{Namespace: d.Namespace, ID: d.ID, Source: d.Source, Spec: d.Spec, CatchUp: d.CatchUp,
		Template: d.Template, CreatedAtMs: nowMs, UpdatedAtMs: nowMs}
	s.DefinitionHash, s.SpecHash = d.hashes()
	s.NextFireAtMs, _ = s.Spec.Next(nowMs)
	if paused {
		s.Paused, s.PausedAtMs = true, nowMs
	}
	ev := s.event(ScheduleCreated, nowMs, map[string]any{"source": s.Source, "next_fire_at_ms": s.NextFireAtMs,
		"definition_hash": s.DefinitionHash, "paused": s.Paused})
	return s, []Event{ev}, nil
}

// Replace swaps in d's definition when it differs (changed false and no
// event otherwise). A changed spec restarts the ticks from nowMs; paused
// state, counters and the last tick are kept.
func (s *Schedule) Replace(d ScheduleDefinition, nowMs int64) (bool, []Event, error) {
	d.Namespace, d.ID = s.Namespace, s.ID
	if err := d.normalize(); err != nil {
		return false, nil, err
	}
	def, spec := d.hashes()
	if def == s.DefinitionHash {
		return false, nil, nil
	}
	prev := s.DefinitionHash
	if spec != s.SpecHash {
		s.NextFireAtMs, _ = d.Spec.Next(nowMs)
	}
	s.Spec, s.CatchUp, s.Template, s.Source = d.Spec, d.CatchUp, d.Template, d.Source
	s.DefinitionHash, s.SpecHash, s.UpdatedAtMs = def, spec, nowMs
	return true, []Event{s.event(ScheduleReplaced, nowMs, map[string]any{"previous_hash": prev,
		"definition_hash": def, "next_fire_at_ms": s.NextFireAtMs})}, nil
}

// Pause stops the ticks; pausing a paused schedule changes nothing.
func (s *Schedule) Pause(reason string, nowMs int64) (bool, []Event) {
	if s.Paused {
		return false, nil
	}
	s.Paused, s.PauseReason, s.PausedAtMs, s.UpdatedAtMs = true, SanitizeText(reason, MaxReasonBytes), nowMs, nowMs
	return true, []Event{s.event(SchedulePausedEvent, nowMs, map[string]any{"reason": s.PauseReason})}
}

// Resume restarts the ticks from nowMs: ticks that fell during the pause
// never fire. Resuming a running schedule changes nothing.
func (s *Schedule) Resume(nowMs int64) (bool, []Event) {
	if !s.Paused {
		return false, nil
	}
	s.Paused, s.PauseReason, s.PausedAtMs, s.UpdatedAtMs = false, "", 0, nowMs
	s.NextFireAtMs, _ = s.Spec.Next(max(nowMs, s.NextFireAtMs-1))
	return true, []Event{s.event(ScheduleResumedEvent, nowMs, map[string]any{"next_fire_at_ms": s.NextFireAtMs})}
}

// DeletedEvent is the event of deleting s.
func (s *Schedule) DeletedEvent(nowMs int64) Event {
	return s.event(ScheduleDeleted, nowMs, nil)
}

// event is a schedule event about no single execution.
func (s *Schedule) event(action string, nowMs int64, data map[string]any) Event {
	if data == nil {
		data = map[string]any{}
	}
	data["schedule_id"] = s.ID
	return Event{Type: EventSchedule, Action: action, Namespace: s.Namespace, Lane: s.Template.Lane,
		Partition: SchedulePartition(s.Namespace, s.ID, 0), AtMs: nowMs, Data: data}
}

// SchedulePartition is the partition a schedule is stored under: the
// CRC16 of namespace, NUL, id, modulo partitions (0 = the default).
func SchedulePartition(ns, id string, partitions uint16) uint16 {
	if partitions == 0 {
		partitions = DefaultFlowPartitions
	}
	return CRC16([]byte(ns+"\x00"+id)) % partitions
}

// ScheduleIdempotencyKey is the idempotency key of the execution of
// schedule id's tick at tickMs: a repeated fire of a tick finds it.
func ScheduleIdempotencyKey(id string, tickMs int64) string {
	return "ffsched:" + id + ":" + strconv.FormatInt(tickMs, 10)
}

// TickSpec is the creation spec of the execution of the tick at tickMs:
// the template, in the schedule's namespace, keyed by the tick, tagged
// with the schedule and the tick.
func (s *Schedule) TickSpec(tickMs int64) CreateSpec {
	t := s.Template
	tags := make(map[string]string, len(t.Tags)+2)
	for k, v := range t.Tags {
		tags[k] = v
	}
	tags[TagSchedule] = s.ID
	tags[TagTickMs] = strconv.FormatInt(tickMs, 10)
	return CreateSpec{Namespace: s.Namespace, Lane: t.Lane, Kind: t.Kind, Priority: t.Priority,
		Capabilities: t.Capabilities, Tags: tags, Policy: t.Policy, Input: t.Input,
		IdempotencyKey: ScheduleIdempotencyKey(s.ID, tickMs)}
}

// hashes returns the definition hash (spec, catch-up, template; not the
// source) and the spec hash: hex SHA-256 of canonical JSON, cut to 16 bytes.
func (d ScheduleDefinition) hashes() (string, string) {
	spec := hashJSON(specJSONOf(d.Spec))
	def := hashJSON(definitionJSONOf(d.Spec, d.CatchUp, d.Template))
	return def, spec
}

// hashJSON hashes v's JSON; encoding/json sorts map keys, so equal
// values hash equally whatever their maps' order.
func hashJSON(v any) string {
	b, _ := json.Marshal(v)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}
