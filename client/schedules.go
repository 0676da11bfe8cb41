package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

// The schedule methods mirror backend.Schedules over /v1/schedules.
// FireDueSchedules is the reconcilers' and has no route. A schedule read
// over HTTP has no SpecHash (the API does not carry it).

// CreateSchedule stores a schedule: POST /v1/schedules, or PUT
// /v1/schedules/{id} when p.Replace. Declared is a server-side notion and
// is not sent.
func (c *Client) CreateSchedule(ctx context.Context, p backend.CreateScheduleParams) (backend.CreateScheduleResult, error) {
	x := p.Execution
	ex := wire.ScheduleExecution{Kind: x.Kind, Lane: x.Lane, Priority: x.Priority, RequiredCapabilities: x.RequiredCapabilities, Tags: x.Tags}
	ex.Input, ex.InputBase64 = wire.EncodePayload(x.Input)
	if x.Policy != nil {
		raw, err := json.Marshal(x.Policy)
		if err != nil {
			return backend.CreateScheduleResult{}, ff.Validation(ff.ErrInvalidPolicy, "policy: %v", err)
		}
		ex.Policy = raw
	}
	req := wire.ScheduleRequestOf(p.ID, p.Namespace, p.Spec, p.CatchUp, ex, p.Paused)
	cl := call{method: http.MethodPost, path: "/v1/schedules", in: req}
	if p.Replace {
		cl = call{method: http.MethodPut, path: schedulePath(p.ID, ""), in: req}
	}
	var out wire.Schedule
	if _, err := c.do(ctx, cl, &out); err != nil {
		return backend.CreateScheduleResult{}, err
	}
	s, err := out.ToDomain()
	if err != nil {
		return backend.CreateScheduleResult{}, ff.Transport(cl.method+" "+cl.path+": decode response", err, false)
	}
	return backend.CreateScheduleResult{Schedule: s, Outcome: backend.ScheduleOutcome(out.Outcome)}, nil
}

// GetSchedule returns a schedule (GET /v1/schedules/{id}).
func (c *Client) GetSchedule(ctx context.Context, p backend.GetScheduleParams) (ff.Schedule, error) {
	s, _, err := c.GetScheduleWithUpcoming(ctx, p)
	return s, err
}

// GetScheduleWithUpcoming returns a schedule and its next ticks (Unix ms),
// which the server computes from the spec.
func (c *Client) GetScheduleWithUpcoming(ctx context.Context, p backend.GetScheduleParams) (ff.Schedule, []int64, error) {
	return c.scheduleCall(ctx, call{method: http.MethodGet, path: schedulePath(p.ID, ""), query: nsQuery(p.Namespace)})
}

// ListSchedules pages a namespace's schedules (GET /v1/schedules).
func (c *Client) ListSchedules(ctx context.Context, p backend.ListSchedulesParams) (backend.SchedulePage, error) {
	q := nsQuery(p.Namespace)
	if q == nil {
		q = url.Values{}
	}
	if p.Cursor != "" {
		q.Set("cursor", p.Cursor)
	}
	if p.Limit > 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	if p.Paused != nil {
		q.Set("paused", strconv.FormatBool(*p.Paused))
	}
	var out wire.SchedulePage
	if _, err := c.do(ctx, call{method: http.MethodGet, path: "/v1/schedules", query: q}, &out); err != nil {
		return backend.SchedulePage{}, err
	}
	page := backend.SchedulePage{NextCursor: out.NextCursor, Schedules: make([]ff.Schedule, len(out.Schedules))}
	for i, w := range out.Schedules {
		s, err := w.ToDomain()
		if err != nil {
			return backend.SchedulePage{}, ff.Transport("GET /v1/schedules: decode response", err, false)
		}
		page.Schedules[i] = s
	}
	return page, nil
}

// PauseSchedule stops a schedule's ticks (POST .../pause); idempotent.
func (c *Client) PauseSchedule(ctx context.Context, p backend.PauseScheduleParams) (ff.Schedule, error) {
	var body any
	if p.Reason != "" {
		body = wire.PauseScheduleRequest{Reason: p.Reason}
	}
	s, _, err := c.scheduleCall(ctx, call{method: http.MethodPost, path: schedulePath(p.ID, "/pause"), query: nsQuery(p.Namespace), in: body})
	return s, err
}

// ResumeSchedule restarts a schedule's ticks from now (POST .../resume).
func (c *Client) ResumeSchedule(ctx context.Context, p backend.ResumeScheduleParams) (ff.Schedule, error) {
	s, _, err := c.scheduleCall(ctx, call{method: http.MethodPost, path: schedulePath(p.ID, "/resume"), query: nsQuery(p.Namespace)})
	return s, err
}

// DeleteSchedule deletes a schedule (DELETE /v1/schedules/{id}).
func (c *Client) DeleteSchedule(ctx context.Context, p backend.DeleteScheduleParams) error {
	_, err := c.do(ctx, call{method: http.MethodDelete, path: schedulePath(p.ID, ""), query: nsQuery(p.Namespace)}, nil)
	return err
}

// scheduleCall sends cl and decodes the schedule it answers.
func (c *Client) scheduleCall(ctx context.Context, cl call) (ff.Schedule, []int64, error) {
	var out wire.Schedule
	if _, err := c.do(ctx, cl, &out); err != nil {
		return ff.Schedule{}, nil, err
	}
	s, err := out.ToDomain()
	if err != nil {
		return ff.Schedule{}, nil, ff.Transport(cl.method+" "+cl.path+": decode response", err, false)
	}
	return s, out.UpcomingMs, nil
}

func schedulePath(id, suffix string) string {
	return "/v1/schedules/" + url.PathEscape(id) + suffix
}

func nsQuery(ns string) url.Values {
	if ns == "" {
		return nil
	}
	return url.Values{"namespace": {ns}}
}
