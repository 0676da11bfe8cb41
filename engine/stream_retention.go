package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/flowfabric-go/flowfabric/backend"
)

// streamRetention deletes the frames of attempts that ended more than the
// retention ago (their summaries stay).
type streamRetention struct {
	s         backend.Streams
	batch     int
	retention time.Duration
}

func (r *streamRetention) name() string { return "stream_retention" }

func (r *streamRetention) runOnce(ctx context.Context) (int, error) {
	n, err := r.s.SweepStreams(ctx, backend.SweepStreamsParams{Retention: r.retention, Limit: r.batch})
	if err != nil {
		return n, fmt.Errorf("sweep streams: %w", err)
	}
	return n, nil
}
