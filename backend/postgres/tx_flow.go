package postgres

import (
	"context"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/flowfabric-go/flowfabric/backend"
)

// CreateFlowTx creates a flow and, with p.Members, its whole DAG inside
// the caller's transaction tx: the flow, its members and their edges
// exist if and only if tx commits. The rules are CreateFlow's
// (backend.CreateFlowTx, written once for both stores); the input is
// validated before any statement runs, so bad input leaves tx usable.
// The statements run inside a savepoint: on a refusal (a cycle, a taken
// id) tx is left as it was before the call. Claimers of the members'
// lanes are woken by a NOTIFY inside tx, delivered at its commit.
//
// The same FlowID again inside or after a committed transaction returns
// the stored flow (Existing) with the state the caller's snapshot sees.
func (b *Backend) CreateFlowTx(ctx context.Context, tx pgx.Tx, p backend.CreateFlowParams) (backend.CreateFlowResult, error) {
	members, err := p.Normalize()
	if err != nil {
		return backend.CreateFlowResult{}, err
	}
	sp, err := tx.Begin(ctx) // a savepoint
	if err != nil {
		return backend.CreateFlowResult{}, mapPgError("create flow: savepoint", err)
	}
	defer func() { _ = sp.Rollback(context.WithoutCancel(ctx)) }()
	s, err := b.openFlowStore(ctx, sp, "create flow")
	if err != nil {
		return backend.CreateFlowResult{}, err
	}
	s.callerTx = true
	res, err := backend.CreateFlowTx(s, p, members)
	if err != nil {
		return backend.CreateFlowResult{}, err
	}
	if err := s.flush(); err != nil {
		return backend.CreateFlowResult{}, err
	}
	if lanes := slices.Compact(slices.Sorted(slices.Values(s.wake))); len(lanes) > 0 {
		if err := notifyOnCommit(ctx, sp, lanes); err != nil {
			return backend.CreateFlowResult{}, err
		}
	}
	if err := sp.Commit(ctx); err != nil { // releases the savepoint
		return backend.CreateFlowResult{}, mapPgError("create flow: release savepoint", err)
	}
	return res, nil
}
