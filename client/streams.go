package client

import (
	"context"
	"errors"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"time"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

// The stream methods mirror backend.Streams over /v1/tasks/frames,
// /v1/tasks/summary and /v1/executions/{id}/attempts/{n}/stream.

// AppendFrames appends frames under the lease (POST /v1/tasks/frames).
func (c *Client) AppendFrames(ctx context.Context, p backend.AppendFramesParams) (backend.AppendFramesResult, error) {
	req := wire.AppendFramesRequest{Handle: p.Handle.String(), Frames: make([]wire.FrameIn, len(p.Frames))}
	for i, f := range p.Frames {
		req.Frames[i] = wire.FrameInOf(f)
	}
	var out wire.AppendFramesResponse
	if _, err := c.do(ctx, call{method: http.MethodPost, path: "/v1/tasks/frames", in: req}, &out); err != nil {
		return backend.AppendFramesResult{}, err
	}
	return backend.AppendFramesResult{LastFrameID: out.LastFrameID, FrameCount: out.FrameCount}, nil
}

// PatchSummary applies a JSON Merge Patch to the attempt's summary under
// the lease (POST /v1/tasks/summary).
func (c *Client) PatchSummary(ctx context.Context, p backend.PatchSummaryParams) (backend.Summary, error) {
	var out wire.PatchSummaryResponse
	req := wire.PatchSummaryRequest{Handle: p.Handle.String(), Patch: p.Patch}
	if _, err := c.do(ctx, call{method: http.MethodPost, path: "/v1/tasks/summary", in: req}, &out); err != nil {
		return backend.Summary{}, err
	}
	l := p.Handle.Lease
	return backend.Summary{ExecutionID: l.ExecutionID, AttemptIndex: l.AttemptIndex, Document: out.Summary, Version: out.Version}, nil
}

// ReadSummary returns an attempt's summary (GET
// /v1/executions/{id}/summary); Document is nil before the first patch.
func (c *Client) ReadSummary(ctx context.Context, p backend.ReadSummaryParams) (backend.Summary, error) {
	q := url.Values{}
	if p.Attempt != nil {
		q.Set("attempt", strconv.FormatUint(uint64(*p.Attempt), 10))
	}
	var out wire.AttemptSummary
	if _, err := c.do(ctx, call{method: http.MethodGet, path: executionPath(p.ExecutionID, "/summary"), query: q}, &out); err != nil {
		return backend.Summary{}, err
	}
	s := backend.Summary{ExecutionID: p.ExecutionID, AttemptIndex: out.AttemptIndex, Version: out.Version, UpdatedAtMs: out.UpdatedAtMs}
	if out.Version > 0 {
		s.Document = out.Summary
	}
	return s, nil
}

// ReadStream reads a page of frames after p.After.
func (c *Client) ReadStream(ctx context.Context, p backend.ReadStreamParams) (backend.StreamPage, error) {
	return c.ReadStreamWait(ctx, p, 0)
}

// ReadStreamWait reads a page of frames after p.After, long-polling up to
// wait (at most 30 s) for a frame or the close when there is none.
func (c *Client) ReadStreamWait(ctx context.Context, p backend.ReadStreamParams, wait time.Duration) (backend.StreamPage, error) {
	q := url.Values{}
	q.Set("after", strconv.FormatUint(p.After, 10))
	if p.Limit > 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	if wait > 0 {
		q.Set("wait_ms", strconv.FormatInt(min(wait, wire.MaxStreamWaitMs*time.Millisecond).Milliseconds(), 10))
	}
	path := executionPath(p.ExecutionID, "/attempts/"+strconv.FormatUint(uint64(p.Attempt), 10)+"/stream")
	var out wire.StreamPage
	if _, err := c.do(ctx, call{method: http.MethodGet, path: path, query: q}, &out); err != nil {
		return backend.StreamPage{}, err
	}
	page := backend.StreamPage{Frames: make([]ff.StreamFrame, len(out.Frames)), LastFrameID: out.LastFrameID}
	for i, f := range out.Frames {
		page.Frames[i] = f.StreamFrame()
	}
	if out.ClosedAtMs != nil {
		page.Closed, page.ClosedAtMs = true, *out.ClosedAtMs
		if out.ClosedReason != nil {
			page.ClosedReason = *out.ClosedReason
		}
	}
	return page, nil
}

// StreamEvent is one step of FollowStream: a frame, or (last) the close.
type StreamEvent struct {
	Frame        ff.StreamFrame
	Closed       bool
	ClosedAtMs   int64
	ClosedReason string
}

// followWait is the long-poll of FollowStream; followRetry bounds its
// backoff after a retryable failure.
const (
	followWait     = 25 * time.Second
	followRetryMin = 100 * time.Millisecond
	followRetryMax = 5 * time.Second
)

// FollowStream follows an attempt's stream from after (exclusive): it
// yields every frame in id order, then one event with Closed set when the
// attempt ended, and stops. It long-polls, and reconnects after a
// retryable failure (the server away, a dropped connection) with backoff,
// resuming after the last frame it yielded, so no frame is skipped or
// repeated. An attempt the execution has not started yet is waited for
// (polled with the same backoff, up to 5 s apart). A failure that
// retrying cannot fix (an unknown execution, bad input) or the end of ctx
// is yielded as the error and ends the iteration.
func (c *Client) FollowStream(ctx context.Context, ref backend.StreamRef, after uint64) iter.Seq2[StreamEvent, error] {
	return func(yield func(StreamEvent, error) bool) {
		backoff := followRetryMin
		for {
			page, err := c.ReadStreamWait(ctx, backend.ReadStreamParams{StreamRef: ref, After: after, Limit: backend.MaxStreamReadLimit}, followWait)
			if err != nil {
				if ctx.Err() != nil || !(ff.IsRetryable(err) || attemptNotStarted(err)) {
					yield(StreamEvent{}, errors.Join(err, ctx.Err()))
					return
				}
				if !sleepCtx(ctx, backoff) {
					yield(StreamEvent{}, ctx.Err())
					return
				}
				backoff = min(backoff*2, followRetryMax)
				continue
			}
			backoff = followRetryMin
			for _, f := range page.Frames {
				if !yield(StreamEvent{Frame: f}, nil) {
					return
				}
				after = f.ID
			}
			if page.Closed {
				yield(StreamEvent{Closed: true, ClosedAtMs: page.ClosedAtMs, ClosedReason: page.ClosedReason}, nil)
				return
			}
		}
	}
}

// attemptNotStarted reports the not_found of an attempt (the execution
// exists).
func attemptNotStarted(err error) bool {
	e, ok := ff.AsError(err)
	return ok && e.Kind == ff.ErrNotFound && e.Entity == "attempt"
}
