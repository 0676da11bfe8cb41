package postgres

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/internal/wakeup"
)

// The outbox's gap-free rule (one place): a row's position is (xid, id),
// the writing transaction's id first, and a reader only consumes rows
// written by transactions older than every running one (xid below its
// snapshot's xmin). A transaction still running can then only add rows
// after every position already returned, so no row that commits late is
// ever skipped. Rows held back that way have committed or will; when a
// read finds some, it waits (up to eventSettle) for the horizon to pass
// them, so a reader sees its own completed work.

// eventSettle bounds how long a read waits for committed rows held back
// by older running transactions.
const eventSettle = 2 * time.Second

// readEventRowsSQL reads rows after ($1, $2) passing the row filter:
// $3 row types (NULL: all), $4 also rows that end a lease, $5 lane (”:
// all); settled is the gap-free rule.
var readEventRowsSQL = `WITH h AS (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin)
	SELECT xid::text || ':' || id::text, xid < h.xmin AS settled, partition, ` + backend.EventRowColumns + `::text
	FROM ff_event, h
	WHERE (xid, id) > ($1::text::xid8, $2)
		AND ($3::text[] IS NULL OR type = ANY($3::text[]) OR ($4 AND attempt_index >= 0))
		AND ($5 = '' OR lane = $5)
	ORDER BY xid, id LIMIT $6`

// readEventRows implements backend.EventRowReader with the gap-free
// rule.
func (b *Backend) readEventRows(ctx context.Context, from backend.EventPosition, f backend.EventRowFilter, limit int) ([]backend.EventRow, error) {
	xid, id, err := parseCursor(from.Pos)
	if err != nil {
		return nil, err
	}
	if from.Sub >= 0 {
		id-- // the row at from.Pos is partly unread: read it again
	}
	var types []string
	if f.RowTypes != nil {
		types = f.RowTypes
	}
	deadline := time.Now().Add(eventSettle)
	q := b.replica()
	for {
		rows, held, err := readEventRowsOnce(ctx, q, xid, id, types, f, limit)
		if q != b.pool && replicaUnreachable(err) {
			q = b.pool // the replica is down: the primary answers
			continue
		}
		if err != nil || held == 0 || len(rows) == limit || time.Now().After(deadline) {
			return rows, err
		}
		select {
		case <-ctx.Done():
			return rows, nil
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func readEventRowsOnce(ctx context.Context, q *pgxpool.Pool, xid uint64, id int64, types []string, f backend.EventRowFilter, limit int) ([]backend.EventRow, int, error) {
	rows, err := q.Query(ctx, readEventRowsSQL, strconv.FormatUint(xid, 10), id, types, f.LeaseRows, f.Lane, limit)
	if err != nil {
		return nil, 0, mapPgError("read events", err)
	}
	var (
		out     []backend.EventRow
		r       backend.EventRow
		settled bool
		part    int16
		held    int
	)
	dest := append([]any{&r.Pos, &settled, &part}, r.Dest()...)
	_, err = pgx.ForEachRow(rows, dest, func() error {
		if !settled || held > 0 {
			held++
			return nil
		}
		r.Partition = int64(part)
		out = append(out, r)
		return nil
	})
	if err != nil {
		return nil, 0, opErr("read events", err)
	}
	return out, held, nil
}

// ReadEvents implements backend.Events.
func (b *Backend) ReadEvents(ctx context.Context, p backend.ReadEventsParams) (backend.EventPage, error) {
	if err := p.Normalize(); err != nil {
		return backend.EventPage{}, err
	}
	if p.After == backend.EventCursorLatest {
		c, err := b.latestEvent(ctx)
		return backend.EventPage{Events: []backend.EventRecord{}, Next: c}, err
	}
	return backend.ReadEventPage(ctx, p, b.readEventRows)
}

// latestEvent is the cursor of now: the last settled row, so every row
// a running transaction adds comes after it.
func (b *Backend) latestEvent(ctx context.Context) (backend.EventCursor, error) {
	var c string
	err := b.pool.QueryRow(ctx, `SELECT coalesce((SELECT xid::text || ':' || id::text FROM ff_event
		WHERE xid < pg_snapshot_xmin(pg_current_snapshot()) ORDER BY xid DESC, id DESC LIMIT 1), '0:0')`).Scan(&c)
	if err != nil {
		return "", mapPgError("read events: latest", err)
	}
	return backend.EventCursor(c), nil
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

// SweepEvents implements backend.Events: it deletes due rows among the
// p.Limit oldest (a prefix of the primary key: no scan of the table).
func (b *Backend) SweepEvents(ctx context.Context, p backend.SweepEventsParams) (int, error) {
	if err := p.Normalize(); err != nil {
		return 0, err
	}
	tag, err := b.pool.Exec(ctx, `DELETE FROM ff_event WHERE (xid, id) IN (
		SELECT xid, id FROM (SELECT xid, id, at_ms FROM ff_event ORDER BY xid, id LIMIT $2) s WHERE s.at_ms < $1)`,
		ff.MsFromTime(p.Before), p.Limit)
	if err != nil {
		return 0, mapPgError("sweep events", err)
	}
	return int(tag.RowsAffected()), nil
}

// SubscribeEvents implements backend.Events: wake-ups come from this
// process's commits and, through LISTEN, from every other process's.
func (b *Backend) SubscribeEvents(ctx context.Context) (<-chan struct{}, func()) {
	b.notify.ensureListening()
	return b.hub.Subscribe(ctx, []string{wakeup.EventsKey})
}

// eventsCommitted wakes event followers after a commit that wrote
// events: in-process at once, other processes by a NOTIFY coalesced with
// the lane wake-ups (never one per event).
func (b *Backend) eventsCommitted() {
	b.hub.Notify(wakeup.EventsKey)
	b.notify.publish(wakeup.EventsKey)
}

func parseCursor(c string) (uint64, int64, error) {
	if c == "" {
		return 0, 0, nil
	}
	xs, is, ok := strings.Cut(c, ":")
	xid, err1 := strconv.ParseUint(xs, 10, 64)
	id, err2 := strconv.ParseInt(is, 10, 64)
	if !ok || err1 != nil || err2 != nil || id < 0 {
		return 0, 0, ff.Validation(ff.ErrInvalidInput, "event cursor %q: malformed", ff.CutText(c, 80))
	}
	return xid, id, nil
}

// CountEventRows implements backend.Events from the identity sequence.
func (b *Backend) CountEventRows(ctx context.Context, _ backend.CountEventRowsParams) (int64, error) {
	var n int64
	err := b.pool.QueryRow(ctx, `SELECT CASE WHEN is_called THEN last_value ELSE 0 END
		FROM ff_event_id_seq`).Scan(&n)
	if err != nil {
		return 0, mapPgError("count event rows", err)
	}
	return n, nil
}
