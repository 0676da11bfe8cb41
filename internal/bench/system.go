package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/internal/bench/workload"
	"github.com/flowfabric-go/flowfabric/worker"
)

// group is one worker of the system: its concurrency and the capability
// tokens it offers.
type group struct {
	caps        []string
	concurrency int
}

// system is FlowFabric under test: the worker SDK in-process over the
// backend, one worker per group, no-op handlers.
type system struct {
	b      backend.Backend
	name   string
	cfg    *Config
	groups []group
	// capsOf gives job n's required capabilities (nil: none).
	capsOf func(n int) []string

	probe    *workload.Probe
	inflight sync.Map // ff.ExecutionID -> workload.Payload, handler start to ack
	workers  []*worker.Worker
	wg       sync.WaitGroup
}

var _ workload.System = (*system)(nil)

func newSystem(b backend.Backend, name string, cfg *Config) *system {
	return &system{b: b, name: name, cfg: cfg, groups: []group{{concurrency: cfg.Workers}}}
}

func (s *system) Name() string { return s.name }

// Insert creates one ready execution whose input is p's JSON.
func (s *system) Insert(ctx context.Context, p workload.Payload) error {
	params := backend.CreateExecutionParams{Lane: Lane, Kind: Kind, Input: p.Encode()}
	if s.capsOf != nil {
		params.RequiredCapabilities = s.capsOf(p.N)
	}
	_, err := s.b.CreateExecution(ctx, params)
	return err
}

// Start starts one worker per group over the acknowledging transport.
func (s *system) Start(ctx context.Context, probe *workload.Probe) error {
	s.probe = probe
	t := ackTransport{Backend: s.b, s: s}
	for _, g := range s.groups {
		w, err := worker.New(t, worker.Config{
			WorkerID: WorkerID, Lanes: []string{Lane}, Capabilities: g.caps,
			Concurrency: g.concurrency, ClaimBatch: s.cfg.ClaimBatch, Completers: s.cfg.Completers, Logger: s.cfg.Logger,
		})
		if err != nil {
			return err
		}
		w.Register(Kind, s.handle)
		s.workers = append(s.workers, w)
	}
	for _, w := range s.workers {
		s.wg.Go(func() { _ = w.Run(ctx) })
	}
	return nil
}

// handle is the no-op handler: it records the start and remembers the
// payload until the completion is acknowledged.
func (s *system) handle(_ context.Context, t *worker.Task) (any, error) {
	p, err := workload.DecodePayload(t.Input)
	if err != nil {
		return nil, worker.Permanent(err)
	}
	s.probe.Started(p)
	s.inflight.Store(t.ExecutionID, p)
	return nil, nil
}

// acked records an acknowledged completion, once per execution.
func (s *system) acked(id ff.ExecutionID) {
	if v, ok := s.inflight.LoadAndDelete(id); ok {
		s.probe.Completed(v.(workload.Payload))
	}
}

// Stop stops every worker gracefully and waits for their Run.
func (s *system) Stop(ctx context.Context) error {
	var errs []error
	for _, w := range s.workers {
		if err := w.Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop worker: %w", err))
		}
	}
	s.wg.Wait()
	return errors.Join(errs...)
}

// ackTransport is the backend as the worker's transport, observing
// completion acknowledgements: the moment Complete or CompleteMany
// returned success for an execution is its end-to-end end point.
type ackTransport struct {
	backend.Backend
	s *system
}

func (a ackTransport) Complete(ctx context.Context, p backend.CompleteParams) error {
	err := a.Backend.Complete(ctx, p)
	if err == nil {
		a.s.acked(p.Handle.Lease.ExecutionID)
	}
	return err
}

func (a ackTransport) CompleteMany(ctx context.Context, ps []backend.CompleteParams) []error {
	errs := a.Backend.CompleteMany(ctx, ps)
	for i, p := range ps {
		// A missing entry is unanswered, not acknowledged: the SDK
		// retries it with Complete, which is observed above.
		if i < len(errs) && errs[i] == nil {
			a.s.acked(p.Handle.Lease.ExecutionID)
		}
	}
	return errs
}
