package instrument

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// ReconcilerObserver counts reconciler sweeps. It satisfies the engine's
// Observer (Observe) and LeaderObserver (ObserveLeader) interfaces. A nil
// *ReconcilerObserver is a valid no-op.
type ReconcilerObserver struct {
	runs, errors, items *prometheus.CounterVec
	duration            *prometheus.HistogramVec
	leader              prometheus.Gauge
}

// NewReconcilerObserver registers the reconciler metrics in reg.
func NewReconcilerObserver(reg prometheus.Registerer) *ReconcilerObserver {
	counter := func(name, help string) *prometheus.CounterVec {
		return Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, []string{"reconciler"}))
	}
	return &ReconcilerObserver{
		runs:   counter("ff_reconciler_runs_total", "Reconciler sweeps run."),
		errors: counter("ff_reconciler_errors_total", "Reconciler sweeps that failed."),
		items:  counter("ff_reconciler_items_total", "Items changed by reconciler sweeps (leases expired, delays promoted, ...)."),
		duration: Register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "ff_reconciler_duration_seconds", Help: "Reconciler sweep latency.",
			Buckets: []float64{.001, .005, .01, .05, .1, .5, 1, 5, 10},
		}, []string{"reconciler"})),
		leader: Register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ff_reconciler_leader", Help: "1 while this process holds reconciler leadership.",
		})),
	}
}

// Observe records one sweep of reconciler name that changed n items and
// took d; err is nil on success. It never blocks.
func (o *ReconcilerObserver) Observe(name string, n int, err error, d time.Duration) {
	if o == nil {
		return
	}
	o.runs.WithLabelValues(name).Inc()
	// Touch every series so dashboards see zeros, not gaps.
	errs := o.errors.WithLabelValues(name)
	if err != nil {
		errs.Inc()
	}
	if n > 0 {
		o.items.WithLabelValues(name).Add(float64(n))
	} else {
		o.items.WithLabelValues(name)
	}
	o.duration.WithLabelValues(name).Observe(d.Seconds())
}

// ObserveLeader records gaining (true) or losing (false) leadership.
func (o *ReconcilerObserver) ObserveLeader(held bool) {
	if o == nil {
		return
	}
	if held {
		o.leader.Set(1)
	} else {
		o.leader.Set(0)
	}
}
