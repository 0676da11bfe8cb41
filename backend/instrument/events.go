package instrument

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// eventMetrics count events read and operator actions, and observe how
// far behind its writes a reader is.
type eventMetrics struct {
	read     *prometheus.CounterVec
	lag      prometheus.Histogram
	operator *prometheus.CounterVec
}

func newEventMetrics(reg prometheus.Registerer, b backend.Backend) *eventMetrics {
	Register(reg, prometheus.Collector(&eventRowsCollector{b: b, desc: prometheus.NewDesc("ff_events_written_total",
		"Outbox rows ever written, by every process (a row that ends a lease reads as up to three events); read at scrape time.",
		nil, nil)}))
	return &eventMetrics{
		read: Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ff_events_read_total",
			Help: "Events handed to readers (GET /v1/events, ReadEvents), by type."}, []string{"type"})),
		lag: Register(reg, prometheus.NewHistogram(prometheus.HistogramOpts{Name: "ff_events_read_lag_seconds",
			Help:    "Per non-empty read, how long before it the newest event it returned was written.",
			Buckets: []float64{.001, .005, .01, .05, .1, .5, 1, 5, 30, 300, 3600}})),
		operator: Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ff_operator_actions_total",
			Help: "Operator actions that changed something, by action."}, []string{"action"})),
	}
}

// eventRowsCollector reads CountEventRows at scrape time.
type eventRowsCollector struct {
	b    backend.Backend
	desc *prometheus.Desc
}

func (c *eventRowsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *eventRowsCollector) Collect(ch chan<- prometheus.Metric) {
	if !c.b.Capabilities().Supports.Events {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	n, err := c.b.CountEventRows(ctx, backend.CountEventRowsParams{})
	if err != nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(n))
}

// ReadEvents counts the events read and observes the read lag.
func (b *Backend) ReadEvents(ctx context.Context, p backend.ReadEventsParams) (backend.EventPage, error) {
	page, err := b.Backend.ReadEvents(ctx, p)
	if err != nil {
		b.m.fail("read_events", err)
		return page, err
	}
	for _, ev := range page.Events {
		b.ev.read.WithLabelValues(string(ev.Type)).Inc()
	}
	if n := len(page.Events); n > 0 {
		b.ev.lag.Observe(time.Since(ff.TimeFromMs(page.Events[n-1].AtMs)).Seconds())
	}
	return page, nil
}

// ChangePriority counts the operator action.
func (b *Backend) ChangePriority(ctx context.Context, p backend.ChangePriorityParams) error {
	err := b.Backend.ChangePriority(ctx, p)
	b.operated(ff.OperatorPriorityChanged, err)
	return err
}

// ReplayExecution counts the operator action.
func (b *Backend) ReplayExecution(ctx context.Context, p backend.ReplayExecutionParams) (ff.PublicState, error) {
	st, err := b.Backend.ReplayExecution(ctx, p)
	b.operated(ff.OperatorReplayed, err)
	return st, err
}

// RevokeLease counts the operator action when a lease was revoked.
func (b *Backend) RevokeLease(ctx context.Context, p backend.RevokeLeaseParams) (backend.RevokeLeaseResult, error) {
	res, err := b.Backend.RevokeLease(ctx, p)
	if err != nil || res.Revoked {
		b.operated(ff.OperatorLeaseRevoked, err)
	}
	return res, err
}

// SetLanePaused counts the operator action.
func (b *Backend) SetLanePaused(ctx context.Context, p backend.SetLanePausedParams) (backend.LaneState, error) {
	st, err := b.Backend.SetLanePaused(ctx, p)
	action := ff.OperatorLaneResumed
	if p.Paused {
		action = ff.OperatorLanePaused
	}
	b.operated(action, err)
	return st, err
}

func (b *Backend) operated(action string, err error) {
	if err != nil {
		b.m.fail(action, err)
		return
	}
	b.ev.operator.WithLabelValues(action).Inc()
}
