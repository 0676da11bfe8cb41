package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/flowfabric-go/flowfabric/backend"
)

// scheduleFirer creates the executions of due schedule ticks: each tick
// once, keyed by the tick, whatever the number of servers (the store
// locks due schedules and advances them in the transaction that creates
// their ticks).
type scheduleFirer struct {
	s     backend.Schedules
	batch int
	grace time.Duration
}

func (r *scheduleFirer) name() string { return "schedules" }

// runOnce fires up to a batch of due ticks and reports how many ticks it
// created or found created (a full batch makes the loop sweep again).
func (r *scheduleFirer) runOnce(ctx context.Context) (int, error) {
	res, err := r.s.FireDueSchedules(ctx, backend.FireSchedulesParams{Limit: r.batch, Grace: r.grace})
	if err != nil {
		return 0, fmt.Errorf("fire schedules: %w", err)
	}
	return res.Fired + res.Duplicates, nil
}
