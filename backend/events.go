package backend

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	ff "github.com/flowfabric-go/flowfabric"
)

// Events are outbox-backed subscriptions. Every transition writes its
// events (flowfabric.Effects.Events: completions, lease ends, operator
// actions, ...) to one outbox in its own transaction. ReadEvents walks it
// with a cursor; ReadCompletions is its completion-only view, kept for
// the first wave's callers.
type Events interface {
	// ReadCompletions returns up to p.Limit completion events (the
	// outbox rows of type completion; the others are skipped) after the
	// exclusive cursor p.After, in commit order, and the cursor to resume
	// from. Reading again from a cursor is safe: it returns the same
	// events, plus any committed since. A cursor the backend did not mint
	// is invalid_input.
	ReadCompletions(ctx context.Context, p ReadCompletionsParams) (CompletionPage, error)
	// ReadEvents returns up to p.Limit events after the exclusive cursor
	// p.After (the oldest retained when empty; only events committed
	// from now on for EventCursorLatest) that pass the type and lane
	// filters, in commit order, and the cursor to resume from. Gap-free:
	// walking the cursor sees every committed event exactly once, also
	// one committed after a later one was read. Events filtered out
	// still advance the cursor.
	ReadEvents(ctx context.Context, p ReadEventsParams) (EventPage, error)
	// SweepEvents deletes up to p.Limit of the oldest events written
	// before p.Before and returns how many. A cursor into the deleted
	// range stays valid: reading resumes at the oldest retained event.
	SweepEvents(ctx context.Context, p SweepEventsParams) (int, error)
	// CountEventRows returns how many outbox rows were ever written, by
	// every process (the outbox's id counter; swept rows count). A row
	// that ends a lease reads as up to three events.
	CountEventRows(ctx context.Context, p CountEventRowsParams) (int64, error)
	// SubscribeEvents returns a channel that receives (coalesced) when
	// events may have been committed, by this process or (on Postgres)
	// another, and a function that ends the subscription; like
	// SubscribeWork, wake-ups are hints and followers keep a fallback
	// poll.
	SubscribeEvents(ctx context.Context) (<-chan struct{}, func())
}

// ReadCompletionsParams is the input of ReadCompletions.
type ReadCompletionsParams struct {
	After EventCursor // "" = from the beginning
	Limit int         // 0 = 100; at most 1000
}

// Normalize applies the page-limit rule every listing shares: 0 means
// 100, and a limit outside [1, 1000] is invalid_input.
func (p *ReadCompletionsParams) Normalize() error {
	return normalizePageLimit(&p.Limit, 100)
}

// CompletionPage is a page of completion events. Next is the cursor to
// resume from: the last event's, or After when there is nothing new.
type CompletionPage struct {
	Events []CompletionEvent
	Next   EventCursor
}

// EventCursor is an opaque position in the outbox; the empty cursor is
// the beginning. Cursors are gap-free: an event that commits after a
// later one was read is still delivered after that cursor.
type EventCursor string

// EventCursorLatest asks ReadEvents for events committed from now on
// only; the page it answers is empty, with the cursor of now.
const EventCursorLatest EventCursor = "latest"

// CompletionEvent is one completion outbox row.
type CompletionEvent struct {
	Cursor      EventCursor
	ExecutionID ff.ExecutionID
	Lane        string
	Outcome     ff.TerminalOutcome
	At          time.Time
}

// EventTypes are the event types a reader may ask for.
var EventTypes = []ff.EventType{ff.EventCompletion, ff.EventLease, ff.EventSignal, ff.EventOperator,
	ff.EventFlow, ff.EventBudget, ff.EventSchedule}

// ReadEventsParams is the input of ReadEvents.
type ReadEventsParams struct {
	After EventCursor
	Types []ff.EventType // empty = every type
	Lane  string         // "" = every lane (and events about none)
	Limit int            // 0 = 100; at most 1000
}

// Normalize validates p: known types (deduplicated, sorted), a valid
// lane, the page limit.
func (p *ReadEventsParams) Normalize() error {
	if err := normalizePageLimit(&p.Limit, 100); err != nil {
		return err
	}
	if p.Lane != "" {
		if err := ff.ValidateLane(p.Lane); err != nil {
			return err
		}
	}
	for _, t := range p.Types {
		if !slices.Contains(EventTypes, t) {
			return ff.Validation(ff.ErrInvalidInput, "event type %q: one of %v", ff.CutText(string(t), 40), EventTypes)
		}
	}
	p.Types = slices.Compact(slices.Sorted(slices.Values(p.Types)))
	return nil
}

// keep reports whether ev passes p's filters.
func (p *ReadEventsParams) keep(ev ff.Event) bool {
	if len(p.Types) > 0 && !slices.Contains(p.Types, ev.Type) {
		return false
	}
	return p.Lane == "" || ev.Lane == p.Lane
}

// EventPage is a page of events. Next is the cursor to resume from: the
// last event's, past the events filtered out, or After when nothing was
// read.
type EventPage struct {
	Events []EventRecord
	Next   EventCursor
}

// EventRecord is one event as read: Event.Data is the stored JSON object
// (json.RawMessage), nil when the event has none.
type EventRecord struct {
	Cursor EventCursor
	ff.Event
}

// SweepEventsParams is the input of SweepEvents.
type SweepEventsParams struct {
	Before time.Time // events written (at_ms) before it are due
	Limit  int       // 0 = 1000; at most 10000
}

// Normalize applies the sweep limits.
func (p *SweepEventsParams) Normalize() error {
	if p.Limit == 0 {
		p.Limit = 1000
	}
	if p.Limit < 0 || p.Limit > 10_000 {
		return ff.Validation(ff.ErrInvalidInput, "limit %d outside [1, 10000]", p.Limit)
	}
	return nil
}

// CountEventRowsParams is the input of CountEventRows (none yet).
type CountEventRowsParams struct{}

// EventRow is one stored outbox row as both stores read it; Pos is the
// store's position of the row (its whole-row cursor). A row that ends a
// lease expands to the lease's start, the implied end when the row is
// not a lease event itself, and the row (Expand).
type EventRow struct {
	Pos                                        string
	Type, Action, ExecutionID, Lane, Namespace string
	Partition, AtMs, AttemptIndex, LeaseEpoch  int64
	AttemptID, AttemptType, Worker, Instance   string
	AcquiredAtMs                               int64
	LeaseEnd, AcquiredAction                   string
	Data                                       *string
}

// EventRowColumns is the select list matching EventRow.Dest, after the
// store's position columns.
const EventRowColumns = `type, action, execution_id, lane, namespace, at_ms,
	attempt_index, lease_epoch, attempt_id, attempt_type, worker_id, worker_instance_id,
	acquired_at_ms, lease_end, acquired_action, data`

// Dest is the scan destination of EventRowColumns (Partition is scanned
// by the store, whose column names differ).
func (r *EventRow) Dest() []any {
	return []any{&r.Type, &r.Action, &r.ExecutionID, &r.Lane, &r.Namespace, &r.AtMs,
		&r.AttemptIndex, &r.LeaseEpoch, &r.AttemptID, &r.AttemptType, &r.Worker, &r.Instance,
		&r.AcquiredAtMs, &r.LeaseEnd, &r.AcquiredAction, &r.Data}
}

// Expand returns the events the row stands for, in order, with their
// cursors: the last one's is the row's position, the others' the
// position with their index ("pos/k").
func (r *EventRow) Expand() ([]EventRecord, error) {
	base := ff.Event{Type: ff.EventType(r.Type), Action: r.Action, Lane: r.Lane, Namespace: r.Namespace,
		Partition: uint16(r.Partition), AtMs: r.AtMs}
	if r.ExecutionID != "" {
		id, err := ff.ParseExecutionID(r.ExecutionID)
		if err != nil {
			return nil, ff.Corruption("event %s: execution id: %v", r.Pos, err)
		}
		base.ExecutionID = id
	}
	if r.Data != nil {
		base.Data = json.RawMessage(*r.Data)
	}
	evs := []ff.Event{base}
	if r.AttemptIndex >= 0 {
		evs = r.expandLease(base)
	}
	out := make([]EventRecord, len(evs))
	for i, ev := range evs {
		c := r.Pos
		if i < len(evs)-1 {
			c += "/" + strconv.Itoa(i)
		}
		out[i] = EventRecord{Cursor: EventCursor(c), Event: ev}
	}
	return out, nil
}

// expandLease returns the lease start, the implied lease end (a row
// that is not a lease event but ends one) and the row itself.
func (r *EventRow) expandLease(row ff.Event) []ff.Event {
	ref := ff.LeaseRef{AttemptIndex: uint32(r.AttemptIndex), AttemptID: r.AttemptID,
		AttemptType: ff.AttemptType(r.AttemptType), LeaseEpoch: uint64(r.LeaseEpoch), WorkerID: r.Worker,
		WorkerInstanceID: r.Instance, AcquiredAtMs: r.AcquiredAtMs, Reclaim: r.AcquiredAction == ff.LeaseReclaimed}
	start := ff.Event{Type: ff.EventLease, Action: ref.StartAction(), ExecutionID: row.ExecutionID, Lane: row.Lane,
		Namespace: row.Namespace, Partition: row.Partition, AtMs: r.AcquiredAtMs, Lease: &ref}
	out := []ff.Event{start}
	if row.Type != ff.EventLease && r.LeaseEnd != "" {
		end := start
		end.Action, end.AtMs = r.LeaseEnd, row.AtMs
		end.Data = json.RawMessage(`{"reason":` + strconv.Quote(string(row.Type)+"_"+row.Action) + `}`)
		out = append(out, end)
	}
	withEnd := ref
	withEnd.End = r.LeaseEnd
	row.Lease = &withEnd
	return append(out, row)
}

// EventPosition is a parsed cursor: the store position of a row and the
// index of the last event of that row already read (-1: the whole row).
type EventPosition struct {
	Pos string
	Sub int
}

// ParseEventCursor splits c; the store validates Pos.
func ParseEventCursor(c EventCursor) (EventPosition, error) {
	pos, sub, ok := strings.Cut(string(c), "/")
	if !ok {
		return EventPosition{Pos: pos, Sub: -1}, nil
	}
	k, err := strconv.Atoi(sub)
	if err != nil || k < 0 || k > 2 || pos == "" {
		return EventPosition{}, ff.Validation(ff.ErrInvalidInput, "event cursor %q: malformed", ff.CutText(string(c), 80))
	}
	return EventPosition{Pos: pos, Sub: k}, nil
}

// EventRowFilter narrows the rows a store reads to a superset of those
// whose events pass ReadEventsParams' filters: rows of RowTypes (all
// when nil), plus every row that ends a lease when LeaseRows, of Lane
// when not "".
type EventRowFilter struct {
	RowTypes  []string
	LeaseRows bool
	Lane      string
}

// rowFilter is the row filter of p.
func (p *ReadEventsParams) rowFilter() EventRowFilter {
	f := EventRowFilter{Lane: p.Lane}
	for _, t := range p.Types {
		f.RowTypes = append(f.RowTypes, string(t))
		f.LeaseRows = f.LeaseRows || t == ff.EventLease
	}
	return f
}

// EventRowReader reads up to limit rows passing f in commit order
// starting at from: rows after from.Pos, plus the row at from.Pos itself
// when from.Sub >= 0 (part of it is unread). It returns only rows no
// transaction can still precede (the store's gap-free rule).
type EventRowReader func(ctx context.Context, from EventPosition, f EventRowFilter, limit int) ([]EventRow, error)

// ReadEventPage is ReadEvents over a store's row reader, written once for
// every store: p must be normalized and p.After not EventCursorLatest.
// It reads on while rows come back full and the page is not.
func ReadEventPage(ctx context.Context, p ReadEventsParams, read EventRowReader) (EventPage, error) {
	from, err := ParseEventCursor(p.After)
	if err != nil {
		return EventPage{}, err
	}
	page := EventPage{Events: []EventRecord{}, Next: p.After}
	f := p.rowFilter()
	for {
		rows, err := read(ctx, from, f, p.Limit)
		if err != nil {
			return EventPage{}, err
		}
		full, err := page.add(p, from, rows)
		if err != nil || full || len(rows) < p.Limit || ctx.Err() != nil {
			return page, err
		}
		if from, err = ParseEventCursor(page.Next); err != nil {
			return EventPage{}, err
		}
	}
}

// add appends the events of rows read from from that pass p's filters,
// advancing Next over every event it passes; it reports whether the page
// is full.
func (page *EventPage) add(p ReadEventsParams, from EventPosition, rows []EventRow) (bool, error) {
	for _, row := range rows {
		recs, err := row.Expand()
		if err != nil {
			return false, err
		}
		if row.Pos == from.Pos && from.Sub >= 0 {
			recs = recs[min(from.Sub+1, len(recs)):]
			if len(recs) == 0 {
				page.Next = EventCursor(row.Pos) // read whole: move past it
			}
		}
		for _, rec := range recs {
			if len(page.Events) == p.Limit {
				return true, nil
			}
			page.Next = rec.Cursor
			if p.keep(rec.Event) {
				page.Events = append(page.Events, rec)
			}
		}
	}
	return len(page.Events) == p.Limit, nil
}

// CompletionsFromEvents is ReadCompletions over ReadEventPage: the
// completion events of the page, as CompletionEvent.
func CompletionsFromEvents(page EventPage) (CompletionPage, error) {
	out := CompletionPage{Events: make([]CompletionEvent, 0, len(page.Events)), Next: page.Next}
	for _, ev := range page.Events {
		out.Events = append(out.Events, CompletionEvent{Cursor: ev.Cursor, ExecutionID: ev.ExecutionID, Lane: ev.Lane,
			Outcome: ff.TerminalOutcome(ev.Action), At: ff.TimeFromMs(ev.AtMs)})
	}
	return out, nil
}

// UnimplementedEvents answers every event operation with
// Unavailable. A backend embeds it until it builds the area;
// Capabilities must agree.
type UnimplementedEvents struct{}

func (UnimplementedEvents) ReadCompletions(context.Context, ReadCompletionsParams) (CompletionPage, error) {
	return CompletionPage{}, ff.Unavailable("subscribe_completion")
}

func (UnimplementedEvents) ReadEvents(context.Context, ReadEventsParams) (EventPage, error) {
	return EventPage{}, ff.Unavailable("events")
}

func (UnimplementedEvents) SweepEvents(context.Context, SweepEventsParams) (int, error) {
	return 0, ff.Unavailable("events")
}

func (UnimplementedEvents) CountEventRows(context.Context, CountEventRowsParams) (int64, error) {
	return 0, ff.Unavailable("events")
}

func (UnimplementedEvents) SubscribeEvents(ctx context.Context) (<-chan struct{}, func()) {
	ch := make(chan struct{})
	return ch, func() {}
}
