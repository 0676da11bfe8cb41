package worker

import "sync/atomic"

// Stats are a worker's counters since New, for logs, metrics and tests.
type Stats struct {
	// ReportsAbandoned counts outcomes (complete, fail, delay, cancel)
	// the worker stopped retrying because the attempt's lease ran out
	// while the engine kept answering with retryable errors (or not at
	// all). Each was logged at warn; the execution is reclaimed once its
	// lease expires, and its handler may run again.
	ReportsAbandoned int64
	// RenewalsAbandoned counts leases the worker stopped renewing because
	// every renewal failed until the lease's expiry; the handler's context
	// was cancelled with ErrLeaseLost. Each was logged at warn.
	RenewalsAbandoned int64
	// ClaimsReleased counts claimed tasks given back unstarted when the
	// worker stopped (claimable again at once, no reclaim counted).
	ClaimsReleased int64
}

// stats holds the live counters behind Stats.
type stats struct {
	reportsAbandoned  atomic.Int64
	renewalsAbandoned atomic.Int64
	claimsReleased    atomic.Int64
}

// Stats returns the worker's counters. It is safe to call at any time.
func (w *Worker) Stats() Stats {
	return Stats{
		ReportsAbandoned:  w.stats.reportsAbandoned.Load(),
		RenewalsAbandoned: w.stats.renewalsAbandoned.Load(),
		ClaimsReleased:    w.stats.claimsReleased.Load(),
	}
}
