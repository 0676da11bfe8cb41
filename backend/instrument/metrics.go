package instrument

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	ff "github.com/flowfabric-go/flowfabric"
)

// lifecycleMetrics are the decorator's counters.
type lifecycleMetrics struct {
	created, claimed, completed, failed, retried *prometheus.CounterVec
	claimDuration                                *prometheus.HistogramVec
	errors                                       *prometheus.CounterVec
}

func newLifecycleMetrics(reg prometheus.Registerer) *lifecycleMetrics {
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels))
	}
	return &lifecycleMetrics{
		created:   counter("ff_executions_created_total", "Executions created (idempotent duplicates excluded), by lane.", "lane"),
		claimed:   counter("ff_executions_claimed_total", "Attempts handed to workers by claim, by lane.", "lane"),
		completed: counter("ff_executions_completed_total", "Acknowledged completions, by lane.", "lane"),
		failed:    counter("ff_executions_failed_total", "Failures that ended the execution, by lane.", "lane"),
		retried:   counter("ff_executions_retried_total", "Failures that scheduled a retry, by lane.", "lane"),
		claimDuration: Register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "ff_claim_duration_seconds", Help: "Claim latency by lane (_multi for multi-lane claims).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}, []string{"lane"})),
		errors: counter("ff_backend_errors_total", "Errors returned by instrumented backend operations, by operation and kind.", "op", "kind"),
	}
}

func (m *lifecycleMetrics) fail(op string, err error) {
	m.errors.WithLabelValues(op, string(ff.KindOf(err))).Inc()
}

// Register registers c with reg, or returns the collector already
// registered under the same descriptor, so that several wrappers (or
// servers) share one registry. It panics on any other registration error,
// as prometheus.MustRegister does.
func Register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(err)
	}
	return c
}
