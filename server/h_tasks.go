package server

import (
	"net/http"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

// Lease-bound task routes. Every one carries the handle minted by claim;
// the backend checks its fence inside the write.

func (s *Server) complete(w http.ResponseWriter, r *http.Request) error {
	var req wire.CompleteRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	p, err := completeParams("handle", req)
	if err != nil {
		return err
	}
	if err := s.b.Complete(r.Context(), p); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func completeParams(field string, req wire.CompleteRequest) (backend.CompleteParams, error) {
	h, err := parseHandle(field, req.Handle)
	if err != nil {
		return backend.CompleteParams{}, err
	}
	res, err := wire.DecodePayload("result", req.Result, req.ResultBase64)
	if err != nil {
		return backend.CompleteParams{}, err
	}
	return backend.CompleteParams{Handle: h, Result: res}, nil
}

// completeMany validates each item on its own: a malformed item fails
// alone, the valid ones go to the backend in one batch.
func (s *Server) completeMany(w http.ResponseWriter, r *http.Request) error {
	var req wire.CompleteManyRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if len(req.Items) > wire.MaxBatchItems {
		return ff.Validation(ff.ErrInvalidInput, "items: %d given, at most %d", len(req.Items), wire.MaxBatchItems)
	}
	out := make([]wire.ItemResult, len(req.Items))
	var ps []backend.CompleteParams
	var at []int
	for i, it := range req.Items {
		p, err := completeParams("items.handle", it)
		if err != nil {
			out[i].Error = errorBody(err)
			continue
		}
		ps = append(ps, p)
		at = append(at, i)
	}
	if len(ps) > 0 {
		errs := s.b.CompleteMany(r.Context(), ps)
		for j, err := range errs {
			if err != nil && j < len(at) {
				out[at[j]].Error = errorBody(err)
			}
		}
	}
	s.writeJSON(w, r, http.StatusOK, wire.CompleteManyResponse{Results: out})
	return nil
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request) error {
	var req wire.FailRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	h, err := parseHandle("handle", req.Handle)
	if err != nil {
		return err
	}
	class, err := ff.ParseFailureClass(req.Classification)
	if err != nil {
		return err
	}
	out, err := s.b.Fail(r.Context(), backend.FailParams{Handle: h, Reason: req.Reason, Classification: class})
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, wire.FailResponse{RetryScheduled: out.RetryScheduled, DelayUntilMs: ff.MsFromTime(out.DelayUntil)})
	return nil
}

func (s *Server) renew(w http.ResponseWriter, r *http.Request) error {
	var req wire.HandleRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	h, err := parseHandle("handle", req.Handle)
	if err != nil {
		return err
	}
	ren, err := s.b.Renew(r.Context(), backend.RenewParams{Handle: h})
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, wire.RenewResponse{LeaseExpiresAtMs: ff.MsFromTime(ren.ExpiresAt), LeaseEpoch: ren.LeaseEpoch})
	return nil
}

func (s *Server) renewMany(w http.ResponseWriter, r *http.Request) error {
	var req wire.RenewManyRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	out := make([]wire.RenewItem, len(req.Handles))
	hs, at, err := parseHandles(req.Handles, func(i int, err error) { out[i].Error = errorBody(err) })
	if err != nil {
		return err
	}
	ps := make([]backend.RenewParams, len(hs))
	for i, h := range hs {
		ps[i] = backend.RenewParams{Handle: h}
	}
	if len(ps) > 0 {
		for j, res := range s.b.RenewMany(r.Context(), ps) {
			if j >= len(at) {
				break
			}
			if res.Err != nil {
				out[at[j]].Error = errorBody(res.Err)
				continue
			}
			out[at[j]].LeaseExpiresAtMs = ff.MsFromTime(res.Renewal.ExpiresAt)
			out[at[j]].LeaseEpoch = res.Renewal.LeaseEpoch
		}
	}
	s.writeJSON(w, r, http.StatusOK, wire.RenewManyResponse{Results: out})
	return nil
}

// release gives back leases the worker claimed but never started. Like
// renew-many, a malformed or stale handle fails alone.
func (s *Server) release(w http.ResponseWriter, r *http.Request) error {
	var req wire.ReleaseRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	out := make([]wire.ItemResult, len(req.Handles))
	hs, at, err := parseHandles(req.Handles, func(i int, err error) { out[i].Error = errorBody(err) })
	if err != nil {
		return err
	}
	ps := make([]backend.ReleaseClaimParams, len(hs))
	for i, h := range hs {
		ps[i] = backend.ReleaseClaimParams{Handle: h}
	}
	if len(ps) > 0 {
		for j, err := range s.b.ReleaseClaims(r.Context(), ps) {
			if err != nil && j < len(at) {
				out[at[j]].Error = errorBody(err)
			}
		}
	}
	s.writeJSON(w, r, http.StatusOK, wire.ReleaseResponse{Results: out})
	return nil
}

func (s *Server) progress(w http.ResponseWriter, r *http.Request) error {
	var req wire.ProgressRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	h, err := parseHandle("handle", req.Handle)
	if err != nil {
		return err
	}
	pct := -1
	if req.Percent != nil {
		pct = *req.Percent
		if pct < 0 {
			return ff.Validation(ff.ErrInvalidInput, "percent %d outside [0, 100]", pct)
		}
	}
	if err := s.b.Progress(r.Context(), backend.ProgressParams{Handle: h, Percent: pct, Message: req.Message}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) delay(w http.ResponseWriter, r *http.Request) error {
	var req wire.DelayRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	h, err := parseHandle("handle", req.Handle)
	if err != nil {
		return err
	}
	if err := s.b.Delay(r.Context(), backend.DelayParams{Handle: h, Until: ff.TimeFromMs(req.DelayUntilMs)}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) cancelTask(w http.ResponseWriter, r *http.Request) error {
	var req wire.TaskCancelRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	h, err := parseHandle("handle", req.Handle)
	if err != nil {
		return err
	}
	if err := s.b.Cancel(r.Context(), backend.CancelParams{Handle: h, Reason: req.Reason}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// errorBody renders one batch item's error.
func errorBody(err error) *wire.ErrorBody {
	b := wire.BodyOf(wire.ErrorOf(err))
	return &b
}

// parseHandles parses the handles of a batch request: more than
// wire.MaxBatchItems is refused whole; a handle that does not parse fails
// alone (fail(i, err)), and the others come back with their positions.
func parseHandles(texts []string, fail func(i int, err error)) (hs []ff.Handle, at []int, err error) {
	if len(texts) > wire.MaxBatchItems {
		return nil, nil, ff.Validation(ff.ErrInvalidInput, "handles: %d given, at most %d", len(texts), wire.MaxBatchItems)
	}
	for i, text := range texts {
		h, err := parseHandle("handles", text)
		if err != nil {
			fail(i, err)
			continue
		}
		hs, at = append(hs, h), append(at, i)
	}
	return hs, at, nil
}
