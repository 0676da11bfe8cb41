package backend

import (
	"context"
	"time"

	ff "github.com/flowfabric-go/flowfabric"
)

// Events are outbox-backed subscriptions. Every transition writes its
// events (flowfabric.Effects.Events: completions, lease ends, ...) to one
// outbox in its own transaction; ReadCompletions reads its completion
// rows. The general reader is the events area's (wave 2).
type Events interface {
	// ReadCompletions returns up to p.Limit completion events (the
	// outbox rows of type completion; the others are skipped) after the
	// exclusive cursor p.After, in commit order, and the cursor to resume
	// from. Reading again from a cursor is safe: it returns the same
	// events, plus any committed since. A cursor the backend did not mint
	// is invalid_input.
	ReadCompletions(ctx context.Context, p ReadCompletionsParams) (CompletionPage, error)
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

// EventCursor is an opaque position in the completion outbox; the empty
// cursor is the beginning. Cursors are gap-free: an event that commits
// after a later one was read is still delivered after that cursor.
type EventCursor string

// CompletionEvent is one completion outbox row.
type CompletionEvent struct {
	Cursor      EventCursor
	ExecutionID ff.ExecutionID
	Lane        string
	Outcome     ff.TerminalOutcome
	At          time.Time
}

// UnimplementedEvents answers every event operation with
// Unavailable. A backend embeds it until it builds the area;
// Capabilities must agree.
type UnimplementedEvents struct{}

func (UnimplementedEvents) ReadCompletions(context.Context, ReadCompletionsParams) (CompletionPage, error) {
	return CompletionPage{}, ff.Unavailable("subscribe_completion")
}
