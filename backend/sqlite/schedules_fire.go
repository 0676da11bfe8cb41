package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

const (
	qDueSchedules = `SELECT ` + scheduleColumns + ` FROM ff_schedule
WHERE paused = 0 AND next_fire_at_ms > 0 AND next_fire_at_ms <= ? ORDER BY next_fire_at_ms LIMIT ?`
	qNextFire = `SELECT coalesce(min(next_fire_at_ms), 0) FROM ff_schedule WHERE paused = 0 AND next_fire_at_ms > 0`
	// qTickKey finds the execution a tick already created; the key is
	// looked up whether or not its dedup window passed: it is that tick's.
	qTickKey = `SELECT execution_id FROM ff_execution WHERE namespace = ? AND idempotency_key = ?`
)

// FireDueSchedules implements backend.Schedules: one write transaction
// reads the due schedules, creates their ticks' executions with the
// create path of CreateExecution, advances the schedules and writes their
// events. The writer is single, so two sweeps are serial: the second
// finds next_fire_at_ms advanced; the tick's key guards the rest.
func (b *Backend) FireDueSchedules(ctx context.Context, p backend.FireSchedulesParams) (backend.FireSchedulesResult, error) {
	if err := p.Normalize(); err != nil {
		return backend.FireSchedulesResult{}, err
	}
	var res backend.FireSchedulesResult
	err := b.write(ctx, "sqlite: fire schedules", func(w *writeTx) error {
		due, err := w.dueSchedules(p.Limit)
		if err != nil {
			return err
		}
		budget := p.Limit
		for _, s := range due {
			plan := s.Plan(w.now, p.Grace, budget)
			budget -= len(plan.Fire)
			fired, err := w.fireTicks(s, plan, &res)
			if err != nil {
				return err
			}
			res.Skipped += int(plan.Skipped)
			if err := w.saveSchedule(s, s.Apply(plan, fired, w.now)); err != nil {
				return err
			}
		}
		var next int64
		if err := w.queryRow(qNextFire).Scan(&next); err != nil {
			return driverError("sqlite: next schedule tick", err)
		}
		res.NextFireAt = ff.TimeFromMs(next)
		return nil
	})
	if err != nil {
		return backend.FireSchedulesResult{}, err
	}
	return res, nil
}

func (w *writeTx) dueSchedules(limit int) ([]*ff.Schedule, error) {
	rows, err := w.query("sqlite: due schedules", qDueSchedules, w.now, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var due []*ff.Schedule
	for rows.Next() {
		s, err := scanSchedule(rows)
		if err != nil {
			return nil, driverError("sqlite: due schedules", err)
		}
		due = append(due, s)
	}
	return due, driverError("sqlite: due schedules", rows.Err())
}

// fireTicks creates the execution of each planned tick and counts the
// outcomes into res.
func (w *writeTx) fireTicks(s *ff.Schedule, plan ff.TickPlan, res *backend.FireSchedulesResult) ([]ff.FiredTick, error) {
	fired := make([]ff.FiredTick, len(plan.Fire))
	for i, tick := range plan.Fire {
		fired[i].TickMs = tick
		spec := s.TickSpec(tick)
		id, dup, err := w.createTick(spec)
		switch {
		case err == nil:
		case errors.Is(err, ff.ClassValidation): // the template no longer passes a create rule
			fired[i].Err = err
			res.Skipped++
			continue
		default:
			return nil, err
		}
		fired[i].ExecutionID, fired[i].Duplicate = id, dup
		if dup {
			res.Duplicates++
		} else {
			res.Fired++
		}
		res.MaxLag = max(res.MaxLag, time.Duration(w.now-tick)*time.Millisecond)
	}
	return fired, nil
}

// createTick creates the tick's execution, or finds the one its key
// already names.
func (w *writeTx) createTick(spec ff.CreateSpec) (ff.ExecutionID, bool, error) {
	var existing string
	err := w.queryRow(qTickKey, spec.Namespace, spec.IdempotencyKey).Scan(&existing)
	switch {
	case err == nil:
		id, perr := ff.ParseExecutionID(existing)
		if perr != nil {
			return ff.ExecutionID{}, false, ff.Corruption("stored execution_id %q: %v", existing, perr)
		}
		return id, true, nil
	case !errors.Is(err, sql.ErrNoRows):
		return ff.ExecutionID{}, false, driverError("sqlite: tick key", err)
	}
	e, err := ff.NewExecution(spec, w.now)
	if err != nil {
		return ff.ExecutionID{}, false, err
	}
	if err := w.insertExecution(e, spec.Input); err != nil {
		return ff.ExecutionID{}, false, err
	}
	return e.ID, false, nil
}
