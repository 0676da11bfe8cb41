package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

// sseHeartbeat is how often an idle SSE connection gets a comment line,
// so that proxies keep it open and a gone client is noticed.
const sseHeartbeat = 15 * time.Second

// streamRoutes are the routes of output streams (issue 14).
func (s *Server) streamRoutes() []*route {
	lim := s.limits
	return []*route{
		{method: "POST", path: "/v1/tasks/frames", op: "appendFrames", limit: lim.Batch,
			summary:   "Append frames to the attempt's stream under the lease, all or none; fenced: after the attempt ended → 409.",
			body:      wire.AppendFramesRequest{},
			responses: []response{ok(200, "the id of the batch's last frame", wire.AppendFramesResponse{})},
			handle:    (*Server).appendFrames},
		{method: "POST", path: "/v1/tasks/summary", op: "patchSummary", limit: lim.Create,
			summary:   "Apply a JSON Merge Patch (RFC 7386) to the attempt's summary under the lease.",
			body:      wire.PatchSummaryRequest{},
			responses: []response{ok(200, "the merged summary", wire.PatchSummaryResponse{})},
			handle:    (*Server).patchSummary},
		{method: "GET", path: "/v1/executions/{id}/attempts/{n}/stream", op: "readStream",
			summary: "Read an attempt's frames after a frame id; wait_ms long-polls for new ones. With Accept: text/event-stream, " +
				"Server-Sent Events: one event \"frame\" per frame (SSE id = frame id), resuming after Last-Event-ID, and a final event \"closed\".",
			query: []param{
				{"after", "integer", "exclusive frame id to read after (0: from the first)", map[string]any{"minimum": 0}},
				{"limit", "integer", "page size", map[string]any{"minimum": 1, "maximum": backend.MaxStreamReadLimit, "default": backend.DefaultStreamReadLimit}},
				{"wait_ms", "integer", "long-poll: wait this long for a frame or the close when there is none", map[string]any{"minimum": 0, "maximum": wire.MaxStreamWaitMs}}},
			responses: []response{ok(200, "a page; closed_at_ms and closed_reason are null while the stream is open", wire.StreamPage{}),
				{status: 200, desc: "Server-Sent Events", ctype: "text/event-stream", rawSchema: textSchema}},
			handle: (*Server).readStream},
		{method: "GET", path: "/v1/executions/{id}/summary", op: "readSummary",
			summary:   "The summary of the execution's latest attempt (null before its first patch).",
			query:     []param{{"attempt", "integer", "this attempt instead of the latest", map[string]any{"minimum": 0}}},
			responses: []response{ok(200, "the summary", wire.AttemptSummary{})},
			handle:    (*Server).readSummary},
	}
}

func (s *Server) appendFrames(w http.ResponseWriter, r *http.Request) error {
	var req wire.AppendFramesRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	h, err := parseHandle("handle", req.Handle)
	if err != nil {
		return err
	}
	p := backend.AppendFramesParams{Handle: h, Frames: make([]ff.FrameInput, len(req.Frames))}
	for i, f := range req.Frames {
		if p.Frames[i], err = f.Input(i); err != nil {
			return err
		}
	}
	res, err := s.b.AppendFrames(r.Context(), p)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, wire.AppendFramesResponse{LastFrameID: res.LastFrameID, FrameCount: res.FrameCount})
	return nil
}

func (s *Server) patchSummary(w http.ResponseWriter, r *http.Request) error {
	var req wire.PatchSummaryRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	h, err := parseHandle("handle", req.Handle)
	if err != nil {
		return err
	}
	sum, err := s.b.PatchSummary(r.Context(), backend.PatchSummaryParams{Handle: h, Patch: req.Patch})
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, wire.PatchSummaryResponse{Summary: sum.Document, Version: sum.Version})
	return nil
}

func (s *Server) readSummary(w http.ResponseWriter, r *http.Request) error {
	id, err := pathExecutionID(r)
	if err != nil {
		return err
	}
	q, err := query(r)
	if err != nil {
		return err
	}
	p := backend.ReadSummaryParams{ExecutionID: id}
	if n, set, err := queryInt(q, "attempt", 64); err != nil {
		return err
	} else if set {
		if n < 0 || n > 1<<32-1 {
			return ff.Validation(ff.ErrInvalidInput, "query attempt=%d: not an attempt index", n)
		}
		a := uint32(n)
		p.Attempt = &a
	}
	sum, err := s.b.ReadSummary(r.Context(), p)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, wire.AttemptSummary{AttemptIndex: sum.AttemptIndex, Summary: sum.Document,
		Version: sum.Version, UpdatedAtMs: sum.UpdatedAtMs})
	return nil
}

// streamRequest is a parsed stream read.
type streamRequest struct {
	p    backend.ReadStreamParams
	wait time.Duration
	sse  bool
}

func parseStreamRequest(r *http.Request) (streamRequest, error) {
	var sr streamRequest
	id, err := pathExecutionID(r)
	if err != nil {
		return sr, err
	}
	n, err := strconv.ParseUint(r.PathValue("n"), 10, 32)
	if err != nil {
		return sr, ff.Validation(ff.ErrInvalidInput, "attempt %q: want an attempt index", r.PathValue("n"))
	}
	q, err := query(r)
	if err != nil {
		return sr, err
	}
	sr.p = backend.ReadStreamParams{StreamRef: backend.StreamRef{ExecutionID: id, Attempt: uint32(n)}}
	sr.sse = strings.Contains(r.Header.Get("Accept"), "text/event-stream")
	after := q.Get("after")
	if last := r.Header.Get("Last-Event-ID"); sr.sse && last != "" {
		after = last
	}
	if sr.p.After, err = parseFrameID(after); err != nil {
		return sr, err
	}
	if sr.p.Limit, err = queryLimit(q); err != nil {
		return sr, err
	}
	waitMs, _, err := queryInt(q, "wait_ms", 64)
	if err != nil {
		return sr, err
	}
	if waitMs < 0 || waitMs > wire.MaxStreamWaitMs {
		return sr, ff.Validation(ff.ErrInvalidInput, "query wait_ms=%d: outside [0, %d]", waitMs, wire.MaxStreamWaitMs)
	}
	sr.wait = time.Duration(waitMs) * time.Millisecond
	return sr, sr.p.Normalize()
}

// parseFrameID parses an exclusive frame id cursor ("" is 0).
func parseFrameID(s string) (uint64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(s, 10, 63)
	if err != nil {
		return 0, ff.Validation(ff.ErrInvalidInput, "after %q: not a frame id", clipEcho(s))
	}
	return n, nil
}

func clipEcho(s string) string { return ff.CutText(s, 32) }

func (s *Server) readStream(w http.ResponseWriter, r *http.Request) error {
	sr, err := parseStreamRequest(r)
	if err != nil {
		return err
	}
	// The first read answers the bad-input and not-found cases with an
	// error response, before anything is streamed.
	page, err := s.b.ReadStream(r.Context(), sr.p)
	if err != nil {
		return err
	}
	if sr.sse {
		return s.serveSSE(w, r, sr.p, page)
	}
	if len(page.Frames) == 0 && !page.Closed && sr.wait > 0 {
		setWriteDeadline(w, sr.wait+s.timeouts.Write)
		if page, err = s.waitFrames(r.Context(), sr.p, page, sr.wait); err != nil {
			return err
		}
	}
	s.writeJSON(w, r, http.StatusOK, streamPageOf(page))
	return nil
}

func streamPageOf(page backend.StreamPage) wire.StreamPage {
	out := wire.StreamPage{Frames: make([]wire.Frame, len(page.Frames)), LastFrameID: page.LastFrameID}
	for i, f := range page.Frames {
		out.Frames[i] = wire.FrameOf(f)
	}
	if page.Closed {
		at, reason := page.ClosedAtMs, page.ClosedReason
		out.ClosedAtMs, out.ClosedReason = &at, &reason
	}
	return out
}

// waitFrames long-polls through the stream's feed until a frame or the
// close comes, wait passes, the client leaves or shutdown begins. The
// page answered carries what the feed saw.
func (s *Server) waitFrames(ctx context.Context, p backend.ReadStreamParams, page backend.StreamPage, wait time.Duration) (backend.StreamPage, error) {
	f, err := s.streams.join(p.StreamRef, p.After)
	if err != nil {
		return page, err
	}
	defer f.leave()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		frames, closed, behind, changed := f.next(p.After, p.Limit)
		switch {
		case behind:
			return s.b.ReadStream(ctx, p)
		case len(frames) > 0:
			page.Frames = make([]ff.StreamFrame, len(frames))
			for i, fr := range frames {
				page.Frames[i] = fr.frame
			}
			page.LastFrameID = max(page.LastFrameID, page.Frames[len(frames)-1].ID)
			return page, nil
		case closed != nil:
			page.Closed, page.ClosedAtMs, page.ClosedReason = true, closed.ClosedAtMs, closed.ClosedReason
			page.LastFrameID = max(page.LastFrameID, closed.LastFrameID)
			return page, nil
		}
		select {
		case <-changed:
		case <-deadline.C:
			return page, nil
		case <-s.closing:
			return page, nil
		case <-ctx.Done():
			return page, ctx.Err()
		}
	}
}

// sseWriter writes Server-Sent Events.
type sseWriter struct {
	s  *Server
	w  http.ResponseWriter
	rc *http.ResponseController
}

// sseEvent encodes one event.
func sseEvent(id, name string, data any) []byte {
	b, err := json.Marshal(data)
	if err != nil {
		panic(ff.Bug("encode event: %v", err)) // wire types always encode
	}
	out := make([]byte, 0, len(b)+len(id)+len(name)+24)
	if id != "" {
		out = append(append(append(out, "id: "...), id...), '\n')
	}
	out = append(append(append(out, "event: "...), name...), "\ndata: "...)
	return append(append(out, b...), "\n\n"...)
}

// sseFrame is the event of one frame (its SSE id is the frame id).
func sseFrame(f ff.StreamFrame) []byte {
	return sseEvent(strconv.FormatUint(f.ID, 10), "frame", wire.FrameOf(f))
}

// write writes b and flushes it, bounded by the write timeout.
func (e *sseWriter) write(b []byte) error {
	_ = e.rc.SetWriteDeadline(time.Now().Add(e.s.timeouts.Write))
	if _, err := e.w.Write(b); err != nil {
		return err
	}
	return e.rc.Flush()
}

// frames writes the events of frames (encoded by the feed, or here) in
// one flush.
func (e *sseWriter) frames(frames []feedFrame) error {
	if len(frames) == 0 {
		return nil
	}
	var buf []byte
	for _, f := range frames {
		if f.sse == nil {
			f.sse = sseFrame(f.frame)
		}
		buf = append(buf, f.sse...)
	}
	return e.write(buf)
}

func unencoded(frames []ff.StreamFrame) []feedFrame {
	out := make([]feedFrame, len(frames))
	for i, f := range frames {
		out[i].frame = f
	}
	return out
}

// serveSSE streams the frames after p.After, then follows the stream
// through its feed until the close (the final event "closed"), the
// client leaves or shutdown begins. A client that reconnects with
// Last-Event-ID resumes after the last frame it received.
func (s *Server) serveSSE(w http.ResponseWriter, r *http.Request, p backend.ReadStreamParams, page backend.StreamPage) error {
	f, err := s.streams.join(p.StreamRef, p.After) // before the headers: the cap is a 429
	if err != nil {
		return err
	}
	defer f.leave()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	out := &sseWriter{s: s, w: w, rc: http.NewResponseController(w)}
	if err := out.write([]byte(": following\n\n")); err != nil {
		return nil // the client is gone; nothing more can be said to it
	}
	p.Limit = backend.MaxStreamReadLimit
	beat := time.NewTicker(sseHeartbeat)
	defer beat.Stop()
	batch := unencoded(page.Frames)
	for {
		if err := out.frames(batch); err != nil {
			return nil
		}
		if n := len(batch); n > 0 {
			p.After = batch[n-1].frame.ID
		}
		if page.Closed {
			closed := wire.StreamClosed{LastFrameID: max(page.LastFrameID, p.After), ClosedAtMs: page.ClosedAtMs, ClosedReason: page.ClosedReason}
			_ = out.write(sseEvent("", "closed", closed))
			return nil
		}
		if len(batch) == p.Limit {
			page, _ = s.readOrEmpty(r.Context(), p)
			batch = unencoded(page.Frames)
			continue
		}
		if batch, page, err = s.followOnce(r.Context(), f, p, beat.C, out); err != nil {
			return nil
		}
	}
}

// followOnce waits for the feed's next frames or close after p.After,
// writing heartbeats meanwhile; a follower behind the feed reads the
// store.
func (s *Server) followOnce(ctx context.Context, f *feed, p backend.ReadStreamParams, beat <-chan time.Time, out *sseWriter) ([]feedFrame, backend.StreamPage, error) {
	for {
		frames, closed, behind, changed := f.next(p.After, p.Limit)
		switch {
		case behind:
			page, err := s.readOrEmpty(ctx, p)
			return unencoded(page.Frames), page, err
		case len(frames) > 0:
			return frames, backend.StreamPage{}, nil
		case closed != nil:
			return nil, backend.StreamPage{Closed: true, ClosedAtMs: closed.ClosedAtMs, ClosedReason: closed.ClosedReason,
				LastFrameID: closed.LastFrameID}, nil
		}
		select {
		case <-changed:
		case <-beat:
			if err := out.write([]byte(": ping\n\n")); err != nil {
				return nil, backend.StreamPage{}, err
			}
		case <-s.closing:
			return nil, backend.StreamPage{}, context.Canceled
		case <-ctx.Done():
			return nil, backend.StreamPage{}, ctx.Err()
		}
	}
}

// readOrEmpty reads a page; a failed read (the store briefly away) is an
// empty page, and the follower waits on the feed again.
func (s *Server) readOrEmpty(ctx context.Context, p backend.ReadStreamParams) (backend.StreamPage, error) {
	page, err := s.b.ReadStream(ctx, p)
	if err != nil {
		s.log.DebugContext(ctx, "stream read failed", "execution_id", p.ExecutionID, "err", err)
		select { // do not spin on a store that keeps failing
		case <-time.After(feedPoll):
		case <-ctx.Done():
		}
		return backend.StreamPage{}, ctx.Err()
	}
	return page, nil
}
