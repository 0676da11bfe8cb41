package backend

import (
	"context"

	ff "github.com/flowfabric-go/flowfabric"
)

// Maintenance is what the reconcilers call: batch sweeps that re-check
// their precondition under lock, and leader election. A sweep is safe to
// repeat and to run concurrently: each row is changed at most once, and
// a row no longer due is skipped.
type Maintenance interface {
	// ExpireLeases marks up to p.Limit due leases expired (or fails
	// executions that reached their reclaim cap) and returns how many.
	ExpireLeases(ctx context.Context, p SweepParams) (int, error)
	// ExpireAttemptTimeouts expires up to p.Limit executions whose
	// attempt ran past its timeout and returns how many.
	ExpireAttemptTimeouts(ctx context.Context, p SweepParams) (int, error)
	// ExpireDeadlines expires up to p.Limit executions past their
	// deadline and returns how many.
	ExpireDeadlines(ctx context.Context, p SweepParams) (int, error)
	// PromoteDelayed makes up to p.Limit due delayed executions eligible
	// and returns how many.
	PromoteDelayed(ctx context.Context, p SweepParams) (int, error)
	// ExpireIdempotencyKeys clears up to p.Limit idempotency keys whose
	// dedup window has passed (IdempotencyExpiry), oldest first, and
	// returns how many. Nothing else of their executions changes. A
	// create already treats an expired key as unused; the sweep frees
	// the keys' index entries.
	ExpireIdempotencyKeys(ctx context.Context, p SweepParams) (int, error)
	// TryAcquireLeader tries to become the one leader for p.Name. It
	// returns a nil lease (and a nil error) when another holder has it,
	// including a lease taken earlier through this same backend.
	TryAcquireLeader(ctx context.Context, p LeaderParams) (LeaderLease, error)
	// SubscribeWork returns a channel that receives (coalesced) when work
	// may have become claimable on one of p.Lanes, and a function that
	// ends the subscription. The subscription also ends when ctx is done;
	// either way the channel is then closed. Wake-ups are hints: they may
	// be spurious, so a subscriber always re-claims and keeps a poll as a
	// fallback. Each call is a subscription of its own.
	SubscribeWork(ctx context.Context, p SubscribeWorkParams) (<-chan struct{}, func())
}

// Sweep batch bounds.
const (
	DefaultSweepLimit = 1000
	MaxSweepLimit     = 10_000
)

// SweepParams is the input of every sweep.
type SweepParams struct {
	Limit int // rows per sweep: 0 = DefaultSweepLimit; at most MaxSweepLimit
}

// Normalize applies the batch rule every sweep of every store shares: 0
// means DefaultSweepLimit, and a limit outside [1, MaxSweepLimit] is
// invalid_input.
func (p *SweepParams) Normalize() error {
	if p.Limit == 0 {
		p.Limit = DefaultSweepLimit
	}
	if p.Limit < 0 || p.Limit > MaxSweepLimit {
		return ff.Validation(ff.ErrInvalidInput, "sweep limit %d outside [1, %d]", p.Limit, MaxSweepLimit)
	}
	return nil
}

// LeaderParams is the input of TryAcquireLeader.
type LeaderParams struct {
	Name string
}

// SubscribeWorkParams is the input of SubscribeWork.
type SubscribeWorkParams struct {
	Lanes []string // nil = the "default" lane
}

// LeaderLease is held leadership. Lost is closed when leadership ends for
// any reason; Release gives it up and is idempotent.
type LeaderLease interface {
	Lost() <-chan struct{}
	Release(ctx context.Context) error
}
