package server

import (
	"context"
	"net/http"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

// operatorRoutes are the operator controls (issue 14 item 5). Each
// action writes an operator event with its source and reason.
func (s *Server) operatorRoutes() []*route {
	lim := s.limits.Control
	return []*route{
		{method: "PUT", path: "/v1/executions/{id}/priority", op: "changePriority", limit: lim,
			summary:   "Set the priority of a non-terminal execution; it moves in the claim order at once. Terminal: 409 execution_not_eligible.",
			body:      wire.PriorityRequest{},
			responses: []response{ok(200, "the new priority", wire.PriorityResponse{})},
			handle:    (*Server).changePriority},
		{method: "POST", path: "/v1/executions/{id}/replay", op: "replayExecution", limit: lim,
			summary: "Make a terminal execution claimable again; the next claim is an attempt of type replay and its end overwrites the result. " +
				"Not terminal: 409 execution_not_terminal; over max_replay_count: 409 max_replays_exhausted.",
			body: wire.OperatorRequest{}, bodyOptional: true,
			responses: []response{ok(200, "the state after the replay", wire.ReplayResponse{})},
			handle:    (*Server).replayExecution},
		{method: "POST", path: "/v1/executions/{id}/revoke-lease", op: "revokeLease", limit: lim,
			summary: "Revoke the active lease: the holder's next fenced write fails with lease_revoked and the next claim reclaims the execution. " +
				"revoked is false when there is no active lease.",
			body: wire.OperatorRequest{}, bodyOptional: true,
			responses: []response{ok(200, "whether a lease was revoked", wire.RevokeLeaseResponse{})},
			handle:    (*Server).revokeLease},
		{method: "POST", path: "/v1/lanes/{lane}/pause", op: "pauseLane", limit: lim,
			summary: "Pause a lane: claims hand out nothing from it (its executions stay waiting, blocked by lane state); active leases run on. Idempotent.",
			body:    wire.OperatorRequest{}, bodyOptional: true,
			responses: []response{ok(200, "the lane's state", wire.LaneState{})},
			handle:    (*Server).pauseLane},
		{method: "POST", path: "/v1/lanes/{lane}/resume", op: "resumeLane", limit: lim,
			summary: "Resume a paused lane; its waiting executions are claimable at once. Idempotent.",
			body:    wire.OperatorRequest{}, bodyOptional: true,
			responses: []response{ok(200, "the lane's state", wire.LaneState{})},
			handle:    (*Server).resumeLane},
		{method: "GET", path: "/v1/lanes/paused", op: "listPausedLanes",
			summary:   "The paused lanes.",
			responses: []response{ok(200, "paused lanes, by name", wire.LaneStateList{})},
			handle:    (*Server).listPausedLanes},
		{method: "POST", path: "/v1/lanes/{lane}/bulk-replay", op: "bulkReplay", limit: lim,
			summary: "Replay up to limit executions of the lane in a terminal public state, in id order after cursor; " +
				"resume with next_cursor. Each execution is its own transaction; refusals are reported per item.",
			body:      wire.BulkRequest{},
			responses: []response{ok(200, "one bounded step; next_cursor is absent when done", wire.BulkResponse{})},
			handle:    (*Server).bulkReplay},
		{method: "POST", path: "/v1/lanes/{lane}/bulk-cancel", op: "bulkCancel", limit: lim,
			summary: "Cancel up to limit executions of the lane in a non-terminal public state, in id order after cursor; " +
				"resume with next_cursor. Each execution is its own transaction; refusals are reported per item.",
			body:      wire.BulkRequest{},
			responses: []response{ok(200, "one bounded step; next_cursor is absent when done", wire.BulkResponse{})},
			handle:    (*Server).bulkCancel},
	}
}

func (s *Server) changePriority(w http.ResponseWriter, r *http.Request) error {
	id, err := pathExecutionID(r)
	if err != nil {
		return err
	}
	var req wire.PriorityRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if req.Priority == nil {
		return ff.Validation(ff.ErrInvalidInput, "priority: required")
	}
	err = s.b.ChangePriority(r.Context(), backend.ChangePriorityParams{ExecutionID: id, Priority: *req.Priority,
		Who: req.Actor()})
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, wire.PriorityResponse{ExecutionID: id, Priority: *req.Priority})
	return nil
}

func (s *Server) replayExecution(w http.ResponseWriter, r *http.Request) error {
	return s.operatorOn(w, r, func(ctx context.Context, id ff.ExecutionID, who ff.Actor) (any, error) {
		st, err := s.b.ReplayExecution(ctx, backend.ReplayExecutionParams{ExecutionID: id, Who: who})
		return wire.ReplayResponse{ExecutionID: id, PublicState: st}, err
	})
}

func (s *Server) revokeLease(w http.ResponseWriter, r *http.Request) error {
	return s.operatorOn(w, r, func(ctx context.Context, id ff.ExecutionID, who ff.Actor) (any, error) {
		res, err := s.b.RevokeLease(ctx, backend.RevokeLeaseParams{ExecutionID: id, Who: who})
		return wire.RevokeLeaseResponse{Revoked: res.Revoked, LeaseEpoch: res.LeaseEpoch}, err
	})
}

// operatorOn serves an operator action on the execution of the path: it
// decodes the optional wire.OperatorRequest, runs call with who did it,
// and answers 200 with call's response unless call failed.
func (s *Server) operatorOn(w http.ResponseWriter, r *http.Request, call func(ctx context.Context, id ff.ExecutionID, who ff.Actor) (any, error)) error {
	id, err := pathExecutionID(r)
	if err != nil {
		return err
	}
	var req wire.OperatorRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	resp, err := call(r.Context(), id, req.Actor())
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, resp)
	return nil
}

func (s *Server) pauseLane(w http.ResponseWriter, r *http.Request) error {
	return s.setLanePaused(w, r, true)
}
func (s *Server) resumeLane(w http.ResponseWriter, r *http.Request) error {
	return s.setLanePaused(w, r, false)
}

func (s *Server) setLanePaused(w http.ResponseWriter, r *http.Request, paused bool) error {
	var req wire.OperatorRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	st, err := s.b.SetLanePaused(r.Context(), backend.SetLanePausedParams{Lane: r.PathValue("lane"), Paused: paused, Who: req.Actor()})
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, wire.LaneStateOf(st))
	return nil
}

func (s *Server) listPausedLanes(w http.ResponseWriter, r *http.Request) error {
	states, err := s.b.LaneStates(r.Context(), backend.LaneStatesParams{})
	if err != nil {
		return err
	}
	out := wire.LaneStateList{Lanes: make([]wire.LaneState, len(states))}
	for i, st := range states {
		out.Lanes[i] = wire.LaneStateOf(st)
	}
	s.writeJSON(w, r, http.StatusOK, out)
	return nil
}

func (s *Server) bulkReplay(w http.ResponseWriter, r *http.Request) error {
	return s.bulk(w, r, backend.BulkReplay)
}

func (s *Server) bulkCancel(w http.ResponseWriter, r *http.Request) error {
	return s.bulk(w, r, backend.BulkCancel)
}

func (s *Server) bulk(w http.ResponseWriter, r *http.Request, action backend.BulkAction) error {
	var req wire.BulkRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	res, err := backend.RunBulk(r.Context(), s.b, backend.BulkParams{Lane: r.PathValue("lane"), PublicState: req.PublicState,
		Action: action, Cursor: req.Cursor, Limit: req.Limit, Who: req.Actor()})
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, wire.BulkResponseOf(res))
	return nil
}
