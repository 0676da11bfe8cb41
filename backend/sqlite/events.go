package sqlite

import (
	"context"
	"strconv"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// ReadCompletions returns up to limit completion events after the
// exclusive cursor, in commit order, and the cursor to resume from (after
// when there is nothing new). A cursor is the decimal outbox id; the
// single writer commits ids in order, so no event can appear later below
// a cursor already returned.
func (b *Backend) ReadCompletions(ctx context.Context, p backend.ReadCompletionsParams) (backend.CompletionPage, error) {
	if err := p.Normalize(); err != nil {
		return backend.CompletionPage{}, err
	}
	limit := p.Limit
	from, err := parseCursor(p.After)
	if err != nil {
		return backend.CompletionPage{}, err
	}
	if err := b.readable("sqlite: read completions"); err != nil {
		return backend.CompletionPage{}, err
	}
	evs, next, err := b.readCompletions(ctx, from, limit, p.After)
	if err != nil {
		return backend.CompletionPage{}, err
	}
	return backend.CompletionPage{Events: evs, Next: next}, nil
}

// readCompletions reads up to limit events after outbox id from; after is
// the cursor returned when there are none.
func (b *Backend) readCompletions(ctx context.Context, from int64, limit int, after backend.EventCursor) ([]backend.CompletionEvent, backend.EventCursor, error) {
	rows, err := b.r.QueryContext(ctx, `SELECT id, execution_id, lane, action, at_ms FROM ff_event
WHERE type = 'completion' AND id > ? ORDER BY id LIMIT ?`, from, limit)
	if err != nil {
		return nil, after, driverError("sqlite: read completions", err)
	}
	defer rows.Close()
	out := []backend.CompletionEvent{}
	next := after
	for rows.Next() {
		var ev backend.CompletionEvent
		var id string
		var seq, atMs int64
		if err := rows.Scan(&seq, &id, &ev.Lane, &ev.Outcome, &atMs); err != nil {
			return nil, after, driverError("sqlite: read completions", err)
		}
		ev.At = ff.TimeFromMs(atMs)
		if ev.ExecutionID, err = ff.ParseExecutionID(id); err != nil {
			return nil, after, ff.Corruption("stored execution_id %q: %v", id, err)
		}
		ev.Cursor = backend.EventCursor(strconv.FormatInt(seq, 10))
		out = append(out, ev)
		next = ev.Cursor
	}
	if err := rows.Err(); err != nil {
		return nil, after, driverError("sqlite: read completions", err)
	}
	return out, next, nil
}

func parseCursor(c backend.EventCursor) (int64, error) {
	if c == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(string(c), 10, 64)
	if err != nil || n < 0 {
		return 0, ff.Validation(ff.ErrInvalidInput, "cursor %q: not a cursor of this backend", string(c))
	}
	return n, nil
}
