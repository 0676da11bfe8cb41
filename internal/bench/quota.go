package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/internal/bench/workload"
	"github.com/flowfabric-go/flowfabric/worker"
)

// Quota mode defaults and bounds.
const (
	DefaultQuotaConcurrency = 8
	DefaultQuotaDuration    = 30 * time.Second
	// QuotaTolerance is the largest accepted relative deviation of the
	// achieved rate from the quota's.
	QuotaTolerance = 0.05
	quotaRateID    = "bench-rate"
	quotaCapID     = "bench-concurrency"
	// quotaUnblockInterval is the window-unblock sweep's interval in
	// quota mode (the engine's floor): how late a freed window is reused.
	quotaUnblockInterval = 10 * time.Millisecond
)

// runQuota measures admission under two quotas on every job: a rate of
// Rate admissions per 1 s window and a concurrency cap. Enough jobs for
// Duration at the rate (plus 10%) are inserted first, so the rate quota
// is the only limit; each handler runs 0.25·cap/rate seconds, so the cap
// is reached without limiting the rate. The achieved rate is read from
// the store (each execution's start is its admission, stamped in the
// claim's transaction) over Duration from the first admission; the
// concurrency is measured by the handlers (running at once, counted
// between handler start and end, so never above the slots held) and by
// sampling the quota's slot count.
func runQuota(ctx context.Context, c *Config, b backend.Backend, name string) (workload.Result, error) {
	rate, dur, capN := c.Rate, c.Duration, int64(c.QuotaConcurrency)
	jobs := int(rate*dur.Seconds()*1.1) + int(capN)
	res := workload.Result{System: name, Mode: ModeQuota, Jobs: jobs, Workers: c.Workers, Rate: rate}
	ctx, cancel := context.WithTimeoutCause(ctx, c.Timeout, fmt.Errorf("bench timed out after %s", c.Timeout))
	defer cancel()
	if err := createBenchQuotas(ctx, b, int64(rate), capN); err != nil {
		return res, err
	}
	start := time.Now()
	ids, err := insertQuotaJobs(ctx, b, jobs, c.InsertConcurrency)
	res.Inserted, res.InsertElapsed = len(ids), time.Since(start)
	if err != nil {
		return res, err
	}
	m, err := runQuotaWorker(ctx, c, b, time.Duration(0.25*float64(capN)/rate*float64(time.Second)))
	if err != nil {
		return res, err
	}
	starts, err := admissionTimes(ctx, b, ids)
	if err != nil {
		return res, err
	}
	return quotaReport(res, c, starts, m)
}

func createBenchQuotas(ctx context.Context, b backend.Backend, rate, capN int64) error {
	for _, q := range []ff.QuotaDefinition{{ID: quotaRateID, WindowMs: 1000, MaxPerWindow: rate}, {ID: quotaCapID, MaxConcurrent: capN}} {
		if _, err := b.CreateQuota(ctx, backend.CreateQuotaParams{QuotaDefinition: q}); err != nil {
			return fmt.Errorf("create quota %s: %w", q.ID, err)
		}
	}
	return nil
}

// insertQuotaJobs inserts n jobs under both quotas with conc goroutines.
func insertQuotaJobs(ctx context.Context, b backend.Backend, n, conc int) ([]ff.ExecutionID, error) {
	pol := &ff.ExecutionPolicy{QuotaIDs: []string{quotaRateID, quotaCapID}}
	ids := make([]ff.ExecutionID, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, max(conc, 1))
	for g := range max(conc, 1) {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n && errs[g] == nil; i = int(next.Add(1)) - 1 {
				r, err := b.CreateExecution(ctx, backend.CreateExecutionParams{Lane: Lane, Kind: Kind, Policy: pol,
					Input: workload.Payload{T: time.Now().UnixNano(), N: i}.Encode()})
				ids[i], errs[g] = r.ExecutionID, err
			}
		})
	}
	wg.Wait()
	return ids, errors.Join(errs...)
}

// quotaMeasure is what the worker side measured.
type quotaMeasure struct {
	peakHandlers, peakSlots int64
	started                 int64
}

// runQuotaWorker runs the handlers for Duration from the first start,
// sampling the cap's slots every 20 ms.
func runQuotaWorker(ctx context.Context, c *Config, b backend.Backend, hold time.Duration) (quotaMeasure, error) {
	var m quotaMeasure
	var running atomic.Int64
	first := make(chan struct{})
	var once sync.Once
	w, err := worker.New(b, worker.Config{WorkerID: WorkerID, Lanes: []string{Lane}, Concurrency: c.Workers,
		ClaimBatch: c.ClaimBatch, Completers: c.Completers, Logger: c.Logger})
	if err != nil {
		return m, err
	}
	w.Register(Kind, func(ctx context.Context, _ *worker.Task) (any, error) {
		once.Do(func() { close(first) })
		n := running.Add(1)
		atomicMax(&m.peakHandlers, n)
		atomic.AddInt64(&m.started, 1)
		defer running.Add(-1) // before the completion: never above the slots held
		select {
		case <-time.After(hold):
		case <-ctx.Done():
		}
		return nil, nil
	})
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	sampleDone := make(chan struct{})
	go func() {
		defer close(sampleDone)
		sampleSlots(wctx, b, &m.peakSlots)
	}()
	select {
	case <-first:
	case <-ctx.Done():
		return m, context.Cause(ctx)
	}
	timer := time.NewTimer(c.Duration + 2*time.Second) // the last window's admissions finish
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
		return m, context.Cause(ctx)
	}
	err = w.Stop(context.WithoutCancel(ctx))
	stop()
	<-done
	<-sampleDone
	return m, err
}

func atomicMax(p *int64, n int64) {
	for old := atomic.LoadInt64(p); n > old && !atomic.CompareAndSwapInt64(p, old, n); old = atomic.LoadInt64(p) {
	}
}

func sampleSlots(ctx context.Context, b backend.Backend, peak *int64) {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		if st, err := b.GetQuota(ctx, backend.GetQuotaParams{QuotaID: quotaCapID}); err == nil {
			atomicMax(peak, st.ActiveConcurrency)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// admissionTimes reads each started job's admission (its start), sorted.
func admissionTimes(ctx context.Context, b backend.Backend, ids []ff.ExecutionID) ([]int64, error) {
	var out []int64
	for _, id := range ids {
		s, err := b.DescribeExecution(ctx, backend.DescribeExecutionParams{ExecutionID: id})
		if err != nil {
			return nil, fmt.Errorf("read start of %s: %w", id, err)
		}
		if !s.StartedAt.IsZero() {
			out = append(out, ff.MsFromTime(s.StartedAt))
		}
	}
	slices.Sort(out)
	return out, nil
}

// quotaReport computes the figures and checks them.
func quotaReport(res workload.Result, c *Config, starts []int64, m quotaMeasure) (workload.Result, error) {
	if len(starts) == 0 {
		return res, fmt.Errorf("%w: no job started", workload.ErrIncomplete)
	}
	durMs := c.Duration.Milliseconds()
	t0 := starts[0]
	inRun := 0
	for _, s := range starts {
		if s < t0+durMs {
			inRun++
		}
	}
	maxWin := 0
	for i, j := 0, 0; j < len(starts); j++ {
		for starts[j]-starts[i] >= 1000 {
			i++
		}
		maxWin = max(maxWin, j-i+1)
	}
	achieved := float64(inRun) / c.Duration.Seconds()
	dev := achieved/c.Rate - 1
	res.Completed, res.WorkElapsed = inRun, c.Duration
	res.Extra = []string{
		fmt.Sprintf("quota_rate_target_per_s=%.0f quota_rate_achieved_per_s=%.2f deviation_pct=%.2f admitted_in_run=%d max_admitted_in_any_1s_window=%d",
			c.Rate, achieved, 100*dev, inRun, maxWin),
		fmt.Sprintf("concurrency_cap=%d peak_handlers_running=%d peak_slots_sampled=%d unblock_interval_ms=%d",
			c.QuotaConcurrency, m.peakHandlers, m.peakSlots, quotaUnblockInterval.Milliseconds()),
	}
	switch {
	case math.Abs(dev) > QuotaTolerance:
		return res, fmt.Errorf("quota rate %.2f/s is %.1f%% off the quota's %.0f/s (tolerance %.0f%%)", achieved, 100*dev, c.Rate, 100*QuotaTolerance)
	case maxWin > int(c.Rate):
		return res, fmt.Errorf("%d admissions in one 1 s window, above the quota's %.0f", maxWin, c.Rate)
	case m.peakHandlers > int64(c.QuotaConcurrency) || m.peakSlots > int64(c.QuotaConcurrency):
		return res, fmt.Errorf("concurrency cap %d exceeded: %d handlers, %d slots", c.QuotaConcurrency, m.peakHandlers, m.peakSlots)
	}
	return res, nil
}
