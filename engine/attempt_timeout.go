package engine

import (
	"context"
	"fmt"

	"github.com/flowfabric-go/flowfabric/backend"
)

// attemptTimeout expires executions whose running attempt outlived the
// policy's attempt timeout; they become terminal "expired".
type attemptTimeout struct {
	m     backend.Maintenance
	batch int
}

func (r *attemptTimeout) name() string { return "attempt_timeout" }

func (r *attemptTimeout) runOnce(ctx context.Context) (int, error) {
	n, err := r.m.ExpireAttemptTimeouts(ctx, backend.SweepParams{Limit: r.batch})
	if err != nil {
		return n, fmt.Errorf("expire attempt timeouts: %w", err)
	}
	return n, nil
}
