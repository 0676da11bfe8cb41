package backend

import (
	"context"
)

// Maintenance is what the reconcilers call: batch sweeps that re-check
// their precondition under lock, and leader election.
type Maintenance interface {
	// ExpireLeases marks up to limit due leases expired (or fails
	// executions that reached their reclaim cap) and returns how many.
	ExpireLeases(ctx context.Context, limit int) (int, error)
	// ExpireAttemptTimeouts expires up to limit attempts past their
	// timeout.
	ExpireAttemptTimeouts(ctx context.Context, limit int) (int, error)
	// ExpireDeadlines expires up to limit executions past their deadline.
	ExpireDeadlines(ctx context.Context, limit int) (int, error)
	// PromoteDelayed makes up to limit delayed executions eligible.
	PromoteDelayed(ctx context.Context, limit int) (int, error)
	// TryAcquireLeader tries to become the one leader for name. ok is
	// false when another holder has it.
	TryAcquireLeader(ctx context.Context, name string) (lease LeaderLease, ok bool, err error)
	// SubscribeWork returns a channel that receives (coalesced) when work
	// may have become claimable on one of lanes, and a cancel function.
	SubscribeWork(lanes []string) (<-chan struct{}, func())
}

// LeaderLease is held leadership. Lost is closed when leadership ends for
// any reason; Release gives it up.
type LeaderLease interface {
	Lost() <-chan struct{}
	Release(ctx context.Context) error
}
