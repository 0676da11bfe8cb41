package sqlite

import (
	"context"
	"errors"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// transition applies a fenced transition to e at now. changed reports
// whether e must be written (a replayed terminal operation writes
// nothing).
type transition func(e *ff.Execution, now int64) (fx *ff.Effects, changed bool, fr ff.FenceResult, err error)

// fenced loads the handle's execution and applies t. When the fence check
// itself marked the lease expired, the mark is written and the error is
// returned as *commitThen so that it is committed.
func (w *writeTx) fenced(h ff.Handle, t transition) error {
	if err := h.CheckBackend(ff.BackendSQLite); err != nil {
		return err
	}
	r, err := w.load(h.Lease.ExecutionID)
	if err != nil {
		return err
	}
	was := r.e.Claimable()
	fx, changed, fr, err := t(&r.e, w.now)
	if err != nil {
		if fr.MarkedExpired {
			if serr := w.save(r, was, fr.Effects); serr != nil {
				return serr
			}
			return &commitThen{err}
		}
		return err
	}
	if !changed {
		return nil
	}
	return w.save(r, was, fx)
}

// itemError splits the outcome of one item of a batch: a *commitThen
// becomes that item's error (its expiry mark is committed with the
// batch); another domain error is the item's alone, since a failed
// transition writes nothing; a transport error or a bug may have left a
// partial write, so it aborts the whole batch.
func itemError(err error) (item, abort error) {
	if err == nil {
		return nil, nil
	}
	var keep *commitThen
	if errors.As(err, &keep) {
		return keep.err, nil
	}
	if ee, ok := ff.AsError(err); ok && ee.Class != ff.ClassTransport && ee.Class != ff.ClassBug {
		return err, nil
	}
	return nil, err
}

// renewTransition extends the lease by the TTL stored at claim: no field
// of the handle but its fence is read.
func renewTransition(h ff.Handle, out *backend.LeaseRenewal) transition {
	return func(e *ff.Execution, now int64) (*ff.Effects, bool, ff.FenceResult, error) {
		fr, err := e.Renew(now, h.Lease.Fence(), e.LeaseTTLMs)
		if err != nil {
			return nil, false, fr, err
		}
		*out = backend.LeaseRenewal{ExpiresAt: ff.TimeFromMs(e.LeaseExpiresAtMs), LeaseEpoch: e.LeaseEpoch}
		return nil, true, fr, nil
	}
}

// Renew extends the lease by the TTL chosen at claim time.
func (b *Backend) Renew(ctx context.Context, p backend.RenewParams) (backend.LeaseRenewal, error) {
	var out backend.LeaseRenewal
	err := b.write(ctx, "sqlite: renew", func(w *writeTx) error {
		return w.fenced(p.Handle, renewTransition(p.Handle, &out))
	})
	if err != nil {
		return backend.LeaseRenewal{}, err
	}
	return out, nil
}

// RenewMany renews every lease of ps in one transaction; results align
// with ps.
func (b *Backend) RenewMany(ctx context.Context, ps []backend.RenewParams) []backend.RenewResult {
	out := make([]backend.RenewResult, len(ps))
	if len(ps) == 0 {
		return out
	}
	err := b.write(ctx, "sqlite: renew many", func(w *writeTx) error {
		for i, p := range ps {
			out[i] = backend.RenewResult{}
			item, abort := itemError(w.fenced(p.Handle, renewTransition(p.Handle, &out[i].Renewal)))
			if abort != nil {
				return abort
			}
			out[i].Err = item
		}
		return nil
	})
	if err != nil {
		for i := range out {
			out[i] = backend.RenewResult{Err: err}
		}
	}
	return out
}

// Progress records a progress report under the lease.
func (b *Backend) Progress(ctx context.Context, p backend.ProgressParams) error {
	return b.write(ctx, "sqlite: progress", func(w *writeTx) error {
		return w.fenced(p.Handle, func(e *ff.Execution, now int64) (*ff.Effects, bool, ff.FenceResult, error) {
			fr, err := e.Progress(now, p.Handle.Lease.Fence(), p.Percent, p.Message)
			return nil, err == nil, fr, err
		})
	})
}

func completeTransition(p backend.CompleteParams) transition {
	return func(e *ff.Execution, now int64) (*ff.Effects, bool, ff.FenceResult, error) {
		fx, fr, err := e.Complete(now, p.Handle.Lease.Fence(), p.Result)
		return fx, fx != nil, fr, err
	}
}

// Complete ends the attempt successfully and stores the result; a replay
// under the same fence succeeds without writing.
func (b *Backend) Complete(ctx context.Context, p backend.CompleteParams) error {
	return b.write(ctx, "sqlite: complete", func(w *writeTx) error {
		return w.fenced(p.Handle, completeTransition(p))
	})
}

// CompleteMany completes every attempt of ps in one transaction; errors
// align with ps.
func (b *Backend) CompleteMany(ctx context.Context, ps []backend.CompleteParams) []error {
	out := make([]error, len(ps))
	if len(ps) == 0 {
		return out
	}
	err := b.write(ctx, "sqlite: complete many", func(w *writeTx) error {
		for i, p := range ps {
			item, abort := itemError(w.fenced(p.Handle, completeTransition(p)))
			if abort != nil {
				return abort
			}
			out[i] = item
		}
		return nil
	})
	if err != nil {
		for i := range out {
			out[i] = err
		}
	}
	return out
}

// Fail ends the attempt as failed; the execution's retry policy decides
// between a retry (at once or after backoff) and terminal failure.
func (b *Backend) Fail(ctx context.Context, p backend.FailParams) (ff.FailOutcome, error) {
	if err := p.Normalize(); err != nil {
		return ff.FailOutcome{}, err
	}
	var out ff.FailOutcome
	err := b.write(ctx, "sqlite: fail", func(w *writeTx) error {
		return w.fenced(p.Handle, func(e *ff.Execution, now int64) (*ff.Effects, bool, ff.FenceResult, error) {
			o, fx, fr, err := e.Fail(now, p.Handle.Lease.Fence(), p.Reason, p.Classification, nil)
			out = o
			return fx, fx != nil, fr, err
		})
	})
	if err != nil {
		return ff.FailOutcome{}, err
	}
	return out, nil
}

// Cancel is the lease holder's cooperative cancel.
func (b *Backend) Cancel(ctx context.Context, p backend.CancelParams) error {
	return b.write(ctx, "sqlite: cancel", func(w *writeTx) error {
		return w.fenced(p.Handle, func(e *ff.Execution, now int64) (*ff.Effects, bool, ff.FenceResult, error) {
			fx, fr, err := e.Cancel(now, p.Handle.Lease.Fence(), p.Reason)
			return fx, fx != nil, fr, err
		})
	})
}

// Delay releases the lease until p.Until, keeping the attempt; a time
// already past makes the execution claimable at once.
func (b *Backend) Delay(ctx context.Context, p backend.DelayParams) error {
	return b.write(ctx, "sqlite: delay", func(w *writeTx) error {
		return w.fenced(p.Handle, func(e *ff.Execution, now int64) (*ff.Effects, bool, ff.FenceResult, error) {
			fx, fr, err := e.Delay(now, p.Handle.Lease.Fence(), ff.MsFromTime(p.Until))
			return fx, err == nil, fr, err
		})
	})
}

// ReleaseClaims gives back, in one transaction, leases whose claim never
// reached the worker; errors align with ps and each entry fails alone.
func (b *Backend) ReleaseClaims(ctx context.Context, ps []backend.ReleaseClaimParams) []error {
	out := make([]error, len(ps))
	if len(ps) == 0 {
		return out
	}
	err := b.write(ctx, "sqlite: release claims", func(w *writeTx) error {
		for i, p := range ps {
			item, abort := itemError(w.fenced(p.Handle, releaseTransition(p.Handle)))
			if abort != nil {
				return abort
			}
			out[i] = item
		}
		return nil
	})
	if err != nil {
		for i := range out {
			out[i] = err
		}
	}
	return out
}

func releaseTransition(h ff.Handle) transition {
	return func(e *ff.Execution, now int64) (*ff.Effects, bool, ff.FenceResult, error) {
		fx, fr, err := e.ReleaseClaim(now, h.Lease.Fence())
		return fx, err == nil, fr, err
	}
}
