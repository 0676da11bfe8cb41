package sqlite

import (
	"context"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// CancelExecution is the operator's cancel, without a lease, from any
// non-terminal phase. A terminal execution yields the not-active error.
func (b *Backend) CancelExecution(ctx context.Context, p backend.CancelExecutionParams) (ff.PublicState, error) {
	var st ff.PublicState
	err := b.write(ctx, "sqlite: cancel execution", func(w *writeTx) error {
		r, err := w.load(p.ExecutionID)
		if err != nil {
			return err
		}
		was := r.e.Claimable()
		fx, err := r.e.OperatorCancel(w.now, p.Reason, p.Source)
		if err != nil {
			return err
		}
		st = r.e.State.PublicState
		return w.save(r, was, fx)
	})
	if err != nil {
		return "", err
	}
	return st, nil
}
