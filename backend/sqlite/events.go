package sqlite

import (
	"context"
	"database/sql"
	"strconv"
	"strings"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/internal/wakeup"
)

// The outbox's gap-free rule on SQLite: a row's position is its id, and
// the database has one writer at a time, so ids commit in order: no
// event can appear later below a position already returned.

// ReadEvents implements backend.Events.
func (b *Backend) ReadEvents(ctx context.Context, p backend.ReadEventsParams) (backend.EventPage, error) {
	if err := p.Normalize(); err != nil {
		return backend.EventPage{}, err
	}
	if err := b.readable("sqlite: read events"); err != nil {
		return backend.EventPage{}, err
	}
	if p.After == backend.EventCursorLatest {
		var id int64
		if err := b.r.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM ff_event`).Scan(&id); err != nil {
			return backend.EventPage{}, driverError("sqlite: read events: latest", err)
		}
		return backend.EventPage{Events: []backend.EventRecord{}, Next: backend.EventCursor(strconv.FormatInt(id, 10))}, nil
	}
	return backend.ReadEventPage(ctx, p, b.readEventRows)
}

// readEventRows implements backend.EventRowReader.
func (b *Backend) readEventRows(ctx context.Context, from backend.EventPosition, f backend.EventRowFilter, limit int) ([]backend.EventRow, error) {
	id, err := parseCursor(from.Pos)
	if err != nil {
		return nil, err
	}
	if from.Sub >= 0 {
		id-- // the row at from.Pos is partly unread: read it again
	}
	q := `SELECT id, partition_key, ` + backend.EventRowColumns + ` FROM ff_event WHERE id > ?`
	args := []any{id}
	if f.RowTypes != nil {
		q += ` AND (type IN (` + strings.Repeat("?,", len(f.RowTypes)-1) + `?)`
		for _, t := range f.RowTypes {
			args = append(args, t)
		}
		if f.LeaseRows {
			q += ` OR attempt_index >= 0`
		}
		q += `)`
	}
	if f.Lane != "" {
		q += ` AND lane = ?`
		args = append(args, f.Lane)
	}
	rows, err := b.r.QueryContext(ctx, q+` ORDER BY id LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, driverError("sqlite: read events", err)
	}
	defer rows.Close()
	return scanEventRows(rows)
}

func scanEventRows(rows *sql.Rows) ([]backend.EventRow, error) {
	var out []backend.EventRow
	for rows.Next() {
		var r backend.EventRow
		var id int64
		if err := rows.Scan(append([]any{&id, &r.Partition}, r.Dest()...)...); err != nil {
			return nil, driverError("sqlite: read events", err)
		}
		r.Pos = strconv.FormatInt(id, 10)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, driverError("sqlite: read events", err)
	}
	return out, nil
}

// ReadCompletions implements backend.Events: ReadEvents of completions.
func (b *Backend) ReadCompletions(ctx context.Context, p backend.ReadCompletionsParams) (backend.CompletionPage, error) {
	if err := p.Normalize(); err != nil {
		return backend.CompletionPage{}, err
	}
	page, err := b.ReadEvents(ctx, backend.ReadEventsParams{After: p.After, Limit: p.Limit,
		Types: []ff.EventType{ff.EventCompletion}})
	if err != nil {
		return backend.CompletionPage{}, err
	}
	return backend.CompletionsFromEvents(page)
}

// SweepEvents implements backend.Events: due rows among the p.Limit
// oldest.
func (b *Backend) SweepEvents(ctx context.Context, p backend.SweepEventsParams) (int, error) {
	if err := p.Normalize(); err != nil {
		return 0, err
	}
	var n int64
	err := b.write(ctx, "sqlite: sweep events", func(w *writeTx) error {
		res, err := w.exec("sqlite: sweep events", `DELETE FROM ff_event WHERE id IN (
			SELECT id FROM (SELECT id, at_ms FROM ff_event ORDER BY id LIMIT ?) WHERE at_ms < ?)`,
			p.Limit, ff.MsFromTime(p.Before))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// SubscribeEvents implements backend.Events: woken by this process's
// commits that wrote events.
func (b *Backend) SubscribeEvents(ctx context.Context) (<-chan struct{}, func()) {
	return b.hub.Subscribe(ctx, []string{wakeup.EventsKey})
}

func parseCursor(c string) (int64, error) {
	if c == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(c, 10, 64)
	if err != nil || n < 0 {
		return 0, ff.Validation(ff.ErrInvalidInput, "cursor %q: not a cursor of this backend", ff.CutText(c, 80))
	}
	return n, nil
}

// CountEventRows implements backend.Events from the AUTOINCREMENT
// counter.
func (b *Backend) CountEventRows(ctx context.Context, _ backend.CountEventRowsParams) (int64, error) {
	if err := b.readable("sqlite: count event rows"); err != nil {
		return 0, err
	}
	var n int64
	err := b.r.QueryRowContext(ctx, `SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'ff_event'), 0)`).Scan(&n)
	if err != nil {
		return 0, driverError("sqlite: count event rows", err)
	}
	return n, nil
}
