package engine

import (
	"context"
	"fmt"

	"github.com/flowfabric-go/flowfabric/backend"
)

// idempotencyExpiry clears idempotency keys whose dedup window has
// passed. A create already treats such a key as unused; the sweep frees
// its index entry, so expired keys do not pile up.
type idempotencyExpiry struct {
	m     backend.Maintenance
	batch int
}

func (r *idempotencyExpiry) name() string { return "idempotency_expiry" }

func (r *idempotencyExpiry) runOnce(ctx context.Context) (int, error) {
	n, err := r.m.ExpireIdempotencyKeys(ctx, backend.SweepParams{Limit: r.batch})
	if err != nil {
		return n, fmt.Errorf("expire idempotency keys: %w", err)
	}
	return n, nil
}
