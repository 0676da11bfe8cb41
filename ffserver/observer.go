package ffserver

import (
	"time"

	"github.com/flowfabric-go/flowfabric/engine"
)

// observers passes every reconciler observation to the server's metrics
// and to the program's own observer (Config.Engine.Observer), so giving
// one does not cost the metrics.
type observers []engine.Observer

func (o observers) Observe(name string, n int, err error, d time.Duration) {
	for _, x := range o {
		x.Observe(name, n, err, d)
	}
}

func (o observers) ObserveLeader(held bool) {
	for _, x := range o {
		if lo, ok := x.(engine.LeaderObserver); ok {
			lo.ObserveLeader(held)
		}
	}
}

// withMetrics returns metrics, or metrics and own when the program gave
// an observer of its own.
func withMetrics(metrics, own engine.Observer) engine.Observer {
	if own == nil {
		return metrics
	}
	return observers{metrics, own}
}
