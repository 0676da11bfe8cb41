package server

import (
	"context"
	"net/http"
	"time"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

func (s *Server) claim(w http.ResponseWriter, r *http.Request) error {
	var req wire.ClaimRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if req.WaitMs < 0 || req.WaitMs > wire.MaxClaimWaitMs {
		return ff.Validation(ff.ErrInvalidInput, "wait_ms %d outside [0, %d]", req.WaitMs, wire.MaxClaimWaitMs)
	}
	p := backend.ClaimParams{
		WorkerID: r.PathValue("worker_id"), WorkerInstanceID: req.WorkerInstanceID, Lanes: req.Lanes,
		Capabilities: req.Capabilities, LeaseTTL: time.Duration(req.LeaseTTLMs) * time.Millisecond, Max: req.Max,
	}
	// Validate before waiting so a bad request fails at once; the
	// backend normalizes again (Normalize is idempotent).
	if _, err := p.Normalize(); err != nil {
		return err
	}
	tasks, err := s.claimWait(r.Context(), p, time.Duration(req.WaitMs)*time.Millisecond)
	if err != nil {
		return err
	}
	if len(tasks) == 0 {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	out := make([]wire.ClaimedTask, len(tasks))
	for i, t := range tasks {
		out[i] = wire.ClaimedTaskOf(t)
	}
	s.writeJSON(w, r, http.StatusOK, wire.ClaimResponse{Tasks: out})
	return nil
}

// claimWait claims at once and, when nothing was claimable and wait > 0,
// re-claims on every wake-up for p.Lanes (or every poll interval) until
// work arrives, wait passes, the client goes away or shutdown begins.
// The subscription is taken before the first claim so a wake-up between
// an empty claim and the wait is not lost.
func (s *Server) claimWait(ctx context.Context, p backend.ClaimParams, wait time.Duration) ([]backend.ClaimedTask, error) {
	if wait <= 0 {
		return s.b.Claim(ctx, p)
	}
	wake, unsubscribe := s.b.SubscribeWork(ctx, backend.SubscribeWorkParams{Lanes: p.Lanes})
	defer unsubscribe()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	poll := time.NewTicker(s.claimPoll)
	defer poll.Stop()
	for {
		tasks, err := s.b.Claim(ctx, p)
		if err != nil || len(tasks) > 0 {
			return tasks, err
		}
		select {
		case _, open := <-wake:
			if !open {
				wake = nil // the subscription ended with ctx: wait for ctx.Done
			}
		case <-poll.C:
		case <-deadline.C:
			return nil, nil
		case <-s.closing:
			return nil, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
