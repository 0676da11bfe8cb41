package server

import (
	"net/http"
	"strconv"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

// upcomingTicks is how many future ticks GET of one schedule shows.
const upcomingTicks = 5

var namespaceParam = param{"namespace", "string", "the schedule's namespace; absent is the default namespace",
	map[string]any{"maxLength": ff.MaxIdentifierBytes, "pattern": namePattern}}

// scheduleRoutes are the routes of periodic schedules (issue 15).
func (s *Server) scheduleRoutes() []*route {
	lim := s.limits
	return []*route{
		{method: "POST", path: "/v1/schedules", op: "createSchedule", limit: lim.Create,
			summary: "Create a periodic schedule; the same id and definition again answers 200 with the stored one, another definition 409 schedule_conflict.",
			body:    wire.ScheduleRequest{},
			responses: []response{ok(201, "created", wire.Schedule{}),
				ok(200, "the same definition exists (outcome: existing)", wire.Schedule{})},
			handle: (*Server).createSchedule},
		{method: "PUT", path: "/v1/schedules/{schedule_id}", op: "putSchedule", limit: lim.Create,
			summary: "Create or replace a schedule: a new definition replaces the stored one, keeping its pause and counters.",
			body:    wire.ScheduleRequest{},
			responses: []response{ok(201, "created", wire.Schedule{}),
				ok(200, "replaced, or unchanged (outcome: replaced | existing)", wire.Schedule{})},
			handle: (*Server).putSchedule},
		{method: "GET", path: "/v1/schedules", op: "listSchedules",
			summary: "List a namespace's schedules by id, cursor-paginated.",
			query: []param{namespaceParam,
				{"paused", "boolean", "only paused (true) or running (false) schedules", nil},
				{"cursor", "string", "exclusive schedule id to start after", map[string]any{"maxLength": ff.MaxScheduleIDBytes, "pattern": identPattern}},
				{"limit", "integer", "page size", map[string]any{"minimum": 1, "maximum": 1000, "default": 50}}},
			responses: []response{ok(200, "a page; next_cursor is absent on the last page", wire.SchedulePage{})},
			handle:    (*Server).listSchedules},
		{method: "GET", path: "/v1/schedules/{schedule_id}", op: "getSchedule",
			summary:   "A schedule with its next ticks (upcoming_ms).",
			query:     []param{namespaceParam},
			responses: []response{ok(200, "the schedule", wire.Schedule{})},
			handle:    (*Server).getSchedule},
		{method: "POST", path: "/v1/schedules/{schedule_id}/pause", op: "pauseSchedule", limit: lim.Control,
			summary: "Stop a schedule's ticks; idempotent.",
			body:    wire.PauseScheduleRequest{}, bodyOptional: true, query: []param{namespaceParam},
			responses: []response{ok(200, "the schedule", wire.Schedule{})},
			handle:    (*Server).pauseSchedule},
		{method: "POST", path: "/v1/schedules/{schedule_id}/resume", op: "resumeSchedule",
			summary:   "Restart a schedule's ticks from now (ticks during the pause never fire); idempotent.",
			query:     []param{namespaceParam},
			responses: []response{ok(200, "the schedule", wire.Schedule{})},
			handle:    (*Server).resumeSchedule},
		{method: "DELETE", path: "/v1/schedules/{schedule_id}", op: "deleteSchedule",
			summary:   "Delete a schedule; its executions stay.",
			query:     []param{namespaceParam},
			responses: []response{{status: 204, desc: "deleted"}},
			handle:    (*Server).deleteSchedule},
	}
}

func (s *Server) createSchedule(w http.ResponseWriter, r *http.Request) error {
	var req wire.ScheduleRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if req.ScheduleID == "" {
		return ff.Validation(ff.ErrInvalidInput, "schedule_id: required")
	}
	return s.storeSchedule(w, r, req, false)
}

func (s *Server) putSchedule(w http.ResponseWriter, r *http.Request) error {
	var req wire.ScheduleRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	id := r.PathValue("schedule_id")
	if req.ScheduleID != "" && req.ScheduleID != id {
		return ff.Validation(ff.ErrInvalidInput, "schedule_id %q differs from the path's %q", wire.Clip(req.ScheduleID), wire.Clip(id))
	}
	req.ScheduleID = id
	return s.storeSchedule(w, r, req, true)
}

// storeSchedule creates (or, with replace, replaces) the schedule of req
// and answers 201 for a new one, 200 otherwise.
func (s *Server) storeSchedule(w http.ResponseWriter, r *http.Request, req wire.ScheduleRequest, replace bool) error {
	p, err := scheduleParams(req)
	if err != nil {
		return err
	}
	p.Replace = replace
	res, err := s.b.CreateSchedule(r.Context(), p)
	if err != nil {
		return err
	}
	out := wire.ScheduleOf(res.Schedule)
	out.Outcome = string(res.Outcome)
	status := http.StatusOK
	if res.Outcome == backend.ScheduleCreated {
		status = http.StatusCreated
	}
	s.writeJSON(w, r, status, out)
	return nil
}

// scheduleParams validates the wire form; the backend validates the
// rest.
func scheduleParams(req wire.ScheduleRequest) (backend.CreateScheduleParams, error) {
	x := req.Execution
	input, err := wire.DecodePayload("execution.input", x.Input, x.InputBase64)
	if err != nil {
		return backend.CreateScheduleParams{}, err
	}
	policy, err := parsePolicy(x.Policy)
	if err != nil {
		return backend.CreateScheduleParams{}, err
	}
	p := backend.CreateScheduleParams{ID: req.ScheduleID, Namespace: req.Namespace, Spec: req.Spec(), Paused: req.Paused,
		Execution: backend.CreateExecutionParams{Lane: x.Lane, Kind: x.Kind, Input: input, Priority: x.Priority,
			RequiredCapabilities: x.RequiredCapabilities, Tags: x.Tags, Policy: policy}}
	if req.CatchUp != nil {
		p.CatchUp = ff.CatchUp(*req.CatchUp)
	}
	return p, nil
}

// scheduleRef reads the schedule a {schedule_id} route names.
func scheduleRef(r *http.Request) (ns, id string, err error) {
	q, err := query(r)
	if err != nil {
		return "", "", err
	}
	ns, id = q.Get("namespace"), r.PathValue("schedule_id")
	return ns, id, backend.ValidateScheduleRef(ns, id)
}

func (s *Server) getSchedule(w http.ResponseWriter, r *http.Request) error {
	ns, id, err := scheduleRef(r)
	if err != nil {
		return err
	}
	sc, err := s.b.GetSchedule(r.Context(), backend.GetScheduleParams{Namespace: ns, ID: id})
	if err != nil {
		return err
	}
	out := wire.ScheduleOf(sc)
	if sc.NextFireAtMs > 0 && !sc.Paused {
		out.UpcomingMs = append([]int64{sc.NextFireAtMs}, sc.Spec.Upcoming(sc.NextFireAtMs, upcomingTicks-1)...)
	}
	s.writeJSON(w, r, http.StatusOK, out)
	return nil
}

func (s *Server) listSchedules(w http.ResponseWriter, r *http.Request) error {
	q, err := query(r)
	if err != nil {
		return err
	}
	limit, err := queryLimit(q)
	if err != nil {
		return err
	}
	p := backend.ListSchedulesParams{Namespace: q.Get("namespace"), Cursor: q.Get("cursor"), Limit: limit}
	if v := q.Get("paused"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return ff.Validation(ff.ErrInvalidInput, "query paused=%q: want true or false", wire.Clip(v))
		}
		p.Paused = &b
	}
	page, err := s.b.ListSchedules(r.Context(), p)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, wire.SchedulePageOf(page.Schedules, page.NextCursor))
	return nil
}

func (s *Server) pauseSchedule(w http.ResponseWriter, r *http.Request) error {
	ns, id, err := scheduleRef(r)
	if err != nil {
		return err
	}
	var req wire.PauseScheduleRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	sc, err := s.b.PauseSchedule(r.Context(), backend.PauseScheduleParams{Namespace: ns, ID: id, Reason: req.Reason})
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, wire.ScheduleOf(sc))
	return nil
}

func (s *Server) resumeSchedule(w http.ResponseWriter, r *http.Request) error {
	ns, id, err := scheduleRef(r)
	if err != nil {
		return err
	}
	sc, err := s.b.ResumeSchedule(r.Context(), backend.ResumeScheduleParams{Namespace: ns, ID: id})
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, wire.ScheduleOf(sc))
	return nil
}

func (s *Server) deleteSchedule(w http.ResponseWriter, r *http.Request) error {
	ns, id, err := scheduleRef(r)
	if err != nil {
		return err
	}
	if err := s.b.DeleteSchedule(r.Context(), backend.DeleteScheduleParams{Namespace: ns, ID: id}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
