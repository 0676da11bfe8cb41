package ffserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"

	"github.com/flowfabric-go/flowfabric/worker"
)

// Start runs the engine: the reconcilers (competing for leadership), the
// HTTP listener when Config.Addr is set, and the workers made so far.
// ctx bounds start-up only; what Start starts runs until Stop. A Server
// starts once: a second Start returns ErrStarted, one after Stop
// ErrStopped.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch s.phase {
	case phaseStarted:
		return ErrStarted
	case phaseStopped:
		return ErrStopped
	}
	var ln net.Listener
	if s.cfg.Addr != "" {
		var err error
		if ln, err = (&net.ListenConfig{}).Listen(ctx, "tcp", s.cfg.Addr); err != nil {
			return fmt.Errorf("listen on %s: %w", s.cfg.Addr, err)
		}
	}
	s.base = context.WithoutCancel(ctx)
	if s.sup != nil {
		if err := s.sup.Start(s.base); err != nil {
			if ln != nil {
				_ = ln.Close()
			}
			return err
		}
	}
	if ln != nil {
		s.http.serve(s.api, ln)
	}
	for _, w := range s.workers {
		s.runWorker(w)
	}
	s.phase = phaseStarted
	return nil
}

// runWorker runs w until Stop drains it. The caller holds mu.
func (s *Server) runWorker(w *worker.Worker) {
	s.running.Go(func() {
		if err := w.Run(s.base); err != nil {
			s.log.Error("ffserver: worker did not run", "instance_id", w.Config().InstanceID, "error", err)
		}
	})
}

// NewWorker builds an in-process worker over Backend() that Start runs
// and Stop drains. Its Logger defaults to Config.Logger, its
// ShutdownGrace to Config.ShutdownGrace and its TracerProvider to
// Config.TracerProvider. Register its handlers before
// Start; once Start has run, NewWorker returns ErrStarted (build the
// worker with worker.New over Backend(), register, then AddWorker), so a
// worker never claims before its handlers exist.
func (s *Server) NewWorker(cfg worker.Config) (*worker.Worker, error) {
	if cfg.Logger == nil {
		cfg.Logger = s.log
	}
	if cfg.ShutdownGrace == 0 {
		cfg.ShutdownGrace = s.cfg.ShutdownGrace
	}
	if cfg.TracerProvider == nil {
		cfg.TracerProvider = s.cfg.TracerProvider
	}
	w, err := worker.New(s.b, cfg)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch s.phase {
	case phaseStarted:
		return nil, ErrStarted
	case phaseStopped:
		return nil, ErrStopped
	}
	s.workers = append(s.workers, w)
	return w, nil
}

// AddWorker hands w (with its handlers registered, not yet running) to
// the server: it runs from Start, or at once if Start has run, and Stop
// drains it. Any worker fits: over Backend() or over a client.
func (s *Server) AddWorker(w *worker.Worker) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.phase == phaseStopped {
		return ErrStopped
	}
	s.workers = append(s.workers, w)
	if s.phase == phaseStarted {
		s.runWorker(w)
	}
	return nil
}

// Stop shuts the engine down in order:
//
//  1. in parallel, the HTTP listener drains (in-flight requests finish
//     within ShutdownGrace; long-polling claims answer at once) and every
//     worker drains (running handlers finish within the worker's
//     ShutdownGrace and their outcomes are written);
//  2. then the reconcilers stop (they kept sweeping during the drain:
//     a lease that expires meanwhile is still reclaimed), within 5 s;
//
// and the store stays open until Close. ctx bounds phase 1: a drain cut
// short by it is reported (a worker's handlers get their contexts
// cancelled and Stop waits for them to return), and the reconcilers still
// get their 5 s. Stop returns the phases' errors joined (a failed listener's error
// included) and is idempotent: later calls return the same result.
func (s *Server) Stop(ctx context.Context) error {
	s.stopOnce.Do(func() { s.stopErr = s.stop(ctx) })
	return s.stopErr
}

func (s *Server) stop(ctx context.Context) error {
	s.mu.Lock()
	started := s.phase == phaseStarted
	s.phase = phaseStopped
	workers := slices.Clone(s.workers)
	s.mu.Unlock()
	if !started {
		s.api.BeginShutdown()
		return nil
	}
	errs := s.drain(ctx, workers)
	// Invariant: no worker runs once the reconcilers stop and the store
	// may close. A worker cut short by ctx has cancelled its handlers'
	// contexts; a handler that ignores its context holds Stop here, as it
	// would hold worker.Run.
	s.running.Wait()
	return errors.Join(append(errs, s.stopReconcilers(ctx))...)
}

// drain runs phase 1: the HTTP drain and every worker's, in parallel.
func (s *Server) drain(ctx context.Context, workers []*worker.Worker) []error {
	errs := make([]error, 1+len(workers))
	var wg sync.WaitGroup
	wg.Go(func() { errs[0] = s.http.drain(ctx, s.api) })
	for i, w := range workers {
		wg.Go(func() {
			if err := w.Stop(ctx); err != nil {
				errs[i+1] = fmt.Errorf("worker %s: %w", w.Config().InstanceID, err)
			}
		})
	}
	wg.Wait()
	return errs
}

// stopReconcilers runs phase 2, bounded by its own timeout so the store
// is never closed under a running sweep because the caller's ctx ran out.
func (s *Server) stopReconcilers(ctx context.Context) error {
	if s.sup == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reconcilerStopTimeout)
	defer cancel()
	if err := s.sup.Stop(ctx); err != nil {
		s.log.Warn("reconcilers did not stop in time", "error", err)
		return fmt.Errorf("reconcilers: %w", err)
	}
	return nil
}

// Run starts the server, waits until ctx ends or serving fails, and
// stops it (Stop's order, with no bound but the graces). It returns
// Stop's error, which includes a serving failure. Close the server
// afterwards to release the store.
func (s *Server) Run(ctx context.Context) error {
	if err := s.Start(ctx); err != nil {
		return err
	}
	select {
	case <-ctx.Done():
	case <-s.Done():
	}
	return s.Stop(context.WithoutCancel(ctx))
}

// Close stops the server if Stop has not run (bounded by ShutdownGrace
// plus the reconcilers' 5 s, returning Stop's error) and then closes the
// store if Open opened it; a Config.Backend stays open. It is idempotent.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownGrace+reconcilerStopTimeout)
		defer cancel()
		var stopErr error
		s.stopOnce.Do(func() {
			s.stopErr = s.stop(ctx)
			stopErr = s.stopErr
		})
		s.closeErr = errors.Join(stopErr, s.closeStore())
	})
	return s.closeErr
}
