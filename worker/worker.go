package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/fftrace"
)

// errStopping is the claim context's cause during a graceful stop.
var errStopping = errors.New("worker: stopping")

// Worker claims executions from its lanes and runs the handler registered
// for each execution's kind, at most Config.Concurrency at a time. Create
// it with New, Register handlers, then call Run.
type Worker struct {
	transport Transport
	cfg       Config
	log       *slog.Logger
	tracer    trace.Tracer // nil when tracing is off

	mu       sync.RWMutex
	registry map[string]Handler

	slots     *slots
	clock     clock          // lease estimates and retry waits
	rnd       func() float64 // retry jitter, in [0, 1)
	stats     stats
	renewer   *renewer
	completer *completer
	running   atomic.Int64   // handlers currently executing
	inflight  sync.WaitGroup // started attempts, until settled
	// executors runs started attempts on Concurrency long-lived
	// goroutines.
	executors *executorPool

	started  atomic.Bool
	killed   atomic.Bool
	stopOnce sync.Once
	killOnce sync.Once
	stopCh   chan struct{} // closed by Stop
	forceCh  chan struct{} // closed when Stop's ctx ends before the drain
	force    sync.Once
	killCh   chan struct{} // closed by Kill
	done     chan struct{} // closed when Run returns

	// Set by Run before the first handler starts.
	hardCtx    context.Context // parent of every handler context
	hardCancel context.CancelCauseFunc
	ioCtx      context.Context // reports and renewals; cancelled by Kill
	claimCtx   context.Context // claims; cancelled by any stop
}

// New returns a worker over t. It validates cfg and applies its defaults.
func New(t Transport, cfg Config) (*Worker, error) {
	if t == nil {
		return nil, ff.Validation(ff.ErrInvalidInput, "worker: nil transport")
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("worker config: %w", err)
	}
	w := &Worker{
		transport: t, cfg: cfg, log: cfg.Logger.With("worker_id", cfg.WorkerID, "instance_id", cfg.InstanceID),
		registry: map[string]Handler{}, slots: newSlots(cfg.Concurrency), clock: realClock{}, rnd: rand.Float64,
		stopCh: make(chan struct{}), forceCh: make(chan struct{}), killCh: make(chan struct{}), done: make(chan struct{}),
	}
	w.tracer = fftrace.Tracer(cfg.TracerProvider)
	w.renewer = newRenewer(w)
	w.completer = newCompleter(w, cfg.Concurrency)
	return w, nil
}

// Config returns the worker's configuration with defaults applied.
func (w *Worker) Config() Config { return w.cfg }

// Register routes executions of kind to h. It panics on an invalid kind,
// a nil handler or a kind registered twice (programming errors). Claimed
// executions of a kind nobody registered fail permanently.
func (w *Worker) Register(kind string, h Handler) {
	if err := ff.ValidateKind(kind); err != nil {
		panic(fmt.Sprintf("worker: Register: %v", err))
	}
	if h == nil {
		panic(fmt.Sprintf("worker: Register(%q): nil handler", kind))
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, dup := w.registry[kind]; dup {
		panic(fmt.Sprintf("worker: Register(%q): kind already registered", kind))
	}
	w.registry[kind] = h
}

func (w *Worker) handler(kind string) Handler {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.registry[kind]
}

// Run claims and runs work until ctx is done or Stop or Kill is called.
// It then stops claiming and drains: running handlers finish and their
// outcomes are reported. A drain longer than Config.ShutdownGrace cancels
// the handlers' contexts (cause ErrShutdown) and waits for them to return,
// so handlers must honour their context. Run returns nil after a stop; it
// may be called once.
func (w *Worker) Run(ctx context.Context) error {
	if !w.started.CompareAndSwap(false, true) {
		return errors.New("worker: Run called more than once")
	}
	defer close(w.done)
	base := context.WithoutCancel(ctx) // handlers outlive ctx during the drain
	w.hardCtx, w.hardCancel = context.WithCancelCause(base)
	ioCtx, ioCancel := context.WithCancelCause(base)
	w.ioCtx = ioCtx
	claimCtx, claimCancel := context.WithCancelCause(ctx)
	w.claimCtx = claimCtx
	supervised := make(chan struct{})
	defer close(supervised)
	go w.supervise(supervised, claimCancel, ioCancel)

	renewCtx, renewCancel := context.WithCancel(ioCtx)
	var bg sync.WaitGroup
	bg.Go(func() { w.renewer.run(renewCtx) })
	for i := range w.cfg.Completers {
		bg.Go(func() { w.completer.run(ioCtx, i > 0) })
	}
	w.log.Info("worker: running", "lanes", w.cfg.Lanes, "concurrency", w.cfg.Concurrency)

	w.executors = newExecutorPool(w.cfg.Concurrency, w.execute)
	var claimers sync.WaitGroup
	for i := 0; i < w.cfg.Claimers; i++ {
		claimers.Go(func() { w.claimLoop(claimCtx) })
	}
	claimers.Wait()
	w.drain()
	w.executors.close()
	w.completer.close()
	renewCancel()
	bg.Wait()
	ioCancel(nil)
	w.hardCancel(nil)
	claimCancel(nil)
	w.log.Info("worker: stopped", "killed", w.killed.Load())
	return nil
}

// stopping reports whether the worker has begun to stop (gracefully or
// not): nothing claimed from now on is started.
func (w *Worker) stopping() bool { return w.claimCtx.Err() != nil }

// supervise turns Stop, a forced stop and Kill into cancellations.
func (w *Worker) supervise(done <-chan struct{}, claimCancel, ioCancel context.CancelCauseFunc) {
	stopCh, forceCh := w.stopCh, w.forceCh
	for {
		select {
		case <-done:
			return
		case <-stopCh:
			claimCancel(errStopping)
			stopCh = nil
		case <-forceCh:
			w.hardCancel(ErrShutdown)
			forceCh = nil
		case <-w.killCh:
			claimCancel(ErrKilled)
			w.hardCancel(ErrKilled)
			ioCancel(ErrKilled)
			return
		}
	}
}

// drain waits for running handlers, cancelling them after the grace
// period.
func (w *Worker) drain() {
	idle := make(chan struct{})
	go func() {
		w.inflight.Wait()
		close(idle)
	}()
	grace := time.NewTimer(w.cfg.ShutdownGrace)
	defer grace.Stop()
	select {
	case <-idle:
		return
	case <-grace.C:
		w.log.Warn("worker: shutdown grace expired; cancelling running handlers", "running", w.running.Load())
		w.hardCancel(ErrShutdown)
	case <-w.forceCh:
	case <-w.killCh:
	}
	<-idle
}

// Stop stops claiming and waits until running handlers have finished and
// their outcomes are reported (bounded by Config.ShutdownGrace). If ctx
// ends first, the handlers' contexts are cancelled (cause ErrShutdown)
// and Stop returns ctx's error without waiting further. Stop before Run
// makes Run return at once.
func (w *Worker) Stop(ctx context.Context) error {
	w.stopOnce.Do(func() { close(w.stopCh) })
	if !w.started.Load() {
		return nil
	}
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		w.force.Do(func() { close(w.forceCh) })
		return ctx.Err()
	}
}

// Kill stops the worker hard, as a crash would: no more claims or
// renewals, running handlers' contexts are cancelled (cause ErrKilled) and
// their outcomes are never reported, so their leases expire and the
// executions are reclaimed elsewhere. It returns once Run has returned,
// so it must not be called from a handler.
func (w *Worker) Kill() {
	w.killOnce.Do(func() {
		w.killed.Store(true)
		close(w.killCh)
	})
	if w.started.Load() {
		<-w.done
	}
}
