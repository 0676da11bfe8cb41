package engine

import (
	"context"
	"fmt"

	"github.com/flowfabric-go/flowfabric/backend"
)

// executionDeadline expires non-terminal executions whose absolute
// deadline has passed, whatever phase they are in.
type executionDeadline struct {
	m     backend.Maintenance
	batch int
}

func (r *executionDeadline) name() string { return "execution_deadline" }

func (r *executionDeadline) runOnce(ctx context.Context) (int, error) {
	n, err := r.m.ExpireDeadlines(ctx, backend.SweepParams{Limit: r.batch})
	if err != nil {
		return n, fmt.Errorf("expire deadlines: %w", err)
	}
	return n, nil
}
