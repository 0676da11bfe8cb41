package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/flowfabric-go/flowfabric/backend"
)

// eventRetention deletes outbox events older than the retention, oldest
// first, a batch per sweep. A follower whose cursor points into the
// deleted range resumes at the oldest event kept.
type eventRetention struct {
	ev     backend.Events
	retain time.Duration
	batch  int
	now    func() time.Time
}

func (r *eventRetention) name() string { return "event_retention" }

func (r *eventRetention) runOnce(ctx context.Context) (int, error) {
	n, err := r.ev.SweepEvents(ctx, backend.SweepEventsParams{Before: r.now().Add(-r.retain), Limit: r.batch})
	if err != nil {
		return n, fmt.Errorf("sweep events: %w", err)
	}
	return n, nil
}
