package backendtest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// A handle carries copies of what the store keeps (the lease TTL, the
// lane, the worker instance, the attempt index). Only its fence (lease id,
// epoch, attempt id) is checked; the copies never change what the store
// does, so a client that rewrites them gains nothing.

func init() {
	register("Fence/RenewUsesTheStoredTTL", testFenceRenewStoredTTL)
	register("Fence/HandleCopiesAreIgnored", testFenceHandleCopiesIgnored)
}

// tampered returns h with every copied field rewritten and ttl as its TTL.
func tampered(h ff.Handle, ttl uint64) ff.Handle {
	h.Lease.LeaseTTLMs = ttl
	h.Lease.Lane = "elsewhere"
	h.Lease.WorkerInstanceID = "intruder"
	h.Lease.AttemptIndex += 41
	return h
}

func testFenceRenewStoredTTL(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.createIn("ttl")
	task := e.claimWith(backend.ClaimParams{WorkerID: "w1", Lanes: []string{"ttl"}, LeaseTTL: 7 * time.Second})
	for _, ttl := range []uint64{24 * 60 * 60 * 1000, 1, 0, 30_000} {
		e.advance(1_000)
		r, err := e.b.Renew(e.ctx, backend.RenewParams{Handle: tampered(task.Handle, ttl)})
		require.NoError(t, err)
		require.Equal(t, e.now()+7_000, ff.MsFromTime(r.ExpiresAt), "a handle claiming a TTL of %d ms", ttl)
		res := e.b.RenewMany(e.ctx, []backend.RenewParams{{Handle: tampered(task.Handle, ttl)}})
		require.NoError(t, res[0].Err)
		require.Equal(t, e.now()+7_000, ff.MsFromTime(res[0].Renewal.ExpiresAt), "RenewMany, TTL %d ms", ttl)
		require.Equal(t, e.now()+7_000, ff.MsFromTime(e.consistent(task.ExecutionID).Lease.ExpiresAt))
	}
}

func testFenceHandleCopiesIgnored(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.createIn("cp")
	task := e.claimWith(backend.ClaimParams{WorkerID: "w1", WorkerInstanceID: "w1-a", Lanes: []string{"cp"}})
	forged := tampered(task.Handle, 1)
	require.NoError(t, e.b.Progress(e.ctx, backend.ProgressParams{Handle: forged, Percent: 10}))
	require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: forged, Result: []byte(`1`)}))
	s := e.state(id, ff.PublicCompleted)
	require.Equal(t, "cp", s.Lane)
	as := e.attempts(id)
	require.Len(t, as, 1)
	require.Equal(t, "w1-a", as[0].WorkerInstanceID)
	require.Equal(t, task.AttemptID, as[0].ID)
	ev := e.oneCompletion(id, ff.OutcomeSuccess)
	require.Equal(t, "cp", ev.Lane)
	require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: task.Handle, Result: []byte(`1`)}),
		"the genuine handle replays the completion the forged copy made")
}
