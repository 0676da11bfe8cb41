package engine

import (
	"context"
	"fmt"

	"github.com/flowfabric-go/flowfabric/backend"
)

// delayedPromoter makes delayed work eligible once its time has come:
// delayed starts, retry backoff and worker delays. It is the only path
// by which such work becomes claimable.
type delayedPromoter struct {
	m     backend.Maintenance
	batch int
}

func (r *delayedPromoter) name() string { return "delayed_promoter" }

func (r *delayedPromoter) runOnce(ctx context.Context) (int, error) {
	n, err := r.m.PromoteDelayed(ctx, backend.SweepParams{Limit: r.batch})
	if err != nil {
		return n, fmt.Errorf("promote delayed: %w", err)
	}
	return n, nil
}
