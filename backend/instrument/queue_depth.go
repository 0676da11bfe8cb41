package instrument

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flowfabric-go/flowfabric/backend"
)

// Queue-depth scrape bounds: a scrape reads at most maxLanes lanes, in
// pages of pageSize, within scrapeTimeout; a slow or huge store yields a
// partial sample, never a stuck scrape.
const (
	maxLanes      = 1000
	pageSize      = 200
	scrapeTimeout = 2 * time.Second
)

// queueDepthCollector reports executions per lane and public state from
// ListLanes at scrape time; lanes beyond the label cap are summed under
// OtherLane.
type queueDepthCollector struct {
	b      backend.Backend
	lanes  *laneLabels
	depth  *prometheus.Desc
	errors prometheus.Counter
}

func newQueueDepthCollector(b backend.Backend, lanes *laneLabels) *queueDepthCollector {
	return &queueDepthCollector{
		b: b, lanes: lanes,
		depth: prometheus.NewDesc("ff_queue_depth", "Executions per lane and public state, read at scrape time.",
			[]string{"lane", "public_state"}, nil),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ff_queue_depth_scrape_errors_total", Help: "Queue-depth scrapes that failed to read the lanes.",
		}),
	}
}

func (c *queueDepthCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.depth
	c.errors.Describe(ch)
}

func (c *queueDepthCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	depth := map[[2]string]int64{} // (lane label, public state) → count
	cursor, seen := "", 0
	for seen < maxLanes {
		page, err := c.b.ListLanes(ctx, backend.ListLanesParams{Cursor: cursor, Limit: min(pageSize, maxLanes-seen)})
		if err != nil {
			c.errors.Inc()
			break
		}
		for _, l := range page.Lanes {
			label := c.lanes.exists(l.Name)
			for state, n := range l.Counts {
				depth[[2]string{label, string(state)}] += n
			}
		}
		seen += len(page.Lanes)
		if page.NextCursor == "" || len(page.Lanes) == 0 {
			break
		}
		cursor = page.NextCursor
	}
	for k, n := range depth {
		ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(n), k[0], k[1])
	}
	c.errors.Collect(ch)
}
