package postgres

import (
	"context"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend/internal/wpcore"
)

// waitpointOps is wpcore.Ops under a name Backend embeds unexported: the
// waitpoint area (backend.Waitpoints) written once in wpcore, each method
// one transaction of runWaitpoints over pgTx.
type waitpointOps = wpcore.Ops

func (b *Backend) newWaitpointOps() waitpointOps {
	return waitpointOps{Tag: ff.BackendPostgres, Run: b.runWaitpoints}
}

// runWaitpoints is wpcore's Runner over this store's transactions.
func (b *Backend) runWaitpoints(ctx context.Context, op string, fn func(wpcore.Tx) error) error {
	return b.wpTx(ctx, op, func(t *pgTx) error { return fn(t) })
}
