package server

import (
	"net/http"
	"time"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

// signalBodyLimit bounds the signal route's body: the payload cap plus
// room for the envelope. The route is public (its credential is the
// waitpoint token), so it reads no more than that.
const signalBodyLimit = ff.DefaultMaxSignalPayloadBytes + 16<<10

// waitpointRoutes are the routes of suspension, waitpoints and signals
// (DESIGN §5.1) and the operator resume.
func (s *Server) waitpointRoutes() []*route {
	lim := s.limits
	return []*route{
		{method: "POST", path: "/v1/tasks/suspend", op: "suspend", limit: lim.Control,
			summary:   "Suspend the lease holder's execution until its condition is satisfied; the handle is dead afterwards, unless already_satisfied (the lease is kept).",
			body:      wire.SuspendRequest{},
			responses: []response{ok(200, "suspended with its waitpoints and tokens, or already_satisfied", wire.SuspendResponse{})},
			handle:    (*Server).suspend},
		{method: "POST", path: "/v1/tasks/waitpoints", op: "createWaitpoint", limit: lim.Control,
			summary:   "Create a pending waitpoint under the lease; signals to it are buffered until a suspend uses it.",
			body:      wire.CreateWaitpointRequest{},
			responses: []response{ok(201, "the waitpoint and its token", wire.WaitpointToken{})},
			handle:    (*Server).createWaitpoint},
		{method: "POST", path: "/v1/executions/{id}/signal", op: "signal", limit: signalBodyLimit, public: true,
			summary:   "Deliver a signal. The waitpoint token is this route's credential: no API token is needed. A bad token is 403 invalid_token and changes nothing.",
			body:      wire.SignalRequest{},
			responses: []response{ok(200, "the signal's effect; duplicate: true for a repeated idempotency key", wire.SignalResponse{})},
			handle:    (*Server).signal},
		{method: "GET", path: "/v1/executions/{id}/waitpoints", op: "listWaitpoints",
			summary:   "The execution's pending and active waitpoints (never their tokens).",
			responses: []response{ok(200, "waitpoints", wire.WaitpointList{})},
			handle:    (*Server).listWaitpoints},
		{method: "GET", path: "/v1/executions/{id}/waitpoints/{waitpoint_id}/token", op: "getWaitpointToken",
			summary:   "Operator read of an open waitpoint's token (Cache-Control: no-store); 404 once it is closed.",
			responses: []response{ok(200, "the token", wire.TokenResponse{})},
			handle:    (*Server).getWaitpointToken},
		{method: "GET", path: "/v1/executions/{id}/signals", op: "listSignals",
			summary:   "The signals the execution received, oldest first.",
			responses: []response{ok(200, "signals", wire.SignalList{})},
			handle:    (*Server).listSignals},
		{method: "POST", path: "/v1/executions/{id}/resume", op: "resumeExecution",
			summary:   "Operator resume of a suspended execution, whatever its condition; anything else is 409 execution_not_eligible.",
			responses: []response{ok(200, "state after the resume", wire.ResumeExecutionResponse{})},
			handle:    (*Server).resumeExecution},
		{method: "POST", path: "/v1/admin/waitpoint-keys/rotate", op: "rotateWaitpointKey", limit: lim.Control,
			summary: "Make a new waitpoint signing key current; tokens of the previous key verify until previous_valid_until_ms (database clock), never after.",
			body:    wire.RotateKeyRequest{}, bodyOptional: true,
			responses: []response{ok(200, "the new and previous kid", wire.RotateKeyResponse{})},
			handle:    (*Server).rotateWaitpointKey},
	}
}

func (s *Server) suspend(w http.ResponseWriter, r *http.Request) error {
	var req wire.SuspendRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	h, err := parseHandle("handle", req.Handle)
	if err != nil {
		return err
	}
	sr := ff.SuspendRequest{TimeoutAtMs: req.TimeoutAtMs, TimeoutBehavior: ff.TimeoutBehavior(req.TimeoutBehavior),
		ReasonCode: req.ReasonCode, IdempotencyKey: req.IdempotencyKey}
	for _, b := range req.Waitpoints {
		sr.WaitpointKeys = append(sr.WaitpointKeys, b.Key)
	}
	if len(req.Condition) > 0 && string(req.Condition) != "null" {
		c, err := ff.DecodeCondition(req.Condition)
		if err != nil {
			return err
		}
		sr.Condition = &c
	}
	out, err := s.b.Suspend(r.Context(), backend.SuspendParams{Handle: h, Request: sr})
	if err != nil {
		return err
	}
	noStore(w)
	s.writeJSON(w, r, http.StatusOK, wire.SuspendResponseOf(out))
	return nil
}

func (s *Server) createWaitpoint(w http.ResponseWriter, r *http.Request) error {
	var req wire.CreateWaitpointRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	h, err := parseHandle("handle", req.Handle)
	if err != nil {
		return err
	}
	p := backend.CreateWaitpointParams{Handle: h, Key: req.Key}
	if req.ExpiresAtMs != 0 {
		p.Expiry = ff.TimeFromMs(req.ExpiresAtMs)
	}
	out, err := s.b.CreateWaitpoint(r.Context(), p)
	if err != nil {
		return err
	}
	noStore(w)
	s.writeJSON(w, r, http.StatusCreated, wire.WaitpointToken(out))
	return nil
}

// signal is public: the token in the body is the credential, checked by
// the backend before anything else. A malformed execution id is a bad
// token too, so the route reveals nothing without one.
func (s *Server) signal(w http.ResponseWriter, r *http.Request) error {
	var req wire.SignalRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	id, err := pathExecutionID(r)
	if err != nil {
		return ff.InvalidToken()
	}
	p := backend.DeliverSignalParams{ExecutionID: id, WaitpointID: req.WaitpointID, WaitpointKey: req.WaitpointKey,
		Token: req.Token, Name: req.SignalName, Payload: req.Payload, IdempotencyKey: req.IdempotencyKey}
	if req.Source != nil {
		p.Source = ff.SignalSource(*req.Source)
	}
	res, err := s.b.DeliverSignal(r.Context(), p)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, wire.SignalResponse{SignalID: res.SignalID, Effect: res.Effect, Duplicate: res.Duplicate})
	return nil
}

func (s *Server) listWaitpoints(w http.ResponseWriter, r *http.Request) error {
	id, err := pathExecutionID(r)
	if err != nil {
		return err
	}
	ws, err := s.b.ListWaitpoints(r.Context(), backend.ListWaitpointsParams{ExecutionID: id})
	if err != nil {
		return err
	}
	out := wire.WaitpointList{Waitpoints: []wire.Waitpoint{}}
	for _, x := range ws {
		out.Waitpoints = append(out.Waitpoints, wire.WaitpointOf(x))
	}
	s.writeJSON(w, r, http.StatusOK, out)
	return nil
}

func (s *Server) getWaitpointToken(w http.ResponseWriter, r *http.Request) error {
	id, err := pathExecutionID(r)
	if err != nil {
		return err
	}
	tok, err := s.b.GetWaitpointToken(r.Context(), backend.GetWaitpointTokenParams{ExecutionID: id, WaitpointID: r.PathValue("waitpoint_id")})
	if err != nil {
		return err
	}
	noStore(w)
	s.writeJSON(w, r, http.StatusOK, wire.TokenResponse{Token: tok})
	return nil
}

func (s *Server) listSignals(w http.ResponseWriter, r *http.Request) error {
	id, err := pathExecutionID(r)
	if err != nil {
		return err
	}
	ss, err := s.b.ListSignals(r.Context(), backend.ListSignalsParams{ExecutionID: id})
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, wire.SignalList{Signals: wire.SignalsOf(ss)})
	return nil
}

func (s *Server) resumeExecution(w http.ResponseWriter, r *http.Request) error {
	id, err := pathExecutionID(r)
	if err != nil {
		return err
	}
	st, err := s.b.ResumeExecution(r.Context(), backend.ResumeExecutionParams{ExecutionID: id})
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, wire.ResumeExecutionResponse{ExecutionID: id, PublicState: st})
	return nil
}

func (s *Server) rotateWaitpointKey(w http.ResponseWriter, r *http.Request) error {
	var req wire.RotateKeyRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	p := backend.RotateWaitpointKeyParams{Kid: req.Kid, SecretHex: req.SecretHex, Grace: backend.DefaultRotationGrace}
	if req.GraceMs != nil {
		if *req.GraceMs < 0 || *req.GraceMs > ff.MaxDurationMs {
			return ff.Validation(ff.ErrInvalidInput, "grace_ms: %d, want 0 to %d", *req.GraceMs, ff.MaxDurationMs)
		}
		p.Grace = time.Duration(*req.GraceMs) * time.Millisecond
	}
	res, err := s.b.RotateWaitpointKey(r.Context(), p)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, wire.RotateKeyResponse(res))
	return nil
}

// noStore keeps a response carrying a token out of every cache.
func noStore(w http.ResponseWriter) { w.Header().Set("Cache-Control", "no-store") }
