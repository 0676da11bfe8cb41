package bench

import (
	"context"
	"fmt"
	"sync"
	"time"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/internal/bench/workload"
	"github.com/flowfabric-go/flowfabric/worker"
)

// runCrash measures lease expiry to reclaim. A victim worker with
// LeaseTTL leases claims Workers jobs (one per slot) and blocks in every
// handler; the jobs are inserted one by one, spread over one lease-expiry
// sweep interval, so that their leases expire at every phase of the sweep
// (as crashes do in production) rather than all at one instant. Once all
// are running the victim is killed: nothing more is renewed or reported.
// The lease expiry of each execution is read back from the backend and a
// rescuer worker starts at once; the reconcilers' sweep marks the leases
// expired and the rescuer reclaims them. Reclaim latency is the rescuer's
// handler start minus the lease expiry.
func runCrash(ctx context.Context, c *Config, b backend.Backend, name string) (workload.Result, error) {
	k := c.Workers
	res := workload.Result{System: name, Mode: ModeCrash, Jobs: k, Workers: k}
	ctx, cancel := context.WithTimeoutCause(ctx, c.Timeout, fmt.Errorf("bench timed out after %s", c.Timeout))
	defer cancel()

	ids, inserted, err := holdAndKill(ctx, c, b, k)
	res.Inserted, res.InsertElapsed = len(ids), inserted
	if err != nil {
		return res, err
	}
	expiry := make(map[ff.ExecutionID]int64, k)
	for _, id := range ids {
		snap, err := b.DescribeExecution(ctx, backend.DescribeExecutionParams{ExecutionID: id})
		if err != nil {
			return res, fmt.Errorf("read lease of %s: %w", id, err)
		}
		if snap.Lease == nil || ff.MsFromTime(snap.Lease.ExpiresAt) == 0 {
			return res, fmt.Errorf("execution %s holds no lease after the crash (state %s)", id, snap.PublicState)
		}
		expiry[id] = ff.MsFromTime(snap.Lease.ExpiresAt)
	}

	rescue := newSystem(b, name, c)
	var mu sync.Mutex
	var reclaim []time.Duration
	notReclaim := 0
	probe := workload.NewProbe(k)
	rescue.probe = probe
	t := ackTransport{Backend: b, s: rescue}
	w, err := worker.New(t, worker.Config{WorkerID: WorkerID, Lanes: []string{Lane}, Concurrency: k,
		ClaimBatch: c.ClaimBatch, Completers: c.Completers, Logger: c.Logger})
	if err != nil {
		return res, err
	}
	w.Register(Kind, func(ctx context.Context, task *worker.Task) (any, error) {
		now := time.Now().UnixMilli()
		mu.Lock()
		if task.AttemptType == ff.AttemptReclaim {
			reclaim = append(reclaim, time.Duration(now-expiry[task.ExecutionID])*time.Millisecond)
		} else {
			notReclaim++
		}
		mu.Unlock()
		return rescue.handle(ctx, task)
	})
	rescue.workers = append(rescue.workers, w)
	rescue.wg.Go(func() { _ = w.Run(ctx) })
	waitErr := probe.WaitCompleted(ctx, k)
	stopErr := rescue.Stop(context.WithoutCancel(ctx))

	pickup, e2e := probe.Latencies()
	res.Completed, res.WorkElapsed = probe.CompletedCount(), probe.Window()
	res.Pickup, res.EndToEnd = workload.Summarize(pickup), workload.Summarize(e2e)
	mu.Lock()
	rs := workload.Summarize(reclaim)
	res.Extra = []string{
		fmt.Sprintf("lease_ttl_ms=%d lease_expiry_interval_ms=%d reclaimed=%d not_reclaim_attempts=%d",
			c.LeaseTTL.Milliseconds(), c.Engine.LeaseExpiryInterval.Milliseconds(), len(reclaim), notReclaim),
		workload.SummaryLine("reclaim_latency_ms", rs),
	}
	mu.Unlock()
	switch {
	case waitErr != nil:
		return res, fmt.Errorf("%w: %d of %d reclaimed jobs completed after %v", workload.ErrIncomplete, res.Completed, k, waitErr)
	case stopErr != nil:
		return res, stopErr
	case notReclaim > 0:
		return res, fmt.Errorf("%d jobs were started by the rescuer without a reclaim attempt", notReclaim)
	}
	return res, nil
}

// holdAndKill runs a victim worker whose handlers block, inserts k jobs
// spread over one sweep interval, waits until all k are running and kills
// the victim. It returns the jobs' ids and the insert phase's duration.
func holdAndKill(ctx context.Context, c *Config, b backend.Backend, k int) ([]ff.ExecutionID, time.Duration, error) {
	victim, err := worker.New(b, worker.Config{WorkerID: WorkerID, Lanes: []string{Lane}, Concurrency: k,
		LeaseTTL: c.LeaseTTL, ClaimBatch: c.ClaimBatch, Completers: c.Completers, Logger: c.Logger})
	if err != nil {
		return nil, 0, err
	}
	var mu sync.Mutex
	running := 0
	all := make(chan struct{})
	victim.Register(Kind, func(ctx context.Context, _ *worker.Task) (any, error) {
		mu.Lock()
		running++
		if running == k {
			close(all)
		}
		mu.Unlock()
		<-ctx.Done()
		return nil, context.Cause(ctx)
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = victim.Run(ctx)
	}()
	kill := func() {
		victim.Kill()
		<-done
	}

	ids := make([]ff.ExecutionID, 0, k)
	spacing := c.Engine.LeaseExpiryInterval / time.Duration(k)
	begin := time.Now()
	for n := range k {
		if !sleepCtx(ctx, time.Until(begin.Add(time.Duration(n)*spacing))) {
			break
		}
		r, err := b.CreateExecution(ctx, backend.CreateExecutionParams{Lane: Lane, Kind: Kind,
			Input: workload.Payload{T: time.Now().UnixNano(), N: n}.Encode()})
		if err != nil {
			kill()
			return ids, time.Since(begin), fmt.Errorf("insert job %d: %w", n, err)
		}
		ids = append(ids, r.ExecutionID)
	}
	inserted := time.Since(begin)
	select {
	case <-all:
	case <-ctx.Done():
		kill()
		return ids, inserted, fmt.Errorf("victim worker did not start all %d jobs: %w", k, context.Cause(ctx))
	}
	kill()
	return ids, inserted, nil
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
