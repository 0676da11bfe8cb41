package sqlite

import (
	"context"
	"database/sql"
	"errors"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// Schedules (issue 15): ff_schedule rows hold the firing state beside
// the definition document the domain encodes. Every change runs in one
// write transaction (the file's single writer), so changes and sweeps
// are serial.

const (
	scheduleColumns = `namespace, id, source, definition, definition_hash, spec_hash, paused, pause_reason,
  paused_at_ms, next_fire_at_ms, last_tick_ms, last_execution_id, fired_count, skipped_count, last_error,
  created_at_ms, updated_at_ms`
	qGetSchedule    = `SELECT ` + scheduleColumns + ` FROM ff_schedule WHERE namespace = ? AND id = ?`
	qInsertSchedule = `INSERT INTO ff_schedule (namespace, id, partition_key, source, definition, definition_hash,
  spec_hash, paused, paused_at_ms, next_fire_at_ms, created_at_ms, updated_at_ms)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	qUpdateSchedule = `UPDATE ff_schedule SET source = ?, definition = ?, definition_hash = ?, spec_hash = ?,
  paused = ?, pause_reason = ?, paused_at_ms = ?, next_fire_at_ms = ?, last_tick_ms = ?, last_execution_id = ?,
  fired_count = ?, skipped_count = ?, last_error = ?, updated_at_ms = ?
WHERE namespace = ? AND id = ?`
	qDeleteSchedule = `DELETE FROM ff_schedule WHERE namespace = ? AND id = ?`
	qListSchedules  = `SELECT ` + scheduleColumns + ` FROM ff_schedule
WHERE namespace = ? AND id > ? AND (? IS NULL OR paused = ?) ORDER BY id LIMIT ?`
)

// scanSchedule decodes one row selected with scheduleColumns.
func scanSchedule(row scanner) (*ff.Schedule, error) {
	var (
		s           ff.Schedule
		source, def string
		lastExec    string
		paused      int64
	)
	if err := row.Scan(&s.Namespace, &s.ID, &source, &def, &s.DefinitionHash, &s.SpecHash, &paused, &s.PauseReason,
		&s.PausedAtMs, &s.NextFireAtMs, &s.LastTickMs, &lastExec, &s.FiredCount, &s.SkippedCount, &s.LastError,
		&s.CreatedAtMs, &s.UpdatedAtMs); err != nil {
		return nil, err
	}
	s.Source, s.Paused = ff.ScheduleSource(source), paused == 1
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

// loadSchedule reads (ns, id) inside the write transaction.
func (w *writeTx) loadSchedule(ns, id string) (*ff.Schedule, error) {
	s, err := scanSchedule(w.queryRow(qGetSchedule, ns, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ff.NotFound("schedule", "%s", id)
	}
	if err != nil {
		return nil, driverError("sqlite: load schedule", err)
	}
	return s, nil
}

// saveSchedule rewrites s and writes its events.
func (w *writeTx) saveSchedule(s *ff.Schedule, events []ff.Event) error {
	def, err := ff.EncodeScheduleDefinition(s)
	if err != nil {
		return err
	}
	lastExec := ""
	if !s.LastExecutionID.IsZero() {
		lastExec = s.LastExecutionID.String()
	}
	if _, err := w.exec("sqlite: update schedule", qUpdateSchedule, string(s.Source), string(def), s.DefinitionHash,
		s.SpecHash, boolInt(s.Paused), s.PauseReason, s.PausedAtMs, s.NextFireAtMs, s.LastTickMs, lastExec,
		s.FiredCount, s.SkippedCount, s.LastError, s.UpdatedAtMs, s.Namespace, s.ID); err != nil {
		return err
	}
	return w.insertEvents(events)
}

func (w *writeTx) insertEvents(events []ff.Event) error {
	for _, ev := range events {
		if err := w.insertEvent(ev); err != nil {
			return err
		}
	}
	return nil
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
	err = b.write(ctx, "sqlite: create schedule", func(w *writeTx) error {
		fresh, events, _ := ff.NewSchedule(def, p.Paused, w.now)
		cur, err := w.loadSchedule(def.Namespace, def.ID)
		switch {
		case errors.Is(err, ff.ErrNotFound):
			res = backend.CreateScheduleResult{Schedule: *fresh, Outcome: backend.ScheduleCreated}
			return w.insertSchedule(fresh, events)
		case err != nil:
			return err
		case cur.DefinitionHash == fresh.DefinitionHash:
			res = backend.CreateScheduleResult{Schedule: *cur, Outcome: backend.ScheduleExisting}
			return nil
		case !p.Replace:
			return ff.Conflict(ff.ErrScheduleConflict, "schedule %s exists with another definition (replace it to change it)", cur.ID)
		}
		_, events, err = cur.Replace(def, w.now)
		if err != nil {
			return err
		}
		res = backend.CreateScheduleResult{Schedule: *cur, Outcome: backend.ScheduleReplaced}
		return w.saveSchedule(cur, events)
	})
	if err != nil {
		return backend.CreateScheduleResult{}, err
	}
	return res, nil
}

func (w *writeTx) insertSchedule(s *ff.Schedule, events []ff.Event) error {
	def, err := ff.EncodeScheduleDefinition(s)
	if err != nil {
		return err
	}
	if _, err := w.exec("sqlite: insert schedule", qInsertSchedule, s.Namespace, s.ID,
		int64(ff.SchedulePartition(s.Namespace, s.ID, 0)), string(s.Source), string(def), s.DefinitionHash, s.SpecHash,
		boolInt(s.Paused), s.PausedAtMs, s.NextFireAtMs, s.CreatedAtMs, s.UpdatedAtMs); err != nil {
		return err
	}
	return w.insertEvents(events)
}

// changeSchedule loads (ns, id) in a write transaction, applies fn and
// writes what it changed (events nil: nothing; del: the deletion).
func (b *Backend) changeSchedule(ctx context.Context, op, ns, id string,
	fn func(s *ff.Schedule, now int64) (events []ff.Event, del bool)) (ff.Schedule, error) {
	if err := backend.ValidateScheduleRef(ns, id); err != nil {
		return ff.Schedule{}, err
	}
	var out ff.Schedule
	err := b.write(ctx, op, func(w *writeTx) error {
		s, err := w.loadSchedule(ns, id)
		if err != nil {
			return err
		}
		events, del := fn(s, w.now)
		out = *s
		switch {
		case del:
			if _, err := w.exec(op, qDeleteSchedule, ns, id); err != nil {
				return err
			}
			return w.insertEvents(events)
		case len(events) > 0:
			return w.saveSchedule(s, events)
		}
		return nil
	})
	return out, err
}

// PauseSchedule implements backend.Schedules.
func (b *Backend) PauseSchedule(ctx context.Context, p backend.PauseScheduleParams) (ff.Schedule, error) {
	return b.changeSchedule(ctx, "sqlite: pause schedule", p.Namespace, p.ID, func(s *ff.Schedule, now int64) ([]ff.Event, bool) {
		_, ev := s.Pause(p.Reason, now)
		return ev, false
	})
}

// ResumeSchedule implements backend.Schedules.
func (b *Backend) ResumeSchedule(ctx context.Context, p backend.ResumeScheduleParams) (ff.Schedule, error) {
	return b.changeSchedule(ctx, "sqlite: resume schedule", p.Namespace, p.ID, func(s *ff.Schedule, now int64) ([]ff.Event, bool) {
		_, ev := s.Resume(now)
		return ev, false
	})
}

// DeleteSchedule implements backend.Schedules.
func (b *Backend) DeleteSchedule(ctx context.Context, p backend.DeleteScheduleParams) error {
	_, err := b.changeSchedule(ctx, "sqlite: delete schedule", p.Namespace, p.ID, func(s *ff.Schedule, now int64) ([]ff.Event, bool) {
		return []ff.Event{s.DeletedEvent(now)}, true
	})
	return err
}

// GetSchedule implements backend.Schedules.
func (b *Backend) GetSchedule(ctx context.Context, p backend.GetScheduleParams) (ff.Schedule, error) {
	if err := backend.ValidateScheduleRef(p.Namespace, p.ID); err != nil {
		return ff.Schedule{}, err
	}
	if err := b.readable("sqlite: get schedule"); err != nil {
		return ff.Schedule{}, err
	}
	s, err := scanSchedule(b.r.QueryRowContext(ctx, qGetSchedule, p.Namespace, p.ID))
	if errors.Is(err, sql.ErrNoRows) {
		return ff.Schedule{}, ff.NotFound("schedule", "%s", p.ID)
	}
	if err != nil {
		return ff.Schedule{}, driverError("sqlite: get schedule", err)
	}
	return *s, nil
}

// ListSchedules implements backend.Schedules.
func (b *Backend) ListSchedules(ctx context.Context, p backend.ListSchedulesParams) (backend.SchedulePage, error) {
	if err := p.Normalize(); err != nil {
		return backend.SchedulePage{}, err
	}
	if err := b.readable("sqlite: list schedules"); err != nil {
		return backend.SchedulePage{}, err
	}
	var paused any
	if p.Paused != nil {
		paused = boolInt(*p.Paused)
	}
	rows, err := b.r.QueryContext(ctx, qListSchedules, p.Namespace, p.Cursor, paused, paused, p.Limit+1)
	if err != nil {
		return backend.SchedulePage{}, driverError("sqlite: list schedules", err)
	}
	defer rows.Close()
	var page backend.SchedulePage
	for rows.Next() {
		s, err := scanSchedule(rows)
		if err != nil {
			return backend.SchedulePage{}, driverError("sqlite: list schedules", err)
		}
		page.Schedules = append(page.Schedules, *s)
	}
	if err := rows.Err(); err != nil {
		return backend.SchedulePage{}, driverError("sqlite: list schedules", err)
	}
	if len(page.Schedules) > p.Limit {
		page.Schedules = page.Schedules[:p.Limit]
		page.NextCursor = page.Schedules[p.Limit-1].ID
	}
	return page, nil
}
