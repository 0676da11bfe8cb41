package instrument

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flowfabric-go/flowfabric/backend"
)

// scheduleMetrics count the schedule sweeps' ticks.
type scheduleMetrics struct {
	ticks *prometheus.CounterVec
	lag   prometheus.Histogram
}

func newScheduleMetrics(reg prometheus.Registerer) *scheduleMetrics {
	return &scheduleMetrics{
		ticks: Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ff_schedule_ticks_total",
			Help: "Schedule ticks by outcome: fired (execution created), duplicate (already created), skipped (late or failed)."},
			[]string{"outcome"})),
		lag: Register(reg, prometheus.NewHistogram(prometheus.HistogramOpts{Name: "ff_schedule_fire_lag_seconds",
			Help:    "Per sweep that fired ticks, how long after its tick the oldest one fired.",
			Buckets: []float64{.01, .05, .25, 1, 2.5, 10, 60, 300, 3600}})),
	}
}

// FireDueSchedules counts the sweep's ticks by outcome.
func (b *Backend) FireDueSchedules(ctx context.Context, p backend.FireSchedulesParams) (backend.FireSchedulesResult, error) {
	res, err := b.Backend.FireDueSchedules(ctx, p)
	if err != nil {
		b.m.fail("fire_schedules", err)
		return res, err
	}
	b.sched.ticks.WithLabelValues("fired").Add(float64(res.Fired))
	b.sched.ticks.WithLabelValues("duplicate").Add(float64(res.Duplicates))
	b.sched.ticks.WithLabelValues("skipped").Add(float64(res.Skipped))
	if res.Fired+res.Duplicates > 0 {
		b.sched.lag.Observe(res.MaxLag.Seconds())
	}
	return res, nil
}
