package instrument

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flowfabric-go/flowfabric/backend"
)

// waitpointMetrics count suspensions and signals.
type waitpointMetrics struct {
	suspended *prometheus.CounterVec
	signals   *prometheus.CounterVec
}

func newWaitpointMetrics(reg prometheus.Registerer) *waitpointMetrics {
	return &waitpointMetrics{
		suspended: Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ff_suspensions_total",
			Help: "Suspend calls by outcome: suspended, or already_satisfied (buffered signals; the lease is kept)."},
			[]string{"outcome"})),
		signals: Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ff_signals_total",
			Help: "Signals accepted, by effect (duplicate for a repeated idempotency key); refusals count in ff_backend_errors_total{op=\"deliver_signal\"}, invalid_token among them."},
			[]string{"effect"})),
	}
}

// Suspend counts suspensions by outcome.
func (b *Backend) Suspend(ctx context.Context, p backend.SuspendParams) (backend.SuspendOutcome, error) {
	out, err := b.Backend.Suspend(ctx, p)
	switch {
	case err != nil:
		b.m.fail("suspend", err)
	case out.AlreadySatisfied:
		b.wp.suspended.WithLabelValues("already_satisfied").Inc()
	default:
		b.wp.suspended.WithLabelValues("suspended").Inc()
	}
	return out, err
}

// DeliverSignal counts accepted signals by effect and refusals by kind.
func (b *Backend) DeliverSignal(ctx context.Context, p backend.DeliverSignalParams) (backend.DeliverSignalResult, error) {
	res, err := b.Backend.DeliverSignal(ctx, p)
	switch {
	case err != nil:
		b.m.fail("deliver_signal", err)
	case res.Duplicate:
		b.wp.signals.WithLabelValues("duplicate").Inc()
	default:
		b.wp.signals.WithLabelValues(string(res.Effect)).Inc()
	}
	return res, err
}
