package instrument

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flowfabric-go/flowfabric/backend"
)

// streamMetrics count appended frames and purged streams.
type streamMetrics struct {
	frames *prometheus.CounterVec
	purged prometheus.Counter
}

func newStreamMetrics(reg prometheus.Registerer) *streamMetrics {
	return &streamMetrics{
		frames: Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ff_stream_frames_appended_total",
			Help: "Output frames appended, by tier: durable, or best_effort (a batch with no durable frame)."}, []string{"tier"})),
		purged: Register(reg, prometheus.NewCounter(prometheus.CounterOpts{Name: "ff_stream_purged_total",
			Help: "Streams whose frames the retention sweep deleted."})),
	}
}

// AppendFrames counts the batch's frames by tier.
func (b *Backend) AppendFrames(ctx context.Context, p backend.AppendFramesParams) (backend.AppendFramesResult, error) {
	res, err := b.Backend.AppendFrames(ctx, p)
	if err != nil {
		b.m.fail("append_frames", err)
		return res, err
	}
	tier := "best_effort"
	if p.Durable() {
		tier = "durable"
	}
	b.streams.frames.WithLabelValues(tier).Add(float64(len(p.Frames)))
	return res, nil
}

// SweepStreams counts the streams it purged.
func (b *Backend) SweepStreams(ctx context.Context, p backend.SweepStreamsParams) (int, error) {
	n, err := b.Backend.SweepStreams(ctx, p)
	if err != nil {
		b.m.fail("sweep_streams", err)
		return n, err
	}
	b.streams.purged.Add(float64(n))
	return n, nil
}
