package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/internal/wakeup"
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
	caps, err := p.Normalize()
	if err != nil {
		return err
	}
	wait := time.Duration(req.WaitMs) * time.Millisecond
	if wait > 0 {
		// The reply may leave only after the wait: the write deadline
		// counts from then.
		setWriteDeadline(w, wait+s.timeouts.Write)
	}
	tasks, err := s.claimWait(r.Context(), p, pollKey(p.Lanes, caps), wait)
	if err != nil {
		return err
	}
	if len(tasks) == 0 {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	s.deliverClaim(w, r, tasks)
	return nil
}

// pollKey groups long-polls that would claim the same work: same lanes
// (in any order) and same capability set (already normalized).
func pollKey(lanes, caps []string) string {
	ls := slices.Clone(lanes)
	slices.Sort(ls)
	ls = slices.Compact(ls)
	return strings.Join(ls, "\x00") + "\x01" + strings.Join(caps, "\x00")
}

// claimWait claims at once when wait is zero. Otherwise the claim joins
// the long-polls of its key (see wakeup.Waiters) and claims only on its
// turns — at once when its group is not known to be idle, then on a
// shared wake-up or the group's fallback probe — until it gets work, wait
// passes, the client goes away or shutdown begins.
func (s *Server) claimWait(ctx context.Context, p backend.ClaimParams, key string, wait time.Duration) ([]backend.ClaimedTask, error) {
	if wait <= 0 {
		return s.b.Claim(ctx, p)
	}
	waiter, err := s.polls.Join(key, p.Lanes)
	if errors.Is(err, wakeup.ErrTooManyWaiters) {
		return nil, s.tooManyLongPolls()
	}
	defer waiter.Leave() // passes on a turn left unused
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		select {
		case <-waiter.Turn():
		case <-deadline.C:
			return nil, nil
		case <-s.closing:
			return nil, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		tasks, err := s.b.Claim(ctx, p)
		switch {
		case err != nil && ctx.Err() != nil:
			return nil, err // abandoned: Leave hands the turn on
		case err != nil:
			waiter.Failed()
			return nil, err
		}
		waiter.Claimed(len(tasks), p.Max)
		if len(tasks) > 0 {
			return tasks, nil
		}
	}
}

// tooManyLongPolls is the 429 beyond the long-poll cap.
func (s *Server) tooManyLongPolls() error {
	return &ff.Error{Class: ff.ClassResourceExhausted, Kind: ff.ErrResourceExhausted, RetryAfterMs: longPollRetryAfterMs,
		Detail: "too many long-polling claims waiting on this server (cap " + strconv.Itoa(s.maxLongPolls) + "); retry later or claim with wait_ms 0"}
}

// longPollRetryAfterMs is the hint sent with a refused long-poll.
const longPollRetryAfterMs = 1000

// releaseTimeout bounds giving back the leases of an undelivered claim.
const releaseTimeout = 5 * time.Second

// deliverClaim writes a claim's reply. When the client is gone before or
// while it is written, the worker never saw the tasks: their leases go
// back at once (ReleaseClaims: claimable again, no reclaim counted)
// instead of being held until their TTL runs out.
func (s *Server) deliverClaim(w http.ResponseWriter, r *http.Request, tasks []backend.ClaimedTask) {
	s.hooks.claimed(r.Context())
	out := make([]wire.ClaimedTask, len(tasks))
	for i, t := range tasks {
		out[i] = wire.ClaimedTaskOf(t)
	}
	err := r.Context().Err()
	if err == nil {
		err = s.writeJSONFlushed(w, http.StatusOK, wire.ClaimResponse{Tasks: out})
	}
	if err != nil {
		if sw, ok := w.(*statusWriter); ok {
			sw.abort()
		}
		s.releaseUndelivered(r, tasks, err)
	}
	s.hooks.delivered(err)
}

// releaseUndelivered gives back the leases of tasks whose claim reply
// was lost, on a context of its own (the request's has ended).
func (s *Server) releaseUndelivered(r *http.Request, tasks []backend.ClaimedTask, cause error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), releaseTimeout)
	defer cancel()
	ps := make([]backend.ReleaseClaimParams, len(tasks))
	for i, t := range tasks {
		ps[i] = backend.ReleaseClaimParams{Handle: t.Handle}
	}
	released, firstErr := 0, error(nil)
	for _, err := range s.b.ReleaseClaims(ctx, ps) {
		if err == nil {
			released++
		} else if firstErr == nil {
			firstErr = err
		}
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "claim reply not delivered: leases released",
		slog.Int("tasks", len(tasks)), slog.Int("released", released), slog.String("cause", cause.Error()))
	if firstErr != nil {
		s.log.LogAttrs(ctx, slog.LevelWarn, "release of an undelivered claim failed; the leases expire with their TTL",
			slog.Int("failed", len(tasks)-released), slog.String("error", firstErr.Error()))
	}
}
