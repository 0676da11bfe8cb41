package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/internal/bench/workload"
	"github.com/flowfabric-go/flowfabric/worker"
)

// ResumeLatencyKey names the last line of a signal-mode report.
const ResumeLatencyKey = "resume_latency_p50_ms"

// signalRun is the state of one signal-mode run: each job is claimed,
// suspends on one fresh waitpoint, is signalled from outside the worker
// (signallers calling DeliverSignal as a webhook would), resumed by the
// next claim and completed. Resume latency is the handler's re-entry
// minus the moment DeliverSignal returned (the signal was accepted and
// committed), measured per job and summarized at the end.
type signalRun struct {
	b        backend.Backend
	accepted sync.Map // ff.ExecutionID -> time.Time
	resumed  sync.Map // ff.ExecutionID -> time.Time
	pending  chan worker.Waitpoint
	done     atomic.Int64
	all      chan struct{}
	jobs     int64
}

// runSignal runs the signal scenario and returns its report; the caller
// prints ResumeLatencyKey last.
func runSignal(ctx context.Context, c *Config, b backend.Backend, name string) (workload.Result, time.Duration, error) {
	res := workload.Result{System: name, Mode: ModeSignal, Jobs: c.Jobs, Workers: c.Workers}
	ctx, cancel := context.WithTimeoutCause(ctx, c.Timeout, fmt.Errorf("bench timed out after %s", c.Timeout))
	defer cancel()
	if _, err := b.SeedWaitpointKey(ctx, backend.SeedWaitpointKeyParams{Generate: true}); err != nil {
		return res, 0, err
	}
	r := &signalRun{b: b, pending: make(chan worker.Waitpoint, c.Jobs), all: make(chan struct{}), jobs: int64(c.Jobs)}
	w, err := worker.New(b, worker.Config{WorkerID: WorkerID, Lanes: []string{Lane}, Concurrency: c.Workers,
		ClaimBatch: c.ClaimBatch, Completers: c.Completers, Logger: c.Logger})
	if err != nil {
		return res, 0, err
	}
	w.Register(Kind, r.handle)
	var wg sync.WaitGroup
	wg.Go(func() { _ = w.Run(ctx) })
	sigErr := make(chan error, c.Workers)
	for range c.Workers {
		wg.Go(func() { sigErr <- r.signaller(ctx) })
	}
	begin := time.Now()
	for n := range c.Jobs {
		if _, err := b.CreateExecution(ctx, backend.CreateExecutionParams{Lane: Lane, Kind: Kind,
			Input: workload.Payload{T: time.Now().UnixNano(), N: n}.Encode()}); err != nil {
			cancel()
			wg.Wait()
			return res, 0, fmt.Errorf("insert job %d: %w", n, err)
		}
	}
	res.Inserted, res.InsertElapsed = c.Jobs, time.Since(begin)
	var waitErr error
	select {
	case <-r.all:
	case <-ctx.Done():
		waitErr = fmt.Errorf("%w: %d of %d jobs resumed: %v", workload.ErrIncomplete, r.done.Load(), c.Jobs, context.Cause(ctx))
	}
	stopErr := w.Stop(context.WithoutCancel(ctx))
	res.WorkElapsed = time.Since(begin)
	close(r.pending)
	wg.Wait()
	close(sigErr)
	res.Completed = int(r.done.Load())
	lat := r.latencies()
	s := workload.Summarize(lat)
	res.Extra = []string{workload.SummaryLine("resume_latency_ms", s)}
	for e := range sigErr {
		waitErr = errors.Join(waitErr, e)
	}
	return res, s.P50, errors.Join(waitErr, stopErr)
}

// handle suspends on the first run and completes on the resumed one.
func (r *signalRun) handle(_ context.Context, t *worker.Task) (any, error) {
	if len(t.ResumedSignals()) > 0 {
		r.resumed.Store(t.ExecutionID, time.Now())
		if r.done.Add(1) == r.jobs {
			close(r.all)
		}
		return nil, nil
	}
	err := t.Suspend(worker.ForSignal("go"))
	var se *worker.SuspendedError
	if errors.As(err, &se) && len(se.Waitpoints) == 1 {
		r.pending <- se.Waitpoints[0]
	}
	return nil, err
}

// signaller delivers one signal per suspended job, as an outside system.
func (r *signalRun) signaller(ctx context.Context) error {
	for wp := range r.pending {
		res, err := r.b.DeliverSignal(ctx, backend.DeliverSignalParams{ExecutionID: wp.ExecutionID, WaitpointID: wp.ID,
			Token: wp.Token, Name: "go", Source: ff.SignalSource{Type: "bench", Identity: "signaller"}})
		now := time.Now()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("signal %s: %w", wp.ExecutionID, err)
		}
		if res.Effect != ff.EffectResumeConditionSatisfied {
			return fmt.Errorf("signal %s: effect %s", wp.ExecutionID, res.Effect)
		}
		r.accepted.Store(wp.ExecutionID, now)
	}
	return nil
}

// latencies pairs each job's acceptance and re-entry. The re-entry may
// come before the signaller saw DeliverSignal's reply; that is 0.
func (r *signalRun) latencies() []time.Duration {
	var out []time.Duration
	r.resumed.Range(func(k, v any) bool {
		if a, ok := r.accepted.Load(k); ok {
			out = append(out, max(v.(time.Time).Sub(a.(time.Time)), 0))
		}
		return true
	})
	return out
}
