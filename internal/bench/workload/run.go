package workload

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// System is a job system under test, already connected to a fresh
// database. Insert may be called before Start (drain) or while the
// workers run (steady).
type System interface {
	// Name identifies the system in the report, e.g. "flowfabric/postgres".
	Name() string
	// Insert creates one job, ready at once, whose input is p's JSON.
	Insert(ctx context.Context, p Payload) error
	// Start starts the workers. Their handlers call probe.Started(p)
	// first thing and do nothing else; probe.Completed(p) is called when
	// the system acknowledges the job's completion to the worker process.
	Start(ctx context.Context, probe *Probe) error
	// Stop stops the workers gracefully.
	Stop(ctx context.Context) error
}

// ErrIncomplete is returned when not every inserted job completed.
var ErrIncomplete = errors.New("not every inserted job completed")

// Run drives sys through the workload and returns the measurements. The
// result is returned even with ErrIncomplete, for diagnosis.
func Run(ctx context.Context, o Options, sys System) (Result, error) {
	if err := o.Validate(); err != nil {
		return Result{}, err
	}
	ctx, cancel := context.WithTimeoutCause(ctx, o.Timeout, fmt.Errorf("bench timed out after %s", o.Timeout))
	defer cancel()
	probe := NewProbe(o.Jobs)
	res := Result{System: sys.Name(), Mode: o.Mode, Jobs: o.Jobs, Workers: o.Workers, Rate: o.Rate}
	ins := &inserter{o: o, sys: sys}
	stopProgress := startProgress(o, ins, probe)
	defer stopProgress()

	cpuFrom := processCPU() // steady: the CPU of the whole run
	started := false
	if o.Mode == ModeSteady {
		if err := sys.Start(ctx, probe); err != nil {
			return res, fmt.Errorf("start workers: %w", err)
		}
		started = true
	}
	inserted, elapsed, insErr := ins.run(ctx)
	res.Inserted, res.InsertElapsed = inserted, elapsed
	if insErr != nil {
		if started {
			_ = sys.Stop(context.WithoutCancel(ctx))
		}
		return res, fmt.Errorf("insert: %w", insErr)
	}
	if !started {
		cpuFrom = processCPU() // drain: the CPU of the work phase
		if err := sys.Start(ctx, probe); err != nil {
			return res, fmt.Errorf("start workers: %w", err)
		}
	}
	waitErr := probe.WaitCompleted(ctx, inserted)
	res.ClientCPU = processCPU() - cpuFrom
	stopErr := sys.Stop(context.WithoutCancel(ctx))
	fill(&res, probe)
	switch {
	case waitErr != nil:
		return res, fmt.Errorf("%w: %d of %d after %v", ErrIncomplete, res.Completed, inserted, waitErr)
	case stopErr != nil:
		return res, fmt.Errorf("stop workers: %w", stopErr)
	case probe.Stray() > 0:
		return res, fmt.Errorf("%d probe calls for jobs outside this run (is the database shared?)", probe.Stray())
	}
	return res, nil
}

func fill(res *Result, probe *Probe) {
	pickup, e2e := probe.Latencies()
	res.Completed = probe.CompletedCount()
	res.WorkElapsed = probe.Window()
	res.Pickup = Summarize(pickup)
	res.EndToEnd = Summarize(e2e)
}

// inserter feeds jobs to the system: as fast as InsertConcurrency
// goroutines allow (drain), or paced so that job i is inserted at
// start + i/Rate (steady).
type inserter struct {
	o        Options
	sys      System
	inserted atomic.Int64
}

// run inserts and returns how many jobs were inserted and the time from
// the first call to the return of the last.
func (in *inserter) run(ctx context.Context) (int, time.Duration, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	start := time.Now()
	var interval time.Duration
	if in.o.Mode == ModeSteady {
		interval = time.Duration(float64(time.Second) / in.o.Rate)
	}
	var wg sync.WaitGroup
	var firstErr error
	var errOnce sync.Once
	for range in.o.InsertConcurrency {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= in.o.Jobs {
					return
				}
				if interval > 0 {
					due := time.Duration(i) * interval
					if in.o.Duration > 0 && due >= in.o.Duration {
						return
					}
					if !sleepUntil(ctx, start.Add(due)) {
						return
					}
				}
				p := Payload{T: time.Now().UnixNano(), N: i}
				if err := in.sys.Insert(ctx, p); err != nil {
					errOnce.Do(func() { firstErr = fmt.Errorf("job %d: %w", i, err) })
					cancel(err)
					return
				}
				in.inserted.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr == nil && ctx.Err() != nil {
		firstErr = context.Cause(ctx)
	}
	return int(in.inserted.Load()), elapsed, firstErr
}

func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}

// startProgress writes a progress line every ProgressInterval until the
// returned function is called.
func startProgress(o Options, in *inserter, probe *Probe) func() {
	if o.Progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(ProgressInterval)
		defer t.Stop()
		begin := time.Now()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				fmt.Fprintf(o.Progress, "progress: t=%.0fs inserted=%d started=%d completed=%d\n",
					time.Since(begin).Seconds(), in.inserted.Load(), probe.StartedCount(), probe.CompletedCount())
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}
