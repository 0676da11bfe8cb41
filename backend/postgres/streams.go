package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// Streams on Postgres. An append is one statement: it checks the fence
// on the execution row (FOR SHARE, so the attempt's end waits for the
// append to commit), bumps the attempt's ff_stream row (its lock orders
// the frame ids) and inserts the batch. When the fence does not hold it
// falls back to the slow path, which returns the precise fence error.

// streamFence is the fence predicate on ff_execution e: $1 id, $2 lease
// id, $3 epoch, $4 attempt id, $5 attempt index, $6 the clock.
const streamFence = `e.id = $1 AND e.lease_id = $2 AND e.lease_epoch = $3 AND e.current_attempt_id = $4
	AND e.attempt_count = $5 + 1 AND e.lifecycle_phase = 'active' AND e.ownership_state = 'leased'
	AND e.lease_expires_at_ms > coalesce($6::bigint, ff_now_ms())`

// appendSQL appends a batch: $7 frame count, $8 the frame cap, $9..$13
// the frames' columns as parallel arrays, so that a batch of any size is
// one INSERT (unnest) and one round trip.
const appendSQL = `WITH fence AS (
	SELECT e.partition, coalesce($6::bigint, ff_now_ms()) AS now FROM ff_execution e WHERE ` + streamFence + ` FOR SHARE
), meta AS (
	INSERT INTO ff_stream AS s (execution_id, attempt_index, partition, last_frame_id, frame_count, updated_at_ms)
	SELECT $1, $5, f.partition, $7, $7, f.now FROM fence f
	ON CONFLICT (execution_id, attempt_index) DO UPDATE
		SET last_frame_id = s.last_frame_id + $7, frame_count = s.frame_count + $7, updated_at_ms = EXCLUDED.updated_at_ms
		WHERE s.frame_count + $7 <= $8
	RETURNING s.last_frame_id, s.frame_count, s.partition, s.updated_at_ms
), ins AS (
	INSERT INTO ff_stream_frame (execution_id, attempt_index, frame_id, partition, at_ms, durable, is_binary, frame_type, correlation_id, payload)
	SELECT $1, $5, m.last_frame_id - $7 + u.ord, m.partition, m.updated_at_ms, u.durable, u.bin, u.typ, u.corr, u.payload
	FROM meta m, unnest($9::boolean[], $10::boolean[], $11::text[], $12::text[], $13::bytea[])
		WITH ORDINALITY AS u(durable, bin, typ, corr, payload, ord)
)%s
SELECT (SELECT count(*) FROM fence), m.last_frame_id, m.frame_count%s FROM (SELECT 1) one LEFT JOIN meta m ON true`

// A best-effort batch commits with synchronous_commit off: set_config
// with is_local applies to this statement's own transaction.
var (
	appendDurableSQL    = fmt.Sprintf(appendSQL, "", "")
	appendBestEffortSQL = fmt.Sprintf(appendSQL, `, cfg AS (SELECT set_config('synchronous_commit', 'off', true) AS v)`, `, (SELECT v FROM cfg)`)
)

// AppendFrames implements backend.Streams.
func (b *Backend) AppendFrames(ctx context.Context, p backend.AppendFramesParams) (backend.AppendFramesResult, error) {
	if err := p.Handle.CheckBackend(ff.BackendPostgres); err != nil {
		return backend.AppendFramesResult{}, err
	}
	if err := p.Normalize(b.limits); err != nil {
		return backend.AppendFramesResult{}, err
	}
	q := appendDurableSQL
	if !p.Durable() {
		q = appendBestEffortSQL
	}
	l := p.Handle.Lease
	n := len(p.Frames)
	args := append([]any{l.ExecutionID.String(), l.LeaseID, int64(l.LeaseEpoch), l.AttemptID,
		int32(l.AttemptIndex), b.nowArg(), n, b.limits.MaxFramesPerAttempt}, frameColumns(p.Frames)...)
	for try := 0; ; try++ {
		var fenced int64
		var last, count *int64
		dest := []any{&fenced, &last, &count}
		if q == appendBestEffortSQL {
			dest = append(dest, new(*string))
		}
		err := b.pool.QueryRow(ctx, q, args...).Scan(dest...)
		if err != nil {
			return backend.AppendFramesResult{}, mapPgError("append frames", err)
		}
		switch {
		case fenced == 0 && try == 0:
			if err := b.streamFenceError(ctx, "append frames", p.Handle); err != nil {
				return backend.AppendFramesResult{}, err
			}
			continue // the fence holds now (a renewal raced): once more
		case fenced == 0:
			return backend.AppendFramesResult{}, ff.Contention(ff.ErrLeaseConflict, "append frames: the lease changed during the append")
		case last == nil:
			return backend.AppendFramesResult{}, ff.Validation(ff.ErrStreamLimit, "attempt %d of %s: %d more frames would pass the cap of %d",
				l.AttemptIndex, l.ExecutionID, n, b.limits.MaxFramesPerAttempt)
		}
		b.wakeStream(backend.StreamRef{ExecutionID: l.ExecutionID, Attempt: l.AttemptIndex})
		return backend.AppendFramesResult{LastFrameID: uint64(*last), FrameCount: *count}, nil
	}
}

// frameColumns returns the frames' columns as the parallel arrays of
// appendSQL ($9..$13).
func frameColumns(frames []ff.FrameInput) []any {
	n := len(frames)
	durable, bin := make([]bool, n), make([]bool, n)
	typ, corr, payload := make([]string, n), make([]string, n), make([][]byte, n)
	for i, f := range frames {
		durable[i], bin[i], typ[i], corr[i], payload[i] = f.Durable, f.Binary, f.Type, f.CorrelationID, f.Payload
	}
	return []any{durable, bin, typ, corr, payload}
}

// streamFenceError finds why the fence of h does not hold, through the
// slow path (which also records an expired lease); nil means it holds.
func (b *Backend) streamFenceError(ctx context.Context, op string, h ff.Handle) error {
	l := h.Lease
	return b.mutate(ctx, op, l.ExecutionID, func(e *ff.Execution, now int64) (*ff.Effects, bool, bool, error) {
		fr, err := e.CheckFence(now, l.Fence())
		if err != nil {
			return fenceOutcome(nil, fr, err)
		}
		if idx, _ := e.CurrentAttemptIndex(); idx != l.AttemptIndex {
			return nil, false, false, ff.Validation(ff.ErrInvalidHandle, "handle names attempt %d, the lease holds attempt %d", l.AttemptIndex, idx)
		}
		return nil, false, false, nil
	})
}

// wakeStream wakes the stream's followers in this process at once and in
// others through one coalesced notification.
func (b *Backend) wakeStream(r backend.StreamRef) {
	k := r.WakeKey()
	b.hub.Notify(k)
	b.notify.publish(k)
}

// SubscribeStream implements backend.Streams.
func (b *Backend) SubscribeStream(ctx context.Context, r backend.StreamRef) (<-chan struct{}, func()) {
	b.notify.ensureListening()
	return b.hub.Subscribe(ctx, []string{r.WakeKey()})
}

// attemptLifecycleSQL derives attempt $2's lifecycle and end from its
// ff_attempt row a (written when it ends) or, without one, from the
// execution row e: a last attempt that ended with its execution (a
// success), one whose lease was revoked or lost (it can never append
// again; a reclaim starts a new attempt), or one a later attempt
// followed (it ended no later than that one started).
const attemptLifecycleSQL = `CASE WHEN a.lifecycle IS NOT NULL THEN a.lifecycle
	WHEN e.attempt_count = $2 + 1 AND e.lifecycle_phase = 'terminal' THEN
		CASE e.terminal_outcome WHEN 'success' THEN 'ended_success' WHEN 'cancelled' THEN 'ended_cancelled' ELSE 'ended_failure' END
	WHEN e.attempt_count = $2 + 1 AND e.ownership_state IN ('lease_expired_reclaimable', 'lease_revoked') THEN 'interrupted_reclaimed'
	WHEN e.attempt_count > $2 + 1 THEN 'interrupted_reclaimed'
	ELSE '' END,
	coalesce(a.ended_at_ms, CASE WHEN e.attempt_count > $2 + 1 THEN e.attempt_started_ms
		WHEN e.lifecycle_phase = 'terminal' THEN e.completed_at_ms ELSE e.updated_at_ms END)`

// readStreamSQL reads the stream's state and one page of frames in one
// statement, hence one snapshot: a close it reports comes with every
// frame appended before it.
const readStreamSQL = `SELECT e.attempt_count, ` + attemptLifecycleSQL + `, coalesce(s.last_frame_id, 0),
	f.frame_id, f.frame_type, f.correlation_id, f.payload, f.is_binary, f.durable, f.at_ms
FROM ff_execution e
LEFT JOIN ff_attempt a ON a.execution_id = e.id AND a.attempt_index = $2
LEFT JOIN ff_stream s ON s.execution_id = e.id AND s.attempt_index = $2
LEFT JOIN LATERAL (SELECT fr.frame_id, fr.frame_type, fr.correlation_id, fr.payload, fr.is_binary, fr.durable, fr.at_ms
	FROM ff_stream_frame fr WHERE fr.execution_id = e.id AND fr.attempt_index = $2 AND fr.frame_id > $3
	ORDER BY fr.frame_id LIMIT $4) f ON true
WHERE e.id = $1 ORDER BY f.frame_id`

// ReadStream implements backend.Streams.
func (b *Backend) ReadStream(ctx context.Context, p backend.ReadStreamParams) (backend.StreamPage, error) {
	if err := p.Normalize(); err != nil {
		return backend.StreamPage{}, err
	}
	rows, err := b.pool.Query(ctx, readStreamSQL, p.ExecutionID.String(), int32(p.Attempt), int64(p.After), p.Limit)
	if err != nil {
		return backend.StreamPage{}, mapPgError("read stream", err)
	}
	defer rows.Close()
	var page backend.StreamPage
	var att ff.Attempt
	var count int32
	seen := false
	for rows.Next() {
		seen = true
		var last int64
		var id, at *int64
		var typ, corr *string
		var payload []byte
		var bin, durable *bool
		var life string
		if err := rows.Scan(&count, &life, &att.EndedAtMs, &last, &id, &typ, &corr, &payload, &bin, &durable, &at); err != nil {
			return backend.StreamPage{}, mapPgError("read stream", err)
		}
		att.Lifecycle, page.LastFrameID = ff.AttemptLifecycle(life), uint64(last)
		if id != nil {
			page.Frames = append(page.Frames, ff.StreamFrame{ID: uint64(*id), Type: *typ, CorrelationID: *corr,
				Payload: payload, Binary: *bin, Durable: *durable, AtMs: *at})
		}
	}
	if err := rows.Err(); err != nil {
		return backend.StreamPage{}, mapPgError("read stream", err)
	}
	return backend.FinishStreamPage(page, att, seen, count, p)
}

// PatchSummary implements backend.Streams: the fence holds the execution
// row FOR SHARE and the ff_stream row is locked while the patch merges.
func (b *Backend) PatchSummary(ctx context.Context, p backend.PatchSummaryParams) (backend.Summary, error) {
	if err := p.Handle.CheckBackend(ff.BackendPostgres); err != nil {
		return backend.Summary{}, err
	}
	if err := p.Normalize(b.limits); err != nil {
		return backend.Summary{}, err
	}
	for try := 0; ; try++ {
		s, fenced, err := b.patchSummaryOnce(ctx, p)
		switch {
		case err != nil || fenced:
			return s, err
		case try > 0:
			return backend.Summary{}, ff.Contention(ff.ErrLeaseConflict, "patch summary: the lease changed during the patch")
		}
		if err := b.streamFenceError(ctx, "patch summary", p.Handle); err != nil {
			return backend.Summary{}, err
		}
	}
}

func (b *Backend) patchSummaryOnce(ctx context.Context, p backend.PatchSummaryParams) (backend.Summary, bool, error) {
	l := p.Handle.Lease
	out := backend.Summary{ExecutionID: l.ExecutionID, AttemptIndex: l.AttemptIndex}
	err := pgx.BeginFunc(ctx, b.pool, func(tx pgx.Tx) error {
		var doc []byte
		err := tx.QueryRow(ctx, `WITH fence AS (
			SELECT e.partition, coalesce($6::bigint, ff_now_ms()) AS now FROM ff_execution e WHERE `+streamFence+` FOR SHARE)
			INSERT INTO ff_stream AS s (execution_id, attempt_index, partition, updated_at_ms)
			SELECT $1, $5, f.partition, f.now FROM fence f
			ON CONFLICT (execution_id, attempt_index) DO UPDATE SET summary_version = s.summary_version
			RETURNING s.summary, (SELECT now FROM fence)`,
			l.ExecutionID.String(), l.LeaseID, int64(l.LeaseEpoch), l.AttemptID, int32(l.AttemptIndex), b.nowArg()).Scan(&doc, &out.UpdatedAtMs)
		if err != nil {
			return err
		}
		merged, err := backend.ApplySummaryPatch(doc, p.Patch, b.limits)
		if err != nil {
			return err
		}
		out.Document = merged
		return tx.QueryRow(ctx, `UPDATE ff_stream SET summary = $3, summary_version = summary_version + 1, summary_updated_at_ms = $4
			WHERE execution_id = $1 AND attempt_index = $2 RETURNING summary_version`,
			l.ExecutionID.String(), int32(l.AttemptIndex), merged, out.UpdatedAtMs).Scan(&out.Version)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return backend.Summary{}, false, nil
	}
	if _, ok := ff.AsError(err); ok {
		return backend.Summary{}, true, err
	}
	if err != nil {
		return backend.Summary{}, true, mapPgError("patch summary", err)
	}
	return out, true, nil
}

// ReadSummary implements backend.Streams.
func (b *Backend) ReadSummary(ctx context.Context, p backend.ReadSummaryParams) (backend.Summary, error) {
	var want *int32
	if p.Attempt != nil {
		v := int32(*p.Attempt)
		want = &v
	}
	var count int32
	var doc []byte
	var version, updated *int64
	err := b.pool.QueryRow(ctx, `SELECT e.attempt_count, s.summary, s.summary_version, s.summary_updated_at_ms
		FROM ff_execution e LEFT JOIN ff_stream s
			ON s.execution_id = e.id AND s.attempt_index = coalesce($2::integer, e.attempt_count - 1)
		WHERE e.id = $1`, p.ExecutionID.String(), want).Scan(&count, &doc, &version, &updated)
	if errors.Is(err, pgx.ErrNoRows) {
		return backend.Summary{}, ff.NotFound("execution", "%s", p.ExecutionID)
	}
	if err != nil {
		return backend.Summary{}, mapPgError("read summary", err)
	}
	return backend.SummaryOf(p, uint32(max(count, 0)), doc, version, updated)
}

// SweepStreams implements backend.Streams: one statement picks up to
// Limit streams whose attempt ended before the cutoff, deletes their
// frames and marks them purged.
func (b *Backend) SweepStreams(ctx context.Context, p backend.SweepStreamsParams) (int, error) {
	if err := p.Normalize(); err != nil {
		return 0, err
	}
	var n int
	err := b.pool.QueryRow(ctx, `WITH cutoff AS (SELECT coalesce($1::bigint, ff_now_ms()) - $2 AS ms),
	due AS (
		SELECT s.execution_id, s.attempt_index FROM ff_stream s
		LEFT JOIN ff_execution e ON e.id = s.execution_id
		LEFT JOIN ff_attempt a ON a.execution_id = s.execution_id AND a.attempt_index = s.attempt_index
		WHERE NOT s.frames_purged AND s.frame_count > 0 AND s.updated_at_ms < (SELECT ms FROM cutoff)
			AND (e.id IS NULL OR coalesce(a.ended_at_ms, CASE WHEN e.attempt_count > s.attempt_index + 1 THEN e.attempt_started_ms
				WHEN e.lifecycle_phase = 'terminal' AND e.attempt_count = s.attempt_index + 1 THEN e.completed_at_ms END) < (SELECT ms FROM cutoff))
		ORDER BY s.updated_at_ms LIMIT $3 FOR UPDATE OF s SKIP LOCKED
	), del AS (
		DELETE FROM ff_stream_frame f USING due
		WHERE f.execution_id = due.execution_id AND f.attempt_index = due.attempt_index
	), upd AS (
		UPDATE ff_stream s SET frames_purged = true FROM due
		WHERE s.execution_id = due.execution_id AND s.attempt_index = due.attempt_index RETURNING 1
	) SELECT count(*) FROM upd`, b.nowArg(), p.Retention.Milliseconds(), p.Limit).Scan(&n)
	if err != nil {
		return 0, mapPgError("sweep streams", err)
	}
	return n, nil
}
