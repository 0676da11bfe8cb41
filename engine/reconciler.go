package engine

import (
	"context"
	"log/slog"
	"time"
)

// reconciler is one batched sweep. runOnce changes at most the
// configured batch of items and reports how many it changed.
type reconciler interface {
	name() string
	runOnce(ctx context.Context) (int, error)
}

// scheduled pairs a reconciler with its interval.
type scheduled struct {
	r     reconciler
	every time.Duration
}

// loop sweeps at once, then every interval until ctx is done. A sweep
// that changed a full batch is repeated at once, so a backlog drains
// without waiting for the next tick.
func (s *Supervisor) loop(ctx context.Context, sc scheduled) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for ctx.Err() == nil {
			n, err := s.sweep(ctx, sc.r)
			if err != nil || n < s.cfg.BatchSize {
				break
			}
		}
		t.Reset(sc.every)
	}
}

// sweep runs one runOnce, reports it to the observer and logs failures.
// A sweep cut short by shutdown is neither logged nor observed.
func (s *Supervisor) sweep(ctx context.Context, r reconciler) (int, error) {
	start := time.Now()
	n, err := r.runOnce(ctx)
	d := time.Since(start)
	if err != nil && ctx.Err() != nil {
		return n, err
	}
	if s.cfg.Observer != nil {
		s.cfg.Observer.Observe(r.name(), n, err, d)
	}
	switch {
	case err != nil:
		s.log.LogAttrs(ctx, slog.LevelWarn, "reconciler sweep failed",
			slog.String("reconciler", r.name()), slog.Any("error", err), slog.Duration("took", d))
	case n > 0:
		s.log.LogAttrs(ctx, slog.LevelDebug, "reconciler sweep",
			slog.String("reconciler", r.name()), slog.Int("changed", n), slog.Duration("took", d))
	}
	return n, err
}
