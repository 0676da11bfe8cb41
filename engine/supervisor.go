package engine

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flowfabric-go/flowfabric/backend"
)

// releaseTimeout bounds giving the leader lease back on the way out.
const releaseTimeout = 5 * time.Second

// Supervisor runs the reconcilers while it holds the leader lease.
//
// Invariant: reconcilers run only between a successful TryAcquireLeader
// and the moment the lease is lost or the supervisor stops; the lease is
// released only after every reconciler goroutine has returned, so two
// supervisors never sweep at the same time through a hand-over.
type Supervisor struct {
	m    backend.Maintenance
	cfg  Config
	log  *slog.Logger
	recs []scheduled

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}

	leading atomic.Bool
}

// New builds a supervisor over m. It starts nothing until Start.
func New(m backend.Maintenance, cfg Config) (*Supervisor, error) {
	if m == nil {
		return nil, errors.New("engine: nil backend")
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Supervisor{m: m, cfg: cfg, log: cfg.Logger.With(slog.String("component", "reconcilers"))}
	b := cfg.BatchSize
	s.recs = []scheduled{
		{&leaseExpiry{m, b}, cfg.LeaseExpiryInterval},
		{&delayedPromoter{m, b}, cfg.PromoterInterval},
		{&attemptTimeout{m, b}, cfg.AttemptTimeoutInterval},
		{&executionDeadline{m, b}, cfg.DeadlineInterval},
		{&idempotencyExpiry{m, b}, cfg.IdempotencyExpiryInterval},
	}
	if cfg.Events != nil && cfg.EventRetention > 0 {
		s.recs = append(s.recs, scheduled{&eventRetention{cfg.Events, cfg.EventRetention, b, time.Now}, cfg.EventRetentionInterval})
	}
	if cfg.Schedules != nil {
		s.recs = append(s.recs, scheduled{&scheduleFirer{cfg.Schedules, b, cfg.ScheduleGrace}, cfg.ScheduleInterval})
	}
	if cfg.Streams != nil {
		s.recs = append(s.recs, scheduled{&streamRetention{cfg.Streams, b, cfg.StreamRetention}, cfg.StreamRetentionInterval})
	}
	if cfg.Flows != nil {
		s.recs = append(s.recs, scheduled{&flowCancels{cfg.Flows, b}, cfg.FlowCancelInterval},
			scheduled{&flowRepair{cfg.Flows, b}, cfg.FlowRepairInterval})
	}
	if bs := cfg.Budgets; bs != nil {
		s.recs = append(s.recs,
			scheduled{&budgetReset{bs, b}, cfg.BudgetResetInterval},
			scheduled{&quotaUnblock{bs, b}, cfg.QuotaUnblockInterval},
			scheduled{&quotaRepair{bs, b}, cfg.QuotaRepairInterval},
			scheduled{&usageDedupExpiry{bs, b}, cfg.UsageDedupInterval})
	}
	if cfg.Waitpoints != nil {
		s.recs = append(s.recs, scheduled{&suspensionTimeout{cfg.Waitpoints, b}, cfg.SuspensionTimeoutInterval},
			scheduled{&pendingWaitpointExpiry{cfg.Waitpoints, b}, cfg.PendingWaitpointInterval})
	}
	return s, nil
}

// Start launches the supervisor in the background. It runs until Stop is
// called or ctx is done. Starting twice is an error.
func (s *Supervisor) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done != nil {
		return errors.New("engine: supervisor already started")
	}
	runCtx, cancel := context.WithCancel(ctx)
	s.cancel, s.done = cancel, make(chan struct{})
	go s.run(runCtx, s.done)
	return nil
}

// Stop stops the reconcilers, releases leadership and waits for every
// goroutine to return, or for ctx to end. Stop is safe to call more than
// once and before Start.
func (s *Supervisor) Stop(ctx context.Context) error {
	s.mu.Lock()
	cancel, done := s.cancel, s.done
	s.mu.Unlock()
	if done == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Leading reports whether this supervisor currently runs the reconcilers.
func (s *Supervisor) Leading() bool { return s.leading.Load() }

// run competes for leadership until ctx is done. After losing
// leadership it retries at once; after failing to acquire it waits one
// retry interval.
func (s *Supervisor) run(ctx context.Context, done chan struct{}) {
	defer close(done)
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		lease, err := s.m.TryAcquireLeader(ctx, backend.LeaderParams{Name: s.cfg.LeaderName})
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.LogAttrs(ctx, slog.LevelWarn, "reconciler leadership acquisition failed", slog.Any("error", err))
		case err == nil && lease != nil:
			s.lead(ctx, lease)
			t.Reset(0)
			continue
		}
		t.Reset(s.cfg.LeaderRetryInterval)
	}
}

// lead runs every reconciler until the lease is lost or ctx is done,
// then stops them and releases the lease.
func (s *Supervisor) lead(ctx context.Context, lease backend.LeaderLease) {
	s.setLeading(ctx, true)
	runCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, sc := range s.recs {
		wg.Go(func() { s.loop(runCtx, sc) })
	}
	select {
	case <-lease.Lost():
		s.log.LogAttrs(ctx, slog.LevelWarn, "reconciler leadership lost")
	case <-ctx.Done():
	}
	cancel()
	wg.Wait()
	s.setLeading(ctx, false)
	relCtx, relCancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer relCancel()
	if err := lease.Release(relCtx); err != nil {
		s.log.LogAttrs(ctx, slog.LevelWarn, "reconciler leadership release failed", slog.Any("error", err))
	}
}

func (s *Supervisor) setLeading(ctx context.Context, held bool) {
	s.leading.Store(held)
	if held {
		s.log.LogAttrs(ctx, slog.LevelInfo, "reconciler leadership acquired", slog.String("leader", s.cfg.LeaderName))
	} else {
		s.log.LogAttrs(ctx, slog.LevelInfo, "reconciler leadership released", slog.String("leader", s.cfg.LeaderName))
	}
	if lo, ok := s.cfg.Observer.(LeaderObserver); ok {
		lo.ObserveLeader(held)
	}
}
