package sqlite

import (
	"context"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend/internal/wpcore"
)

// waitpointOps is wpcore.Ops under a name Backend embeds unexported: the
// waitpoint area (backend.Waitpoints) written once in wpcore, each method
// one write transaction of runWaitpoints over sqTx.
type waitpointOps = wpcore.Ops

func (b *Backend) newWaitpointOps() waitpointOps {
	return waitpointOps{Tag: ff.BackendSQLite, Run: b.runWaitpoints}
}

// runWaitpoints is wpcore's Runner over this store's write transactions;
// its errors name the store as every other SQLite error does.
func (b *Backend) runWaitpoints(ctx context.Context, op string, fn func(wpcore.Tx) error) error {
	return b.wpWrite(ctx, "sqlite: "+op, func(t *sqTx) error { return fn(t) })
}
