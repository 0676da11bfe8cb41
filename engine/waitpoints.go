package engine

import (
	"context"
	"fmt"

	"github.com/flowfabric-go/flowfabric/backend"
)

// suspensionTimeout applies due suspension timeouts: fail, cancel and
// expire end the execution; auto_resume resumes it with a timeout signal.
type suspensionTimeout struct {
	w     backend.Waitpoints
	batch int
}

func (r *suspensionTimeout) name() string { return "suspension_timeout" }

func (r *suspensionTimeout) runOnce(ctx context.Context) (int, error) {
	n, err := r.w.ExpireSuspensions(ctx, backend.SweepParams{Limit: r.batch})
	if err != nil {
		return n, fmt.Errorf("expire suspensions: %w", err)
	}
	return n, nil
}

// pendingWaitpointExpiry expires pending waitpoints no suspend used
// before their expiry.
type pendingWaitpointExpiry struct {
	w     backend.Waitpoints
	batch int
}

func (r *pendingWaitpointExpiry) name() string { return "pending_waitpoint_expiry" }

func (r *pendingWaitpointExpiry) runOnce(ctx context.Context) (int, error) {
	n, err := r.w.ExpirePendingWaitpoints(ctx, backend.SweepParams{Limit: r.batch})
	if err != nil {
		return n, fmt.Errorf("expire pending waitpoints: %w", err)
	}
	return n, nil
}
