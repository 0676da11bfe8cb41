package engine

import (
	"context"
	"fmt"

	"github.com/flowfabric-go/flowfabric/backend"
)

// leaseExpiry marks leases whose expiry has passed as expired, which
// makes their executions reclaimable by the next claim (or fails them
// once they reached their reclaim cap).
type leaseExpiry struct {
	m     backend.Maintenance
	batch int
}

func (r *leaseExpiry) name() string { return "lease_expiry" }

func (r *leaseExpiry) runOnce(ctx context.Context) (int, error) {
	n, err := r.m.ExpireLeases(ctx, backend.SweepParams{Limit: r.batch})
	if err != nil {
		return n, fmt.Errorf("expire leases: %w", err)
	}
	return n, nil
}
