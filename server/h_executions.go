package server

import (
	"encoding/json"
	"fmt"
	"net/http"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

func (s *Server) createExecution(w http.ResponseWriter, r *http.Request) error {
	var req wire.CreateExecutionRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	p, err := createParams(req)
	if err != nil {
		return err
	}
	res, err := s.b.CreateExecution(r.Context(), p)
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if res.Duplicate {
		status = http.StatusOK
	}
	s.writeJSON(w, r, status, wire.CreateExecutionResponse{
		ExecutionID: res.ExecutionID, PublicState: res.PublicState, Duplicate: res.Duplicate})
	return nil
}

// createParams validates the wire form; the backend validates the rest.
func createParams(req wire.CreateExecutionRequest) (backend.CreateExecutionParams, error) {
	p := backend.CreateExecutionParams{
		Namespace: req.Namespace, Lane: req.Lane, Kind: req.Kind, Priority: req.Priority,
		RequiredCapabilities: req.RequiredCapabilities, IdempotencyKey: req.IdempotencyKey,
		DelayUntil: ff.TimeFromMs(req.DelayUntilMs), DeadlineAt: ff.TimeFromMs(req.DeadlineAtMs), Tags: req.Tags,
	}
	if req.ExecutionID != "" {
		id, err := ff.ParseExecutionID(req.ExecutionID)
		if err != nil {
			return p, err
		}
		p.ExecutionID = id
	}
	input, err := wire.DecodePayload("input", req.Input, req.InputBase64)
	if err != nil {
		return p, err
	}
	p.Input = input
	policy, err := parsePolicy(req.Policy)
	if err != nil {
		return p, err
	}
	p.Policy = policy
	p.FlowID, p.Join = req.FlowID, req.Join
	if p.DependsOn, err = parseExecutionIDs("depends_on", req.DependsOn); err != nil {
		return p, err
	}
	if p.FlowID == "" && (len(p.DependsOn) > 0 || p.Join != nil) {
		return p, ff.Validation(ff.ErrInvalidInput, "depends_on and join need flow_id")
	}
	return p, nil
}

// parseExecutionIDs parses a list of execution ids, naming field.
func parseExecutionIDs(field string, strs []string) ([]ff.ExecutionID, error) {
	if len(strs) > ff.MaxFlowRequestEdges {
		return nil, ff.Validation(ff.ErrPayloadTooLarge, "%s: %d ids, at most %d", field, len(strs), ff.MaxFlowRequestEdges)
	}
	var out []ff.ExecutionID
	for _, s := range strs {
		id, err := ff.ParseExecutionID(s)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", field, err)
		}
		out = append(out, id)
	}
	return out, nil
}

func (s *Server) describeExecution(w http.ResponseWriter, r *http.Request) error {
	id, err := pathExecutionID(r)
	if err != nil {
		return err
	}
	snap, err := s.b.DescribeExecution(r.Context(), backend.DescribeExecutionParams{ExecutionID: id})
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, wire.ExecutionSnapshotOf(snap))
	return nil
}

func (s *Server) readExecutionState(w http.ResponseWriter, r *http.Request) error {
	id, err := pathExecutionID(r)
	if err != nil {
		return err
	}
	st, err := s.b.ReadExecutionState(r.Context(), backend.ReadExecutionStateParams{ExecutionID: id})
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, st)
	return nil
}

// getExecutionResult writes the stored bytes unchanged: as
// application/json when they are JSON, as octet-stream otherwise, and 204
// for an empty result.
func (s *Server) getExecutionResult(w http.ResponseWriter, r *http.Request) error {
	id, err := pathExecutionID(r)
	if err != nil {
		return err
	}
	res, err := s.b.GetExecutionResult(r.Context(), backend.GetExecutionResultParams{ExecutionID: id})
	if err != nil {
		return err
	}
	if len(res) == 0 {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	ct := "application/octet-stream"
	if json.Valid(res) {
		ct = "application/json"
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(res)
	return nil
}

func (s *Server) listAttempts(w http.ResponseWriter, r *http.Request) error {
	id, err := pathExecutionID(r)
	if err != nil {
		return err
	}
	atts, err := s.b.ListAttempts(r.Context(), backend.ListAttemptsParams{ExecutionID: id})
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, wire.AttemptListOf(atts))
	return nil
}

func (s *Server) cancelExecution(w http.ResponseWriter, r *http.Request) error {
	id, err := pathExecutionID(r)
	if err != nil {
		return err
	}
	var req wire.CancelExecutionRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	st, err := s.b.CancelExecution(r.Context(), backend.CancelExecutionParams{
		ExecutionID: id, Reason: req.Reason, Source: req.Source})
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, wire.CancelExecutionResponse{ExecutionID: id, PublicState: st})
	return nil
}

func (s *Server) listExecutions(w http.ResponseWriter, r *http.Request) error {
	q, err := query(r)
	if err != nil {
		return err
	}
	p := backend.ListExecutionsParams{Lane: q.Get("lane"), PublicState: ff.PublicState(q.Get("public_state")),
		Kind: q.Get("kind"), FlowID: q.Get("flow_id"), Cursor: q.Get("cursor")}
	if p.Tag, err = backend.ParseTagFilter(q.Get("tag")); err != nil {
		return err
	}
	if v, set, err := queryInt(q, "partition", 32); err != nil {
		return err
	} else if set {
		if v < 0 || v > 0xFFFF {
			return ff.Validation(ff.ErrInvalidInput, "query partition=%d: outside [0, 65535]", v)
		}
		part := uint16(v)
		p.Partition = &part
	}
	limit, err := queryLimit(q)
	if err != nil {
		return err
	}
	p.Limit = limit
	if err := p.Normalize(); err != nil {
		return err
	}
	page, err := s.b.ListExecutions(r.Context(), p)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, wire.ExecutionPageOf(page))
	return nil
}
