package fftest

import (
	"context"
	"time"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/worker"
)

// workerGrace bounds a worker's drain when RunUntil or the cleanup stops
// it.
const workerGrace = 5 * time.Second

// running is a worker Start or RunUntil runs.
type running struct {
	w    *worker.Worker
	done chan struct{} // closed when Run returned
}

// NewWorker builds a worker over the engine (in process, or over HTTP
// with WithRemoteWorkers) whose reports wake WaitFor. Defaults: WorkerID
// "fftest", ShutdownGrace 5 s, the engine's logger. Register its
// handlers, then Start it or RunUntil a condition.
func (e *Engine) NewWorker(cfg worker.Config) *worker.Worker {
	e.t.Helper()
	if cfg.WorkerID == "" {
		cfg.WorkerID = "fftest"
	}
	if cfg.ShutdownGrace == 0 {
		cfg.ShutdownGrace = workerGrace
	}
	if cfg.Logger == nil {
		cfg.Logger = e.log
	}
	var t worker.Transport = e.Backend()
	if e.opts.remote {
		t = e.cl
	}
	w, err := worker.New(wrapTransport(t, &e.sig), cfg)
	if err != nil {
		e.t.Fatalf("fftest: new worker: %v", err)
	}
	return w
}

// Start runs w until the test ends (the cleanup drains it).
func (e *Engine) Start(w *worker.Worker) {
	e.t.Helper()
	r := &running{w: w, done: make(chan struct{})}
	e.mu.Lock()
	e.workers = append(e.workers, r)
	e.mu.Unlock()
	go func() {
		defer close(r.done)
		if err := w.Run(e.ctx); err != nil {
			e.log.Error("fftest: worker did not run", "error", err)
		}
	}()
}

// RunUntil runs w until c holds, then stops it gracefully (its running
// handlers finish and report). It fails the test when c does not hold
// within the timeout.
func (e *Engine) RunUntil(w *worker.Worker, c Condition, opts ...WaitOption) {
	e.t.Helper()
	e.Start(w)
	e.WaitFor(c, opts...)
	e.stopWorker(w)
}

// stopWorker drains w and waits for its Run to return.
func (e *Engine) stopWorker(w *worker.Worker) {
	e.mu.Lock()
	var r *running
	for i, x := range e.workers {
		if x.w == w {
			r = x
			e.workers = append(e.workers[:i], e.workers[i+1:]...)
			break
		}
	}
	e.mu.Unlock()
	if r == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*workerGrace)
	defer cancel()
	if err := w.Stop(ctx); err != nil {
		e.t.Errorf("fftest: stop worker %s: %v", w.Config().InstanceID, err)
	}
	<-r.done
}

func (e *Engine) stopWorkers() {
	e.mu.Lock()
	ws := make([]*worker.Worker, len(e.workers))
	for i, r := range e.workers {
		ws[i] = r.w
	}
	e.mu.Unlock()
	for _, w := range ws {
		e.stopWorker(w)
	}
}

// signalTransport passes every call through and wakes the waiters after
// each call that changes an execution, so WaitFor re-checks at once.
type signalTransport struct {
	worker.Transport
	sig *signal
}

// subscribingTransport is a signalTransport over a transport that
// delivers wake-ups, which it keeps.
type subscribingTransport struct {
	signalTransport
	sub worker.WorkSubscriber
}

func (s subscribingTransport) SubscribeWork(ctx context.Context, p backend.SubscribeWorkParams) (<-chan struct{}, func()) {
	return s.sub.SubscribeWork(ctx, p)
}

func wrapTransport(t worker.Transport, sig *signal) worker.Transport {
	st := signalTransport{Transport: t, sig: sig}
	if sub, ok := t.(worker.WorkSubscriber); ok {
		return subscribingTransport{signalTransport: st, sub: sub}
	}
	return st
}

func (s signalTransport) Claim(ctx context.Context, p backend.ClaimParams) ([]backend.ClaimedTask, error) {
	tasks, err := s.Transport.Claim(ctx, p)
	if len(tasks) > 0 {
		s.sig.notify()
	}
	return tasks, err
}

func (s signalTransport) Complete(ctx context.Context, p backend.CompleteParams) error {
	defer s.sig.notify()
	return s.Transport.Complete(ctx, p)
}

func (s signalTransport) CompleteMany(ctx context.Context, ps []backend.CompleteParams) []error {
	defer s.sig.notify()
	return s.Transport.CompleteMany(ctx, ps)
}

func (s signalTransport) Fail(ctx context.Context, p backend.FailParams) (ff.FailOutcome, error) {
	defer s.sig.notify()
	return s.Transport.Fail(ctx, p)
}

func (s signalTransport) Delay(ctx context.Context, p backend.DelayParams) error {
	defer s.sig.notify()
	return s.Transport.Delay(ctx, p)
}

func (s signalTransport) Cancel(ctx context.Context, p backend.CancelParams) error {
	defer s.sig.notify()
	return s.Transport.Cancel(ctx, p)
}

func (s signalTransport) Progress(ctx context.Context, p backend.ProgressParams) error {
	defer s.sig.notify()
	return s.Transport.Progress(ctx, p)
}

func (s signalTransport) ReleaseClaims(ctx context.Context, ps []backend.ReleaseClaimParams) []error {
	defer s.sig.notify()
	return s.Transport.ReleaseClaims(ctx, ps)
}
