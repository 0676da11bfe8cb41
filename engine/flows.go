package engine

import (
	"context"
	"fmt"

	"github.com/flowfabric-go/flowfabric/backend"
)

// flowCancels works the durable cancel backlog of flows cancelled without
// wait: each queued member is cancelled through the operator cancel
// transition (its lease revoked). The backlog is in the store, so a
// restart mid-cancel resumes here.
type flowCancels struct {
	f     backend.Flows
	batch int
}

func (r *flowCancels) name() string { return "flow_cancels" }

func (r *flowCancels) runOnce(ctx context.Context) (int, error) {
	n, err := r.f.WorkFlowCancels(ctx, backend.SweepParams{Limit: r.batch})
	if err != nil {
		return n, fmt.Errorf("work flow cancels: %w", err)
	}
	return n, nil
}

// flowRepair is the backstop of edge resolution: it resolves edges whose
// upstream ended by a path that did not resolve them. The stores resolve
// edges in the transaction that ends a member, so it finds nothing in
// normal operation.
type flowRepair struct {
	f     backend.Flows
	batch int
}

func (r *flowRepair) name() string { return "flow_repair" }

func (r *flowRepair) runOnce(ctx context.Context) (int, error) {
	n, err := r.f.RepairFlowEdges(ctx, backend.SweepParams{Limit: r.batch})
	if err != nil {
		return n, fmt.Errorf("repair flow edges: %w", err)
	}
	return n, nil
}
