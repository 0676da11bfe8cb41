package sqlite

import (
	"context"
	"database/sql"
	"errors"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// Streams on SQLite. Every write runs in the one write transaction, so
// the fence checked at its start holds until it commits: an attempt's end
// commits before or after an append, never between its check and its
// write. Best-effort frames commit like durable ones (the file has one
// durability setting, see openWriter).

// streamFenced checks h's fence inside w and that h names the current
// attempt; an expired lease found here is recorded (commitThen).
func (w *writeTx) streamFenced(h ff.Handle) (*ff.Execution, error) {
	var e *ff.Execution
	err := w.fenced(h, func(x *ff.Execution, now int64) (*ff.Effects, bool, ff.FenceResult, error) {
		fr, err := x.CheckFence(now, h.Lease.Fence())
		if err != nil {
			return nil, false, fr, err
		}
		if idx, _ := x.CurrentAttemptIndex(); idx != h.Lease.AttemptIndex {
			return nil, false, fr, ff.Validation(ff.ErrInvalidHandle, "handle names attempt %d, the lease holds attempt %d", h.Lease.AttemptIndex, idx)
		}
		e = x
		return nil, false, fr, nil
	})
	return e, err
}

// ensureStream creates the attempt's ff_stream row if needed.
func (w *writeTx) ensureStream(e *ff.Execution, attempt uint32) error {
	_, err := w.exec("sqlite: stream row", qEnsureStream, e.ID.String(), attempt, e.ID.Partition, w.now)
	return err
}

// AppendFrames implements backend.Streams.
func (b *Backend) AppendFrames(ctx context.Context, p backend.AppendFramesParams) (backend.AppendFramesResult, error) {
	if err := p.Handle.CheckBackend(ff.BackendSQLite); err != nil {
		return backend.AppendFramesResult{}, err
	}
	if err := p.Normalize(b.limits); err != nil {
		return backend.AppendFramesResult{}, err
	}
	var out backend.AppendFramesResult
	ref := backend.StreamRef{ExecutionID: p.Handle.Lease.ExecutionID, Attempt: p.Handle.Lease.AttemptIndex}
	err := b.write(ctx, "sqlite: append frames", func(w *writeTx) error {
		e, err := w.streamFenced(p.Handle)
		if err != nil {
			return err
		}
		if err := w.ensureStream(e, ref.Attempt); err != nil {
			return err
		}
		n := int64(len(p.Frames))
		var last, count int64
		err = w.queryRow(qBumpStream, n, w.now, ref.ExecutionID.String(), ref.Attempt, b.limits.MaxFramesPerAttempt).Scan(&last, &count)
		if errors.Is(err, sql.ErrNoRows) {
			return ff.Validation(ff.ErrStreamLimit, "attempt %d of %s: %d more frames would pass the cap of %d",
				ref.Attempt, ref.ExecutionID, n, b.limits.MaxFramesPerAttempt)
		}
		if err != nil {
			return driverError("sqlite: append frames", err)
		}
		for i, f := range p.Frames {
			if _, err := w.exec("sqlite: append frames", qInsertFrame, ref.ExecutionID.String(), ref.Attempt,
				last-n+int64(i)+1, w.now, f.Durable, f.Binary, f.Type, f.CorrelationID, f.Payload); err != nil {
				return err
			}
		}
		out = backend.AppendFramesResult{LastFrameID: uint64(last), FrameCount: count}
		w.notify(ref.WakeKey())
		return nil
	})
	return out, err
}

// The stream statements of the writer, prepared at Open (writerQueries).
const (
	qEnsureStream = `INSERT INTO ff_stream (execution_id, attempt_index, partition_key, updated_at_ms)
VALUES (?, ?, ?, ?) ON CONFLICT (execution_id, attempt_index) DO NOTHING`
	qBumpStream = `UPDATE ff_stream SET last_frame_id = last_frame_id + ?1, frame_count = frame_count + ?1, updated_at_ms = ?2
WHERE execution_id = ?3 AND attempt_index = ?4 AND frame_count + ?1 <= ?5 RETURNING last_frame_id, frame_count`
)

const qInsertFrame = `INSERT INTO ff_stream_frame (execution_id, attempt_index, frame_id, at_ms, durable, is_binary,
  frame_type, correlation_id, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`

// SubscribeStream implements backend.Streams: wake-ups come from this
// process's appends (a second process on the file is not woken; its
// followers poll).
func (b *Backend) SubscribeStream(ctx context.Context, r backend.StreamRef) (<-chan struct{}, func()) {
	return b.hub.Subscribe(ctx, []string{r.WakeKey()})
}

// ReadStream implements backend.Streams, in one read transaction.
func (b *Backend) ReadStream(ctx context.Context, p backend.ReadStreamParams) (backend.StreamPage, error) {
	if err := p.Normalize(); err != nil {
		return backend.StreamPage{}, err
	}
	if err := b.readable("sqlite: read stream"); err != nil {
		return backend.StreamPage{}, err
	}
	tx, err := b.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return backend.StreamPage{}, driverError("sqlite: read stream", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	var page backend.StreamPage
	var att ff.Attempt
	var count int32
	var last int64
	var life sql.NullString
	var ended sql.NullInt64
	// An attempt still marked running or suspended is over when its lease
	// was revoked or lost, or a later attempt followed it (see the
	// Postgres store's attemptLifecycleSQL).
	err = tx.QueryRowContext(ctx, `SELECT e.attempt_count,
  CASE WHEN a.lifecycle IN ('created', 'started', 'suspended') AND (e.attempt_count > ?2 + 1
       OR e.ownership_state IN ('lease_expired_reclaimable', 'lease_revoked')) THEN 'interrupted_reclaimed'
       ELSE a.lifecycle END,
  CASE WHEN a.lifecycle IN ('created', 'started', 'suspended') THEN e.updated_at_ms ELSE a.ended_at_ms END,
  coalesce(s.last_frame_id, 0)
FROM ff_execution e
LEFT JOIN ff_attempt a ON a.execution_id = e.execution_id AND a.attempt_index = ?2
LEFT JOIN ff_stream s ON s.execution_id = e.execution_id AND s.attempt_index = ?2
WHERE e.execution_id = ?1`, p.ExecutionID.String(), p.Attempt).Scan(&count, &life, &ended, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return backend.FinishStreamPage(page, att, false, 0, p)
	}
	if err != nil {
		return backend.StreamPage{}, driverError("sqlite: read stream", err)
	}
	att.Lifecycle, att.EndedAtMs, page.LastFrameID = ff.AttemptLifecycle(life.String), ended.Int64, uint64(last)
	if page.Frames, err = readFrames(ctx, tx, p); err != nil {
		return backend.StreamPage{}, err
	}
	return backend.FinishStreamPage(page, att, true, count, p)
}

func readFrames(ctx context.Context, tx *sql.Tx, p backend.ReadStreamParams) ([]ff.StreamFrame, error) {
	rows, err := tx.QueryContext(ctx, `SELECT frame_id, frame_type, correlation_id, payload, is_binary, durable, at_ms
FROM ff_stream_frame WHERE execution_id = ? AND attempt_index = ? AND frame_id > ? ORDER BY frame_id LIMIT ?`,
		p.ExecutionID.String(), p.Attempt, int64(p.After), p.Limit)
	if err != nil {
		return nil, driverError("sqlite: read stream", err)
	}
	defer rows.Close()
	var out []ff.StreamFrame
	for rows.Next() {
		var f ff.StreamFrame
		var id int64
		if err := rows.Scan(&id, &f.Type, &f.CorrelationID, &f.Payload, &f.Binary, &f.Durable, &f.AtMs); err != nil {
			return nil, driverError("sqlite: read stream", err)
		}
		f.ID = uint64(id)
		if f.Payload == nil {
			f.Payload = []byte{}
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, driverError("sqlite: read stream", err)
	}
	return out, nil
}

// PatchSummary implements backend.Streams.
func (b *Backend) PatchSummary(ctx context.Context, p backend.PatchSummaryParams) (backend.Summary, error) {
	if err := p.Handle.CheckBackend(ff.BackendSQLite); err != nil {
		return backend.Summary{}, err
	}
	if err := p.Normalize(b.limits); err != nil {
		return backend.Summary{}, err
	}
	l := p.Handle.Lease
	out := backend.Summary{ExecutionID: l.ExecutionID, AttemptIndex: l.AttemptIndex}
	err := b.write(ctx, "sqlite: patch summary", func(w *writeTx) error {
		e, err := w.streamFenced(p.Handle)
		if err != nil {
			return err
		}
		if err := w.ensureStream(e, l.AttemptIndex); err != nil {
			return err
		}
		var doc []byte
		if err := w.queryRow(`SELECT summary FROM ff_stream WHERE execution_id = ? AND attempt_index = ?`,
			l.ExecutionID.String(), l.AttemptIndex).Scan(&doc); err != nil {
			return driverError("sqlite: patch summary", err)
		}
		if out.Document, err = backend.ApplySummaryPatch(doc, p.Patch, b.limits); err != nil {
			return err
		}
		out.UpdatedAtMs = w.now
		return driverError("sqlite: patch summary", w.queryRow(`UPDATE ff_stream SET summary = ?, summary_version = summary_version + 1,
  summary_updated_at_ms = ? WHERE execution_id = ? AND attempt_index = ? RETURNING summary_version`,
			out.Document, w.now, l.ExecutionID.String(), l.AttemptIndex).Scan(&out.Version))
	})
	if err != nil {
		return backend.Summary{}, err
	}
	return out, nil
}

// ReadSummary implements backend.Streams.
func (b *Backend) ReadSummary(ctx context.Context, p backend.ReadSummaryParams) (backend.Summary, error) {
	if err := b.readable("sqlite: read summary"); err != nil {
		return backend.Summary{}, err
	}
	var want any
	if p.Attempt != nil {
		want = int64(*p.Attempt)
	}
	var count int64
	var doc []byte
	var version, updated sql.NullInt64
	err := b.r.QueryRowContext(ctx, `SELECT e.attempt_count, s.summary, s.summary_version, s.summary_updated_at_ms
FROM ff_execution e LEFT JOIN ff_stream s
  ON s.execution_id = e.execution_id AND s.attempt_index = coalesce(?2, e.attempt_count - 1)
WHERE e.execution_id = ?1`, p.ExecutionID.String(), want).Scan(&count, &doc, &version, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return backend.Summary{}, ff.NotFound("execution", "%s", p.ExecutionID)
	}
	if err != nil {
		return backend.Summary{}, driverError("sqlite: read summary", err)
	}
	var v, u *int64
	if version.Valid {
		v, u = &version.Int64, &updated.Int64
	}
	return backend.SummaryOf(p, uint32(count), doc, v, u)
}

// SweepStreams implements backend.Streams.
func (b *Backend) SweepStreams(ctx context.Context, p backend.SweepStreamsParams) (int, error) {
	if err := p.Normalize(); err != nil {
		return 0, err
	}
	var n int
	err := b.write(ctx, "sqlite: sweep streams", func(w *writeTx) error {
		cutoff := w.now - p.Retention.Milliseconds()
		rows, err := w.query("sqlite: sweep streams", `SELECT s.execution_id, s.attempt_index FROM ff_stream s
LEFT JOIN ff_attempt a ON a.execution_id = s.execution_id AND a.attempt_index = s.attempt_index
WHERE s.frames_purged = 0 AND s.frame_count > 0 AND s.updated_at_ms < ?1
  AND a.lifecycle IN ('ended_success', 'ended_failure', 'ended_cancelled', 'interrupted_reclaimed') AND a.ended_at_ms < ?1
ORDER BY s.updated_at_ms LIMIT ?2`, cutoff, p.Limit)
		if err != nil {
			return err
		}
		var due []backend.StreamRef
		for rows.Next() {
			var id string
			var r backend.StreamRef
			if err := rows.Scan(&id, &r.Attempt); err != nil {
				rows.Close()
				return driverError("sqlite: sweep streams", err)
			}
			r.ExecutionID, _ = ff.ParseExecutionID(id)
			due = append(due, r)
		}
		rows.Close()
		for _, r := range due {
			if err := w.purgeFrames(r); err != nil {
				return err
			}
		}
		n = len(due)
		return nil
	})
	return n, err
}

func (w *writeTx) purgeFrames(r backend.StreamRef) error {
	id := r.ExecutionID.String()
	if _, err := w.exec("sqlite: sweep streams", `DELETE FROM ff_stream_frame WHERE execution_id = ? AND attempt_index = ?`, id, r.Attempt); err != nil {
		return err
	}
	_, err := w.exec("sqlite: sweep streams", `UPDATE ff_stream SET frames_purged = 1 WHERE execution_id = ? AND attempt_index = ?`, id, r.Attempt)
	return err
}
