package instrument

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// budgetMetrics count usage reports: the usage applied by budget and
// dimension, and the breaches. Budget ids and dimension names are labels
// up to the same cap as lanes; the rest are summed under OtherLane.
type budgetMetrics struct {
	usage    *prometheus.CounterVec
	breaches *prometheus.CounterVec
	budgets  *laneLabels
	dims     *laneLabels
}

func newBudgetMetrics(reg prometheus.Registerer, maxLabels int) *budgetMetrics {
	return &budgetMetrics{
		usage: Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ff_budget_usage_total",
			Help: "Usage applied to budgets, by budget and dimension (hard breaches apply nothing)."},
			[]string{"budget", "dimension"})),
		breaches: Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ff_budget_breaches_total",
			Help: "Usage reports that breached a budget limit, by budget and kind (hard: refused, soft: applied)."},
			[]string{"budget", "kind"})),
		budgets: newLaneLabels(maxLabels),
		dims:    newLaneLabels(maxLabels),
	}
}

// observe counts one report's outcome against one budget.
func (m *budgetMetrics) observe(r ff.UsageResult, deltas map[string]int64) {
	budget := m.budgets.exists(r.BudgetID) // the report found it
	switch r.Outcome {
	case ff.UsageHardBreach:
		m.breaches.WithLabelValues(budget, "hard").Inc()
		return
	case ff.UsageAlreadyApplied:
		return
	case ff.UsageSoftBreach:
		m.breaches.WithLabelValues(budget, "soft").Inc()
	}
	for dim, d := range deltas {
		m.usage.WithLabelValues(budget, m.dims.exists(dim)).Add(float64(d))
	}
}

// ReportUsage counts the operator's report.
func (b *Backend) ReportUsage(ctx context.Context, p backend.ReportUsageParams) (ff.UsageResult, error) {
	res, err := b.Backend.ReportUsage(ctx, p)
	if err != nil {
		b.m.fail("report_usage", err)
		return res, err
	}
	b.budget.observe(res, p.Dimensions)
	return res, nil
}

// ReportTaskUsage counts the worker's report against each budget.
func (b *Backend) ReportTaskUsage(ctx context.Context, p backend.ReportTaskUsageParams) ([]ff.UsageResult, error) {
	res, err := b.Backend.ReportTaskUsage(ctx, p)
	if err != nil {
		b.m.fail("report_usage", err)
		return res, err
	}
	for _, r := range res {
		b.budget.observe(r, p.Dimensions)
	}
	return res, nil
}

// admissionCollector reports at scrape time the executions blocked by
// admission and the claims refused, by reason (budget or quota).
type admissionCollector struct {
	b                backend.Budgets
	blocked, refused *prometheus.Desc
}

func newAdmissionCollector(b backend.Budgets) *admissionCollector {
	return &admissionCollector{b: b,
		blocked: prometheus.NewDesc("ff_admission_blocked", "Executions waiting rate_limited, by what blocks them (budget or quota).",
			[]string{"reason"}, nil),
		refused: prometheus.NewDesc("ff_admission_refusals_total", "Claims of this process that admission refused, by reason.",
			[]string{"reason"}, nil),
	}
}

func (c *admissionCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.blocked
	ch <- c.refused
}

func (c *admissionCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	st, err := c.b.AdmissionStats(ctx, backend.AdmissionStatsParams{})
	if err != nil {
		return // a store without budgets, or a failed read: no sample
	}
	ch <- prometheus.MustNewConstMetric(c.blocked, prometheus.GaugeValue, float64(st.BlockedByBudget), "budget")
	ch <- prometheus.MustNewConstMetric(c.blocked, prometheus.GaugeValue, float64(st.BlockedByQuota), "quota")
	ch <- prometheus.MustNewConstMetric(c.refused, prometheus.CounterValue, float64(st.RefusedByBudget), "budget")
	ch <- prometheus.MustNewConstMetric(c.refused, prometheus.CounterValue, float64(st.RefusedByQuota), "quota")
}
