package backend

import (
	"context"

	ff "github.com/flowfabric-go/flowfabric"
)

// Events are outbox-backed subscriptions (a later wave); the completion
// outbox rows are written today by every terminal transition.
type Events interface {
	ReadCompletions(ctx context.Context, after EventCursor, limit int) ([]CompletionEvent, EventCursor, error)
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
	AtMs        int64
}

// UnimplementedEvents answers every event operation with
// Unavailable. A backend embeds it until it builds the area;
// Capabilities must agree.
type UnimplementedEvents struct{}

func (UnimplementedEvents) ReadCompletions(context.Context, EventCursor, int) ([]CompletionEvent, EventCursor, error) {
	return nil, "", ff.Unavailable("subscribe_completion")
}
