package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// dueSchedulesSQL locks the due, running schedules. SKIP LOCKED hands
// each row to one sweep when two overlap (a leadership hand-over), and
// a row another sweep committed meanwhile is re-checked on its new
// version (READ COMMITTED), so its advanced next_fire_at_ms excludes it.
const dueSchedulesSQL = `SELECT ` + scheduleColumns + `, coalesce($1::bigint, ff_now_ms())
FROM ff_schedule s
WHERE NOT s.paused AND s.next_fire_at_ms > 0 AND s.next_fire_at_ms <= coalesce($1::bigint, ff_now_ms())
ORDER BY s.next_fire_at_ms
LIMIT $2
FOR UPDATE SKIP LOCKED`

const nextFireSQL = `SELECT coalesce(min(next_fire_at_ms), 0) FROM ff_schedule WHERE NOT paused AND next_fire_at_ms > 0`

// tickKeySQL finds the execution a tick already created; the key is
// looked up whether or not its dedup window passed: it is that tick's.
const tickKeySQL = `SELECT id FROM ff_execution WHERE namespace = $1 AND idempotency_key = $2`

// firing is one due schedule in a sweep: its plan and the outcome of
// each planned tick.
type firing struct {
	s     *ff.Schedule
	plan  ff.TickPlan
	fired []ff.FiredTick
	execs []*ff.Execution // aligned with fired; nil where the create failed
}

// FireDueSchedules implements backend.Schedules: one transaction locks
// the due schedules, creates their ticks' executions with the create
// statement of CreateExecution (so a tick is created exactly as an API
// create would be), advances the schedules and writes their events.
// Lanes are woken after the commit.
func (b *Backend) FireDueSchedules(ctx context.Context, p backend.FireSchedulesParams) (backend.FireSchedulesResult, error) {
	if err := p.Normalize(); err != nil {
		return backend.FireSchedulesResult{}, err
	}
	var (
		res     backend.FireSchedulesResult
		created []*ff.Execution
	)
	err := b.inTx(ctx, "fire schedules", func(tx pgx.Tx, _ int64) error {
		due, now, err := b.lockDue(ctx, tx, p)
		if err != nil {
			return err
		}
		if err := b.createTicks(ctx, tx, due, now); err != nil {
			return err
		}
		created, res = summarize(due, now)
		batch := &pgx.Batch{}
		for _, f := range due {
			if err := queueScheduleUpdate(batch, f.s, f.s.Apply(f.plan, f.fired, now)); err != nil {
				return err
			}
		}
		if err := execBatch(ctx, tx, batch); err != nil {
			return err
		}
		var next int64
		if err := tx.QueryRow(ctx, nextFireSQL).Scan(&next); err != nil {
			return err
		}
		res.NextFireAt = ff.TimeFromMs(next)
		return nil
	})
	if err != nil {
		return backend.FireSchedulesResult{}, err
	}
	var woken []string
	for _, e := range created {
		b.rememberLane(e.Lane) // true only once committed
		if e.Claimable() {
			woken = append(woken, e.Lane)
		}
	}
	b.wake(woken...)
	return res, nil
}

// lockDue locks the due schedules and plans each within the sweep's
// budget of ticks.
func (b *Backend) lockDue(ctx context.Context, tx pgx.Tx, p backend.FireSchedulesParams) ([]*firing, int64, error) {
	rows, err := tx.Query(ctx, dueSchedulesSQL, b.nowArg(), p.Limit)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var (
		due []*firing
		now int64
	)
	budget := p.Limit
	for rows.Next() {
		s, err := scanSchedule(rows, &now)
		if err != nil {
			return nil, 0, err
		}
		f := &firing{s: s, plan: s.Plan(now, p.Grace, budget)}
		budget -= len(f.plan.Fire)
		due = append(due, f)
	}
	return due, now, rows.Err()
}

// createTicks creates every planned tick's execution in one batch of
// create statements, then finds the executions of the ticks whose key
// was taken.
func (b *Backend) createTicks(ctx context.Context, tx pgx.Tx, due []*firing, now int64) error {
	batch := &pgx.Batch{}
	var queued []*ff.FiredTick
	var queuedExec []*ff.Execution
	for _, f := range due {
		f.fired = make([]ff.FiredTick, len(f.plan.Fire))
		f.execs = make([]*ff.Execution, len(f.plan.Fire))
		for i, tick := range f.plan.Fire {
			f.fired[i].TickMs = tick
			spec := f.s.TickSpec(tick)
			e, err := ff.NewExecution(spec, now)
			if err != nil { // the template no longer passes a create rule
				f.fired[i].Err = err
				continue
			}
			args, err := b.createArgs(ctx, e, spec.Input, now)
			if err != nil {
				return err
			}
			f.execs[i] = e
			batch.Queue(createSQL, args...)
			queued, queuedExec = append(queued, &f.fired[i]), append(queuedExec, e)
		}
	}
	if batch.Len() == 0 {
		return nil
	}
	br := tx.SendBatch(ctx, batch)
	for i := range queued {
		var inserted int
		if err := br.QueryRow().Scan(&inserted); err != nil {
			_ = br.Close()
			return err
		}
		queued[i].ExecutionID, queued[i].Duplicate = queuedExec[i].ID, inserted == 0
	}
	if err := br.Close(); err != nil {
		return err
	}
	return b.resolveDuplicates(ctx, tx, queued, queuedExec)
}

// resolveDuplicates names, for each tick whose key was taken, the
// execution that holds it.
func (b *Backend) resolveDuplicates(ctx context.Context, tx pgx.Tx, ticks []*ff.FiredTick, execs []*ff.Execution) error {
	for i, t := range ticks {
		if !t.Duplicate {
			continue
		}
		var id string
		if err := tx.QueryRow(ctx, tickKeySQL, execs[i].Namespace, execs[i].IdempotencyKey).Scan(&id); err != nil {
			return err
		}
		parsed, err := ff.ParseExecutionID(id)
		if err != nil {
			return ff.Corruption("execution id %q: %v", id, err)
		}
		t.ExecutionID = parsed
	}
	return nil
}

// summarize counts a sweep's outcome and lists the executions it
// created.
func summarize(due []*firing, now int64) ([]*ff.Execution, backend.FireSchedulesResult) {
	var (
		res     backend.FireSchedulesResult
		created []*ff.Execution
	)
	for _, f := range due {
		res.Skipped += int(f.plan.Skipped)
		for i, t := range f.fired {
			switch {
			case t.Err != nil:
				res.Skipped++
				continue
			case t.Duplicate:
				res.Duplicates++
			default:
				res.Fired++
				created = append(created, f.execs[i])
			}
			res.MaxLag = max(res.MaxLag, time.Duration(now-t.TickMs)*time.Millisecond)
		}
	}
	return created, res
}
