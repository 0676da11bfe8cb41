package engine

import (
	"context"
	"errors"
)

// Sweep runs every reconciler once, in order, each until it changes
// less than a batch, and returns how many items each changed (by
// reconciler name). It does not take leadership: it is for tests (fftest
// drives the reconcilers with a fake clock through it) and single-process
// tools. A sweep that fails does not stop the others; their errors are
// joined.
func (s *Supervisor) Sweep(ctx context.Context) (map[string]int, error) {
	out := make(map[string]int, len(s.recs))
	var errs []error
	for _, sc := range s.recs {
		for ctx.Err() == nil {
			n, err := sc.r.runOnce(ctx)
			out[sc.r.name()] += n
			if err != nil {
				errs = append(errs, err)
				break
			}
			if n < s.cfg.BatchSize {
				break
			}
		}
	}
	if err := ctx.Err(); err != nil {
		errs = append(errs, err)
	}
	return out, errors.Join(errs...)
}
