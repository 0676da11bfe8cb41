package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// ErrStreamClosed is returned by a StreamWriter used after its handler
// returned (the attempt's stream is then closed).
var ErrStreamClosed = errors.New("worker: stream closed: the handler returned")

// Batch bounds of a StreamWriter: a batch is sent at once when it holds
// this many frames or bytes.
const (
	streamMaxBatch      = 500
	streamMaxBatchBytes = 4 << 20
)

// StreamWriter appends frames to the attempt's output stream, batching
// them: a frame waits at most Config.StreamFlush for others to share its
// append (one transaction for the batch), and a full batch is sent by the
// writer that filled it. Frames keep the order they were written in. It
// is safe for concurrent use.
//
// Write makes each call one binary frame (so a StreamWriter is an
// io.Writer, e.g. for a log.Logger or exec.Cmd.Stdout); Send writes one
// JSON frame. A failed append (the lease lost, a frame over the cap) is
// returned by the next call and every later one; an append refused
// because the attempt is no longer owned also cancels the handler's
// context, as a failed renewal does. When the handler returns, the worker
// flushes the writer before it reports the outcome, and closes it.
type StreamWriter struct {
	t        *Task
	interval time.Duration

	// sendMu serialises appends and is held while one is in flight; mu
	// guards the fields below. Lock order: sendMu, then mu — never the
	// reverse — and mu is never held during I/O.
	sendMu  sync.Mutex
	mu      sync.Mutex
	pending []ff.FrameInput
	bytes   int
	timer   *time.Timer
	err     error
	closed  bool
	last    uint64
}

// Stream returns the attempt's frame writer (the same one on every call).
func (t *Task) Stream() *StreamWriter {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stream == nil {
		t.stream = &StreamWriter{t: t, interval: t.w.cfg.StreamFlush}
	}
	return t.stream
}

// Write appends p (copied) as one binary frame of type "stdout",
// durable. It implements io.Writer.
func (s *StreamWriter) Write(p []byte) (int, error) {
	frame := ff.FrameInput{Type: "stdout", Payload: append([]byte(nil), p...), Binary: true, Durable: true}
	if err := s.Frame(frame); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Send appends v, encoded as JSON, as one durable frame of type typ
// ("data" when empty).
func (s *StreamWriter) Send(typ string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("stream frame: %w", err)
	}
	return s.Frame(ff.FrameInput{Type: typ, Payload: b, Durable: true})
}

// Frame queues one frame as given (see ff.FrameInput; Durable false makes
// it best effort).
func (s *StreamWriter) Frame(f ff.FrameInput) error {
	s.mu.Lock()
	if err := s.stateErr(); err != nil {
		s.mu.Unlock()
		return err
	}
	s.pending = append(s.pending, f)
	s.bytes += len(f.Payload)
	full := len(s.pending) >= streamMaxBatch || s.bytes >= streamMaxBatchBytes
	if len(s.pending) == 1 && !full {
		s.timer = time.AfterFunc(s.interval, func() { _ = s.flush(s.t.w.ioCtx) })
	}
	s.mu.Unlock()
	if full {
		return s.flush(s.t.ctx)
	}
	return nil
}

// Flush sends the queued frames now and returns the first append error.
func (s *StreamWriter) Flush(ctx context.Context) error { return s.flush(ctx) }

// LastFrameID is the id of the last frame appended so far (0 before any).
func (s *StreamWriter) LastFrameID() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// stateErr is the error a new frame gets. Called with mu held.
func (s *StreamWriter) stateErr() error {
	switch {
	case s.err != nil:
		return s.err
	case s.closed:
		return ErrStreamClosed
	}
	return nil
}

// flush sends what is queued as one append (the sends are serialised by
// sendMu, so batches reach the engine in the order they were queued).
func (s *StreamWriter) flush(ctx context.Context) error {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	s.mu.Lock()
	batch := s.pending
	s.pending, s.bytes = nil, 0
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	err := s.err
	s.mu.Unlock()
	if err != nil || len(batch) == 0 {
		return err
	}
	res, err := s.t.w.transport.AppendFrames(ctx, backend.AppendFramesParams{Handle: s.t.handle, Frames: batch})
	if err != nil {
		err = fmt.Errorf("stream of %s: %w", s.t.ExecutionID, err)
	}
	s.mu.Lock()
	if err != nil {
		s.err = err
	} else {
		s.last = res.LastFrameID
	}
	s.mu.Unlock()
	if cause := lostCause(err); cause != nil {
		// Outside mu: refining the cause may read the execution.
		s.t.lose(s.t.w.renewer.refine(s.t.w.ioCtx, s.t, cause))
	}
	return err
}

// close flushes what is queued and refuses later frames; the worker calls
// it when the handler returned, before reporting the outcome. The flush
// is bounded by the lease's expiry.
func (s *StreamWriter) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	ctx, cancel := context.WithDeadline(s.t.w.ioCtx, s.t.leaseExpiry())
	defer cancel()
	if err := s.flush(ctx); err != nil {
		s.t.w.log.Warn("worker: stream frames not appended", "execution_id", s.t.ExecutionID.String(),
			"attempt_index", s.t.AttemptIndex, "error", err)
	}
}

// closeStream closes the task's writer, if the handler used one.
func (t *Task) closeStream() {
	t.mu.Lock()
	s := t.stream
	t.mu.Unlock()
	if s != nil {
		s.close()
	}
}

// Summary applies patch, a JSON Merge Patch (RFC 7386) object, to the
// attempt's summary document under the lease and returns the merged
// document. patch is a []byte or json.RawMessage holding JSON, or any
// value encoded as JSON. A refusal because the attempt is no longer owned
// also cancels the handler's context.
func (t *Task) Summary(ctx context.Context, patch any) (json.RawMessage, error) {
	var raw []byte
	switch p := patch.(type) {
	case []byte:
		raw = p
	case json.RawMessage:
		raw = p
	default:
		b, err := json.Marshal(patch)
		if err != nil {
			return nil, fmt.Errorf("summary patch of %s: %w", t.ExecutionID, err)
		}
		raw = b
	}
	s, err := t.w.transport.PatchSummary(ctx, backend.PatchSummaryParams{Handle: t.handle, Patch: raw})
	if err != nil {
		if cause := lostCause(err); cause != nil {
			t.lose(t.w.renewer.refine(t.w.ioCtx, t, cause))
		}
		return nil, fmt.Errorf("summary of %s: %w", t.ExecutionID, err)
	}
	return s.Document, nil
}
