package worker

import (
	"context"
	"time"

	"github.com/flowfabric-go/flowfabric/backend"
)

// releaseTimeout bounds giving back unstarted claims on the way out. One
// try is enough: when it fails, the leases expire as they would have
// without it.
const releaseTimeout = 2 * time.Second

// releaseClaimed gives back tasks a claim returned after the worker began
// to stop.
func (w *Worker) releaseClaimed(claimed []backend.ClaimedTask) {
	ps := make([]backend.ReleaseClaimParams, len(claimed))
	for i, c := range claimed {
		ps[i] = backend.ReleaseClaimParams{Handle: c.Handle}
	}
	w.releaseParams(ps)
}

// release gives back claimed tasks whose handlers never started.
func (w *Worker) release(tasks []*Task) {
	ps := make([]backend.ReleaseClaimParams, len(tasks))
	for i, t := range tasks {
		ps[i] = backend.ReleaseClaimParams{Handle: t.handle}
	}
	w.releaseParams(ps)
}

// releaseParams makes the executions of ps claimable again at once (no
// reclaim is counted), instead of after their leases expire. It runs even
// after Kill: a killed worker runs nothing more, but handing back what it
// never started costs nothing and saves a lease's wait.
func (w *Worker) releaseParams(ps []backend.ReleaseClaimParams) {
	if len(ps) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(w.ioCtx), releaseTimeout)
	defer cancel()
	released := 0
	for i, err := range w.transport.ReleaseClaims(ctx, ps) {
		if err == nil {
			released++
			continue
		}
		w.log.Debug("worker: unstarted claim not released; its lease will expire",
			"execution_id", ps[i].Handle.Lease.ExecutionID.String(), "error", err)
	}
	w.stats.claimsReleased.Add(int64(released))
	w.log.Info("worker: released unstarted claims", "released", released, "of", len(ps))
}
