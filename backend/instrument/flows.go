package instrument

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flowfabric-go/flowfabric/backend"
)

// flowMetrics count flow lifecycle operations. Edge resolution happens
// inside the store's transactions; the cascade's cost is part of the
// completion (or cancel) that caused it, measured here as the latency of
// the flow operations themselves.
type flowMetrics struct {
	created   prometheus.Counter
	cancels   *prometheus.CounterVec
	cancelled *prometheus.CounterVec
	repaired  prometheus.Counter
	latency   *prometheus.HistogramVec
}

func newFlowMetrics(reg prometheus.Registerer) *flowMetrics {
	return &flowMetrics{
		created: Register(reg, prometheus.NewCounter(prometheus.CounterOpts{Name: "ff_flows_created_total",
			Help: "Flows created (a repeated flow id not counted)."})),
		cancels: Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ff_flow_cancels_total",
			Help: "Flow cancels by policy (repeats not counted)."}, []string{"policy"})),
		cancelled: Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ff_flow_members_cancelled_total",
			Help: "Flow members cancelled with their flow: by the cancel call (wait) or the backlog reconciler (async)."}, []string{"by"})),
		repaired: Register(reg, prometheus.NewCounter(prometheus.CounterOpts{Name: "ff_flow_edges_repaired_total",
			Help: "Upstreams whose unresolved edges the backstop resolved (0 in normal operation)."})),
		latency: Register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "ff_flow_operation_seconds",
			Help:    "Latency of flow operations, cascades included (create: the whole DAG; cancel: with wait, every member).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}}, []string{"op"})),
	}
}

// CreateFlow counts new flows and times the create.
func (b *Backend) CreateFlow(ctx context.Context, p backend.CreateFlowParams) (backend.CreateFlowResult, error) {
	t0 := time.Now()
	res, err := b.Backend.CreateFlow(ctx, p)
	if err != nil {
		b.m.fail("create_flow", err)
		return res, err
	}
	b.flows.latency.WithLabelValues("create_flow").Observe(time.Since(t0).Seconds())
	if !res.Existing {
		b.flows.created.Inc()
	}
	return res, nil
}

// CancelFlow counts cancels by policy and the members they cancelled.
func (b *Backend) CancelFlow(ctx context.Context, p backend.CancelFlowParams) (backend.CancelFlowResult, error) {
	t0 := time.Now()
	res, err := b.Backend.CancelFlow(ctx, p)
	if err != nil {
		b.m.fail("cancel_flow", err)
		return res, err
	}
	b.flows.latency.WithLabelValues("cancel_flow").Observe(time.Since(t0).Seconds())
	if !res.Repeated {
		b.flows.cancels.WithLabelValues(res.Policy).Inc()
	}
	b.flows.cancelled.WithLabelValues("cancel").Add(float64(res.Cancelled))
	return res, nil
}

// WorkFlowCancels counts the members the backlog reconciler cancelled.
func (b *Backend) WorkFlowCancels(ctx context.Context, p backend.SweepParams) (int, error) {
	n, err := b.Backend.WorkFlowCancels(ctx, p)
	if err != nil {
		b.m.fail("work_flow_cancels", err)
	}
	b.flows.cancelled.WithLabelValues("reconciler").Add(float64(n))
	return n, err
}

// RepairFlowEdges counts the backstop's repairs.
func (b *Backend) RepairFlowEdges(ctx context.Context, p backend.SweepParams) (int, error) {
	n, err := b.Backend.RepairFlowEdges(ctx, p)
	if err != nil {
		b.m.fail("repair_flow_edges", err)
	}
	b.flows.repaired.Add(float64(n))
	return n, err
}

// flowStatsCollector reports flows by public flow state and edges by
// state from FlowStats at scrape time (a store without flows reports
// nothing).
type flowStatsCollector struct {
	b      backend.Backend
	flows  *prometheus.Desc
	edges  *prometheus.Desc
	errors prometheus.Counter
}

func newFlowStatsCollector(b backend.Backend) *flowStatsCollector {
	return &flowStatsCollector{b: b,
		flows: prometheus.NewDesc("ff_flows", "Flows by public flow state, read at scrape time (at most backend.MaxFlowStatsFlows flows).",
			[]string{"public_flow_state"}, nil),
		edges: prometheus.NewDesc("ff_flow_edges", "Flow edges by state (unresolved, satisfied, impossible): the resolutions so far.",
			[]string{"state"}, nil),
		errors: prometheus.NewCounter(prometheus.CounterOpts{Name: "ff_flow_stats_scrape_errors_total",
			Help: "Flow-stat scrapes that failed to read the store."}),
	}
}

func (c *flowStatsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.flows
	ch <- c.edges
	c.errors.Describe(ch)
}

func (c *flowStatsCollector) Collect(ch chan<- prometheus.Metric) {
	defer c.errors.Collect(ch)
	if !c.b.Capabilities().Supports.Flows {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	st, err := c.b.FlowStats(ctx)
	if err != nil {
		c.errors.Inc()
		return
	}
	for state, n := range st.Flows {
		ch <- prometheus.MustNewConstMetric(c.flows, prometheus.GaugeValue, float64(n), state)
	}
	for state, n := range st.Edges {
		ch <- prometheus.MustNewConstMetric(c.edges, prometheus.GaugeValue, float64(n), state)
	}
}
