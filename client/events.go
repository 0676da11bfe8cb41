package client

import (
	"context"
	"errors"
	"iter"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

// ReadEvents reads one page of events (GET /v1/events) without waiting.
func (c *Client) ReadEvents(ctx context.Context, p backend.ReadEventsParams) (backend.EventPage, error) {
	return c.ReadEventsWait(ctx, p, 0)
}

// ReadEventsWait reads one page of events, long-polling up to wait (at
// most 30 s) for one to pass the filters.
func (c *Client) ReadEventsWait(ctx context.Context, p backend.ReadEventsParams, wait time.Duration) (backend.EventPage, error) {
	q := url.Values{}
	if p.After != "" {
		q.Set("after", string(p.After))
	}
	if len(p.Types) > 0 {
		q.Set("types", strings.Join(typeNames(p.Types), ","))
	}
	if p.Lane != "" {
		q.Set("lane", p.Lane)
	}
	if p.Limit > 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	if wait > 0 {
		q.Set("wait_ms", strconv.FormatInt(min(wait, wire.MaxEventsWaitMs*time.Millisecond).Milliseconds(), 10))
	}
	var out wire.EventPage
	if _, err := c.do(ctx, call{method: http.MethodGet, path: "/v1/events", query: q}, &out); err != nil {
		return backend.EventPage{}, err
	}
	page := backend.EventPage{Events: make([]backend.EventRecord, len(out.Events)), Next: backend.EventCursor(out.NextCursor)}
	for i, ev := range out.Events {
		r, err := ev.Record()
		if err != nil {
			return backend.EventPage{}, ff.Transport("GET /v1/events: decode event", err, false)
		}
		page.Events[i] = r
	}
	return page, nil
}

func typeNames(ts []ff.EventType) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = string(t)
	}
	return out
}

// FollowOptions tune Events.
type FollowOptions struct {
	// Wait is each long-poll's wait (default and at most 30 s).
	Wait time.Duration
	// Backoff is the first pause after a transport error, doubled up to
	// 30 s while errors go on (default 200 ms).
	Backoff time.Duration
}

// Events follows the outbox from p.After (EventCursorLatest: only new
// events; "": the oldest retained), long-polling, and yields every event
// that passes p's filters exactly once, in commit order, until ctx ends
// or the loop breaks. A transport error (the server restarting, the
// network) is retried with backoff from the last cursor, so the walk
// goes on where it stopped; any other error is yielded and ends it. To
// resume later, keep the Cursor of the last event processed and start
// again from it.
func (c *Client) Events(ctx context.Context, p backend.ReadEventsParams, o FollowOptions) iter.Seq2[backend.EventRecord, error] {
	if o.Wait <= 0 || o.Wait > wire.MaxEventsWaitMs*time.Millisecond {
		o.Wait = wire.MaxEventsWaitMs * time.Millisecond
	}
	if o.Backoff <= 0 {
		o.Backoff = 200 * time.Millisecond
	}
	return func(yield func(backend.EventRecord, error) bool) {
		backoff := o.Backoff
		for ctx.Err() == nil {
			page, err := c.ReadEventsWait(ctx, p, o.Wait)
			if err != nil {
				if ctx.Err() != nil || !retryable(err) {
					if ctx.Err() == nil {
						yield(backend.EventRecord{}, err)
					}
					return
				}
				if !sleepCtx(ctx, backoff) {
					return
				}
				backoff = min(backoff*2, 30*time.Second)
				continue
			}
			backoff = o.Backoff
			for _, ev := range page.Events {
				if !yield(ev, nil) {
					return
				}
			}
			p.After = page.Next
		}
	}
}

// retryable reports whether a follower should read again after err.
func retryable(err error) bool {
	var fe *ff.Error
	if !errors.As(err, &fe) {
		return false
	}
	return fe.Retryable() || fe.Class == ff.ClassTransport || fe.Class == ff.ClassUnavailable
}

// sleepCtx waits d, or less when ctx ends (false then).
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// ChangePriority sets an execution's priority (PUT .../priority).
func (c *Client) ChangePriority(ctx context.Context, p backend.ChangePriorityParams) error {
	prio := p.Priority
	_, err := c.do(ctx, call{method: http.MethodPut, path: executionPath(p.ExecutionID, "/priority"),
		in: wire.PriorityRequest{Priority: &prio, OperatorRequest: wire.OperatorOf(p.Who)}}, nil)
	return err
}

// ReplayExecution replays a terminal execution (POST .../replay).
func (c *Client) ReplayExecution(ctx context.Context, p backend.ReplayExecutionParams) (ff.PublicState, error) {
	var out wire.ReplayResponse
	_, err := c.do(ctx, call{method: http.MethodPost, path: executionPath(p.ExecutionID, "/replay"),
		in: wire.OperatorOf(p.Who)}, &out)
	return out.PublicState, err
}

// RevokeLease revokes an execution's active lease (POST .../revoke-lease).
func (c *Client) RevokeLease(ctx context.Context, p backend.RevokeLeaseParams) (backend.RevokeLeaseResult, error) {
	var out wire.RevokeLeaseResponse
	_, err := c.do(ctx, call{method: http.MethodPost, path: executionPath(p.ExecutionID, "/revoke-lease"),
		in: wire.OperatorOf(p.Who)}, &out)
	return backend.RevokeLeaseResult{Revoked: out.Revoked, LeaseEpoch: out.LeaseEpoch}, err
}

// SetLanePaused pauses or resumes a lane (POST /v1/lanes/{lane}/pause or
// resume).
func (c *Client) SetLanePaused(ctx context.Context, p backend.SetLanePausedParams) (backend.LaneState, error) {
	action := "/resume"
	if p.Paused {
		action = "/pause"
	}
	var out wire.LaneState
	_, err := c.do(ctx, call{method: http.MethodPost, path: lanePath(p.Lane, action),
		in: wire.OperatorOf(p.Who)}, &out)
	return laneStateOf(out), err
}

// LaneStates lists the paused lanes (GET /v1/lanes/paused), only those
// among p.Lanes when set.
func (c *Client) LaneStates(ctx context.Context, p backend.LaneStatesParams) ([]backend.LaneState, error) {
	var out wire.LaneStateList
	if _, err := c.do(ctx, call{method: http.MethodGet, path: "/v1/lanes/paused"}, &out); err != nil {
		return nil, err
	}
	states := []backend.LaneState{}
	for _, s := range out.Lanes {
		if len(p.Lanes) == 0 || slices.Contains(p.Lanes, s.Lane) {
			states = append(states, laneStateOf(s))
		}
	}
	return states, nil
}

// Bulk runs one bounded step of a bulk replay or cancel
// (POST /v1/lanes/{lane}/bulk-replay or bulk-cancel); resume with
// NextCursor until it is empty.
func (c *Client) Bulk(ctx context.Context, p backend.BulkParams) (backend.BulkResult, error) {
	var out wire.BulkResponse
	_, err := c.do(ctx, call{method: http.MethodPost, path: lanePath(p.Lane, "/bulk-"+string(p.Action)),
		in: wire.BulkRequest{PublicState: p.PublicState, Cursor: p.Cursor, Limit: p.Limit, OperatorRequest: wire.OperatorOf(p.Who)}}, &out)
	if err != nil {
		return backend.BulkResult{}, err
	}
	res := backend.BulkResult{NextCursor: out.NextCursor, Items: make([]backend.BulkItem, len(out.Items))}
	for i, it := range out.Items {
		res.Items[i] = backend.BulkItem{ExecutionID: it.ExecutionID, PublicState: it.PublicState}
		if it.Error != nil {
			res.Items[i].Err = it.Error.ToError(http.StatusConflict)
		}
	}
	return res, nil
}

func lanePath(lane, suffix string) string { return "/v1/lanes/" + url.PathEscape(lane) + suffix }

func laneStateOf(s wire.LaneState) backend.LaneState {
	return backend.LaneState{Lane: s.Lane, Paused: s.Paused, PausedAtMs: s.PausedAtMs, Source: s.Source, Reason: s.Reason}
}
