package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// Schedules (issue 15): ff_schedule rows hold the firing state beside
// the definition document the domain encodes. Every change locks the row
// (FOR UPDATE) and writes it with its events in one transaction; the
// sweep (schedules_fire.go) locks due rows with SKIP LOCKED.

const scheduleColumns = `s.namespace, s.id, s.source, s.definition, s.definition_hash, s.spec_hash, s.paused,
	s.pause_reason, s.paused_at_ms, s.next_fire_at_ms, s.last_tick_ms, s.last_execution_id, s.fired_count,
	s.skipped_count, s.last_error, s.created_at_ms, s.updated_at_ms`

// scanSchedule decodes one row selected with scheduleColumns (plus extra
// trailing destinations).
func scanSchedule(row pgx.Row, extra ...any) (*ff.Schedule, error) {
	var (
		s        ff.Schedule
		source   string
		def      string
		lastExec string
	)
	dest := []any{&s.Namespace, &s.ID, &source, &def, &s.DefinitionHash, &s.SpecHash, &s.Paused,
		&s.PauseReason, &s.PausedAtMs, &s.NextFireAtMs, &s.LastTickMs, &lastExec, &s.FiredCount,
		&s.SkippedCount, &s.LastError, &s.CreatedAtMs, &s.UpdatedAtMs}
	if err := row.Scan(append(dest, extra...)...); err != nil {
		return nil, err
	}
	s.Source = ff.ScheduleSource(source)
	if lastExec != "" {
		id, err := ff.ParseExecutionID(lastExec)
		if err != nil {
			return nil, ff.Corruption("schedule %s: last execution id: %v", s.ID, err)
		}
		s.LastExecutionID = id
	}
	if err := ff.DecodeScheduleDefinition([]byte(def), &s); err != nil {
		return nil, err
	}
	return &s, nil
}

const insertScheduleSQL = `INSERT INTO ff_schedule (partition, namespace, id, source, definition, definition_hash,
	spec_hash, paused, paused_at_ms, next_fire_at_ms, created_at_ms, updated_at_ms)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)
ON CONFLICT (partition, namespace, id) DO NOTHING`

// updateScheduleSQL rewrites every mutable column.
const updateScheduleSQL = `UPDATE ff_schedule SET source = $4, definition = $5, definition_hash = $6, spec_hash = $7,
	paused = $8, pause_reason = $9, paused_at_ms = $10, next_fire_at_ms = $11, last_tick_ms = $12,
	last_execution_id = $13, fired_count = $14, skipped_count = $15, last_error = $16, updated_at_ms = $17
WHERE partition = $1 AND namespace = $2 AND id = $3`

func scheduleKey(s *ff.Schedule) []any {
	return []any{int16(ff.SchedulePartition(s.Namespace, s.ID, 0)), s.Namespace, s.ID}
}

func lastExecArg(s *ff.Schedule) string {
	if s.LastExecutionID.IsZero() {
		return ""
	}
	return s.LastExecutionID.String()
}

// queueScheduleUpdate appends the rewrite of s and its events to batch.
func queueScheduleUpdate(batch *pgx.Batch, s *ff.Schedule, events []ff.Event) error {
	def, err := ff.EncodeScheduleDefinition(s)
	if err != nil {
		return err
	}
	batch.Queue(updateScheduleSQL, append(scheduleKey(s), string(s.Source), string(def), s.DefinitionHash, s.SpecHash,
		s.Paused, s.PauseReason, s.PausedAtMs, s.NextFireAtMs, s.LastTickMs, lastExecArg(s), s.FiredCount,
		s.SkippedCount, s.LastError, s.UpdatedAtMs)...)
	return queueEvents(batch, events)
}

// txNow is the transaction's time: the injected clock, or the database's.
func (b *Backend) txNow(ctx context.Context, tx pgx.Tx) (int64, error) {
	var now int64
	err := tx.QueryRow(ctx, `SELECT coalesce($1::bigint, ff_now_ms())`, b.nowArg()).Scan(&now)
	return now, err
}

// CreateSchedule implements backend.Schedules.
func (b *Backend) CreateSchedule(ctx context.Context, p backend.CreateScheduleParams) (backend.CreateScheduleResult, error) {
	def, err := p.Definition()
	if err != nil {
		return backend.CreateScheduleResult{}, err
	}
	if _, _, err := ff.NewSchedule(def, p.Paused, 0); err != nil {
		return backend.CreateScheduleResult{}, err
	}
	var res backend.CreateScheduleResult
	err = b.inTx(ctx, "create schedule", func(tx pgx.Tx, now int64) error {
		s, events, _ := ff.NewSchedule(def, p.Paused, now)
		inserted, err := b.insertSchedule(ctx, tx, s)
		if err != nil || inserted {
			res = backend.CreateScheduleResult{Schedule: *s, Outcome: backend.ScheduleCreated}
			return b.writeScheduleEvents(ctx, tx, err, events)
		}
		res, err = b.createExisting(ctx, tx, def, s, p.Replace, now)
		return err
	})
	return res, err
}

// insertSchedule inserts s unless its id exists; it reports whether it
// did.
func (b *Backend) insertSchedule(ctx context.Context, tx pgx.Tx, s *ff.Schedule) (bool, error) {
	def, err := ff.EncodeScheduleDefinition(s)
	if err != nil {
		return false, err
	}
	tag, err := tx.Exec(ctx, insertScheduleSQL, append(scheduleKey(s), string(s.Source), string(def), s.DefinitionHash,
		s.SpecHash, s.Paused, s.PausedAtMs, s.NextFireAtMs, s.CreatedAtMs)...)
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() == 1, nil
}

func (b *Backend) writeScheduleEvents(ctx context.Context, tx pgx.Tx, err error, events []ff.Event) error {
	if err != nil {
		return err
	}
	batch := &pgx.Batch{}
	if err := queueEvents(batch, events); err != nil {
		return err
	}
	return execBatch(ctx, tx, batch)
}

// createExisting answers a create whose id exists: existing for the same
// definition, a conflict for another, or the replacement.
func (b *Backend) createExisting(ctx context.Context, tx pgx.Tx, def ff.ScheduleDefinition, fresh *ff.Schedule,
	replace bool, now int64) (backend.CreateScheduleResult, error) {
	cur, err := lockSchedule(ctx, tx, fresh.Namespace, fresh.ID)
	if err != nil {
		return backend.CreateScheduleResult{}, err
	}
	if cur.DefinitionHash == fresh.DefinitionHash {
		return backend.CreateScheduleResult{Schedule: *cur, Outcome: backend.ScheduleExisting}, nil
	}
	if !replace {
		return backend.CreateScheduleResult{}, ff.Conflict(ff.ErrScheduleConflict,
			"schedule %s exists with another definition (replace it to change it)", cur.ID)
	}
	_, events, err := cur.Replace(def, now)
	if err != nil {
		return backend.CreateScheduleResult{}, err
	}
	batch := &pgx.Batch{}
	if err := queueScheduleUpdate(batch, cur, events); err != nil {
		return backend.CreateScheduleResult{}, err
	}
	return backend.CreateScheduleResult{Schedule: *cur, Outcome: backend.ScheduleReplaced}, execBatch(ctx, tx, batch)
}

// lockSchedule loads a schedule under a row lock.
func lockSchedule(ctx context.Context, tx pgx.Tx, ns, id string) (*ff.Schedule, error) {
	s, err := scanSchedule(tx.QueryRow(ctx, `SELECT `+scheduleColumns+` FROM ff_schedule s
		WHERE s.partition = $1 AND s.namespace = $2 AND s.id = $3 FOR UPDATE`,
		int16(ff.SchedulePartition(ns, id, 0)), ns, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ff.NotFound("schedule", "%s", id)
	}
	return s, err
}

// inTx runs fn in one transaction with its time and commits it.
func (b *Backend) inTx(ctx context.Context, op string, fn func(tx pgx.Tx, now int64) error) error {
	tx, err := b.pool.Begin(ctx)
	if err != nil {
		return mapPgError(op, err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	now, err := b.txNow(ctx, tx)
	if err != nil {
		return mapPgError(op, err)
	}
	if err := fn(tx, now); err != nil {
		return opErr(op, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return opErr(op, err)
	}
	b.eventsCommitted()
	return nil
}

// scheduleChange is a transition of one locked schedule: the events to
// write (nil: nothing changed) or, with del, the deletion.
type scheduleChange func(s *ff.Schedule, now int64) (events []ff.Event, del bool, err error)

// changeSchedule locks (ns, id), applies fn and writes the result.
func (b *Backend) changeSchedule(ctx context.Context, op, ns, id string, fn scheduleChange) (ff.Schedule, error) {
	if err := backend.ValidateScheduleRef(ns, id); err != nil {
		return ff.Schedule{}, err
	}
	var out ff.Schedule
	err := b.inTx(ctx, op, func(tx pgx.Tx, now int64) error {
		s, err := lockSchedule(ctx, tx, ns, id)
		if err != nil {
			return err
		}
		events, del, err := fn(s, now)
		if err != nil {
			return err
		}
		out = *s
		batch := &pgx.Batch{}
		if del {
			batch.Queue(`DELETE FROM ff_schedule WHERE partition = $1 AND namespace = $2 AND id = $3`, scheduleKey(s)...)
			if err := queueEvents(batch, events); err != nil {
				return err
			}
		} else if len(events) > 0 {
			if err := queueScheduleUpdate(batch, s, events); err != nil {
				return err
			}
		}
		return execBatch(ctx, tx, batch)
	})
	return out, err
}

// PauseSchedule implements backend.Schedules.
func (b *Backend) PauseSchedule(ctx context.Context, p backend.PauseScheduleParams) (ff.Schedule, error) {
	return b.changeSchedule(ctx, "pause schedule", p.Namespace, p.ID, func(s *ff.Schedule, now int64) ([]ff.Event, bool, error) {
		_, ev := s.Pause(p.Reason, now)
		return ev, false, nil
	})
}

// ResumeSchedule implements backend.Schedules.
func (b *Backend) ResumeSchedule(ctx context.Context, p backend.ResumeScheduleParams) (ff.Schedule, error) {
	return b.changeSchedule(ctx, "resume schedule", p.Namespace, p.ID, func(s *ff.Schedule, now int64) ([]ff.Event, bool, error) {
		_, ev := s.Resume(now)
		return ev, false, nil
	})
}

// DeleteSchedule implements backend.Schedules.
func (b *Backend) DeleteSchedule(ctx context.Context, p backend.DeleteScheduleParams) error {
	_, err := b.changeSchedule(ctx, "delete schedule", p.Namespace, p.ID, func(s *ff.Schedule, now int64) ([]ff.Event, bool, error) {
		return []ff.Event{s.DeletedEvent(now)}, true, nil
	})
	return err
}

// GetSchedule implements backend.Schedules.
func (b *Backend) GetSchedule(ctx context.Context, p backend.GetScheduleParams) (ff.Schedule, error) {
	if err := backend.ValidateScheduleRef(p.Namespace, p.ID); err != nil {
		return ff.Schedule{}, err
	}
	return routedRead(b, true, func(q *pgxpool.Pool) (ff.Schedule, error) { return getSchedule(ctx, q, p) })
}

func getSchedule(ctx context.Context, q *pgxpool.Pool, p backend.GetScheduleParams) (ff.Schedule, error) {
	s, err := scanSchedule(q.QueryRow(ctx, `SELECT `+scheduleColumns+` FROM ff_schedule s
		WHERE s.partition = $1 AND s.namespace = $2 AND s.id = $3`,
		int16(ff.SchedulePartition(p.Namespace, p.ID, 0)), p.Namespace, p.ID))
	if errors.Is(err, pgx.ErrNoRows) {
		return ff.Schedule{}, ff.NotFound("schedule", "%s", p.ID)
	}
	if err != nil {
		return ff.Schedule{}, opErr("get schedule", err)
	}
	return *s, nil
}

// ListSchedules implements backend.Schedules.
func (b *Backend) ListSchedules(ctx context.Context, p backend.ListSchedulesParams) (backend.SchedulePage, error) {
	if err := p.Normalize(); err != nil {
		return backend.SchedulePage{}, err
	}
	return routedRead(b, false, func(q *pgxpool.Pool) (backend.SchedulePage, error) { return listSchedules(ctx, q, p) })
}

func listSchedules(ctx context.Context, q *pgxpool.Pool, p backend.ListSchedulesParams) (backend.SchedulePage, error) {
	rows, err := q.Query(ctx, `SELECT `+scheduleColumns+` FROM ff_schedule s
		WHERE s.namespace = $1 AND s.id > $2 AND ($3::boolean IS NULL OR s.paused = $3)
		ORDER BY s.id LIMIT $4`, p.Namespace, p.Cursor, p.Paused, p.Limit+1)
	if err != nil {
		return backend.SchedulePage{}, mapPgError("list schedules", err)
	}
	defer rows.Close()
	var page backend.SchedulePage
	for rows.Next() {
		s, err := scanSchedule(rows)
		if err != nil {
			return backend.SchedulePage{}, opErr("list schedules", err)
		}
		page.Schedules = append(page.Schedules, *s)
	}
	if err := rows.Err(); err != nil {
		return backend.SchedulePage{}, mapPgError("list schedules", err)
	}
	if len(page.Schedules) > p.Limit {
		page.Schedules = page.Schedules[:p.Limit]
		page.NextCursor = page.Schedules[p.Limit-1].ID
	}
	return page, nil
}
