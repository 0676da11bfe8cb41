package backendtest

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// Idempotency keys are held for the policy's dedup window (default 24 h)
// from creation; after it the same key creates a new execution, whether
// or not the expiry sweep has run, and the sweep clears expired keys in
// batches.

func init() {
	register("Idempotency/KeyExpiresAfterDedupWindow", testIdemWindow)
	register("Idempotency/DefaultWindowIs24h", testIdemDefaultWindow)
	register("Idempotency/SweepClearsExpiredKeys", testIdemSweep)
	register("Idempotency/ExpiredKeyWithTakenID", testIdemExpiredKeyTakenID)
	register("Idempotency/RacingCreatesAfterExpiry", testIdemRace)
}

func dedupWindow(ms int64) *ff.ExecutionPolicy { return &ff.ExecutionPolicy{DedupWindow: &ms} }

// createKeyed creates with p and reports the execution and whether it
// was a duplicate.
func (e *env) createKeyed(p backend.CreateExecutionParams) (ff.ExecutionID, bool) {
	e.t.Helper()
	if p.Kind == "" {
		p.Kind = "test.kind"
	}
	res, err := e.b.CreateExecution(e.ctx, p)
	require.NoError(e.t, err)
	return res.ExecutionID, res.Duplicate
}

func testIdemWindow(t *testing.T, h Harness) {
	e := newEnv(t, h)
	p := backend.CreateExecutionParams{Namespace: "t1", Lane: "idw", IdempotencyKey: "order-7", Policy: dedupWindow(60_000)}
	first, _ := e.createKeyed(p)
	e.advance(59_999)
	again, dup := e.createKeyed(p)
	require.True(t, dup, "inside the window the key is held")
	require.Equal(t, first, again)

	e.advance(1)
	second, dup := e.createKeyed(p)
	require.False(t, dup, "after the window the key creates a new execution, before any sweep")
	require.NotEqual(t, first, second)
	e.state(first, ff.PublicWaiting)
	e.state(second, ff.PublicWaiting)

	again, dup = e.createKeyed(p)
	require.True(t, dup, "the new execution holds the key for a window of its own")
	require.Equal(t, second, again)
	require.Zero(t, e.expireKeys(100), "the create already released the expired key")
	require.Len(t, e.listAll(backend.ListExecutionsParams{}), 2)
}

func testIdemDefaultWindow(t *testing.T, h Harness) {
	e := newEnv(t, h)
	p := backend.CreateExecutionParams{Lane: "idd", IdempotencyKey: "k"}
	first, _ := e.createKeyed(p)
	e.advance((24*time.Hour - time.Millisecond).Milliseconds())
	again, dup := e.createKeyed(p)
	require.True(t, dup)
	require.Equal(t, first, again)
	e.advance(1)
	second, dup := e.createKeyed(p)
	require.False(t, dup, "a policy without dedup_window_ms holds its key 24 h")
	require.NotEqual(t, first, second)
}

func (e *env) expireKeys(limit int) int {
	e.t.Helper()
	n, err := e.b.ExpireIdempotencyKeys(e.ctx, backend.SweepParams{Limit: limit})
	require.NoError(e.t, err)
	return n
}

// The sweep clears expired keys in batches, oldest first, and changes
// nothing else of their executions.
func testIdemSweep(t *testing.T, h Harness) {
	e := newEnv(t, h)
	var ids []ff.ExecutionID
	for i, key := range []string{"a", "b", "c"} {
		id, _ := e.createKeyed(backend.CreateExecutionParams{Lane: "ids", IdempotencyKey: key, Policy: dedupWindow(int64(1_000 + i))})
		ids = append(ids, id)
	}
	late, _ := e.createKeyed(backend.CreateExecutionParams{Lane: "ids", IdempotencyKey: "late", Policy: dedupWindow(5_000)})
	e.createKeyed(backend.CreateExecutionParams{Lane: "ids"})
	before := e.consistent(ids[0])
	require.Zero(t, e.expireKeys(100))

	e.advance(1_002)
	require.Equal(t, 2, e.expireKeys(2))
	require.Equal(t, 1, e.expireKeys(2))
	require.Zero(t, e.expireKeys(2))
	after := e.consistent(ids[0])
	require.Equal(t, before, after, "clearing a key changes nothing else")

	for i, key := range []string{"a", "b", "c"} {
		id, dup := e.createKeyed(backend.CreateExecutionParams{Lane: "ids", IdempotencyKey: key})
		require.False(t, dup, "key %s was cleared", key)
		require.NotEqual(t, ids[i], id)
	}
	again, dup := e.createKeyed(backend.CreateExecutionParams{Lane: "ids", IdempotencyKey: "late"})
	require.True(t, dup, "a key inside its window survives the sweep")
	require.Equal(t, late, again)
}

// An expired key is released even when the create then fails on its
// explicit id: the old execution no longer answers for the key.
func testIdemExpiredKeyTakenID(t *testing.T, h Harness) {
	e := newEnv(t, h)
	taken := e.createIn("idt")
	first, _ := e.createKeyed(backend.CreateExecutionParams{Lane: "idt", IdempotencyKey: "x", Policy: dedupWindow(1_000)})
	e.advance(1_000)
	_, err := e.b.CreateExecution(e.ctx, backend.CreateExecutionParams{ExecutionID: taken, Lane: "idt", Kind: "k", IdempotencyKey: "x"})
	requireKind(t, err, ff.ErrDuplicateExecution)
	second, dup := e.createKeyed(backend.CreateExecutionParams{Lane: "idt", IdempotencyKey: "x"})
	require.False(t, dup)
	require.NotEqual(t, first, second)
}

// Creates racing with one expired key make exactly one new execution;
// every other create returns it as a duplicate.
func testIdemRace(t *testing.T, h Harness) {
	e := newEnv(t, h)
	p := backend.CreateExecutionParams{Lane: "idr", Kind: "k", IdempotencyKey: "race", Policy: dedupWindow(1_000)}
	old, _ := e.createKeyed(p)
	e.advance(1_000)
	const n = 8
	var (
		wg   sync.WaitGroup
		res  [n]backend.CreateExecutionResult
		errs [n]error
	)
	for i := range n {
		wg.Go(func() { res[i], errs[i] = e.b.CreateExecution(e.ctx, p) })
	}
	wg.Wait()
	fresh := 0
	for i := range n {
		require.NoError(t, errs[i])
		require.NotEqual(t, old, res[i].ExecutionID)
		require.Equal(t, res[0].ExecutionID, res[i].ExecutionID, "one execution holds the key")
		if !res[i].Duplicate {
			fresh++
		}
	}
	require.Equal(t, 1, fresh)
	require.Len(t, e.listAll(backend.ListExecutionsParams{}), 2)
}
