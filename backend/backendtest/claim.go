package backendtest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// Claim: exclusivity under races, batches, ordering, lanes and capability
// routing.

func init() {
	register("Claim/FreshTask", testClaimFreshTask)
	register("Claim/Race2", func(t *testing.T, h Harness) { testClaimRace(t, h, 2) })
	register("Claim/Race8", func(t *testing.T, h Harness) { testClaimRace(t, h, 8) })
	register("Claim/RaceBatches", testClaimRaceBatches)
	register("Claim/BatchMax", testClaimBatchMax)
	register("Claim/PriorityFirst", testClaimPriorityFirst)
	register("Claim/FIFOWithinPriority", testClaimFIFO)
	register("Claim/FIFOAfterRetry", testClaimFIFOAfterRetry)
	register("Claim/BatchInClaimOrder", testClaimBatchInClaimOrder)
	register("Claim/LaneIsolation", testClaimLaneIsolation)
	register("Claim/Capabilities/Subset", testClaimCapabilitySubset)
	register("Claim/Capabilities/CaseSensitive", testClaimCapabilityCase)
	register("Claim/Capabilities/EmptyRequirementMatchesAll", testClaimCapabilityEmpty)
	register("Claim/Capabilities/IncompatibleHeadDoesNotBlock", testClaimCapabilityHead)
	register("Claim/Capabilities/ReclaimAndResumeRouted", testClaimCapabilityReentry)
	register("Claim/HandleTextRoundTrip", testClaimHandleText)
	register("Claim/ActiveNotClaimable", testClaimActiveNotClaimable)
}

func testClaimFreshTask(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.create(backend.CreateExecutionParams{Lane: "q", Kind: "img.resize", Input: []byte(`[1,2]`),
		Priority: 12, Tags: map[string]string{"app.k": "v"}})
	now := e.now()
	task := e.claimWith(backend.ClaimParams{WorkerID: "w1", WorkerInstanceID: "w1-proc-9", Lanes: []string{"q"}, LeaseTTL: 7_000 * time.Millisecond})
	require.Equal(t, id, task.ExecutionID)
	require.Equal(t, "q", task.Lane)
	require.Equal(t, "img.resize", task.Kind)
	require.Equal(t, `[1,2]`, string(task.Input))
	require.Equal(t, int32(12), task.Priority)
	require.Equal(t, map[string]string{"app.k": "v"}, task.Tags)
	require.Equal(t, uint32(0), task.AttemptIndex)
	require.NotEmpty(t, task.AttemptID)
	require.Equal(t, ff.AttemptInitial, task.AttemptType)
	require.Equal(t, uint64(1), task.LeaseEpoch, "the first lease has epoch 1")
	require.Equal(t, now+7_000, ff.MsFromTime(task.LeaseExpiresAt))

	hd := task.Handle
	require.Equal(t, ff.HandleFresh, hd.Kind)
	require.Equal(t, uint64(7_000), hd.Lease.LeaseTTLMs)
	require.Equal(t, "q", hd.Lease.Lane)
	require.Equal(t, "w1-proc-9", hd.Lease.WorkerInstanceID)
	require.NotEmpty(t, hd.Lease.LeaseID)

	s := e.state(id, ff.PublicActive)
	require.Equal(t, ff.AttemptRunning, s.StateVector.AttemptState)
	require.Equal(t, uint32(1), s.AttemptCount)
	require.Equal(t, &backend.AttemptRef{Index: 0, ID: task.AttemptID}, s.CurrentAttempt)
	require.NotNil(t, s.Lease)
	require.Equal(t, hd.Lease.LeaseID, s.Lease.LeaseID)
	require.Equal(t, uint64(1), s.Lease.Epoch)
	require.Equal(t, "w1", s.Lease.WorkerID)
	require.Equal(t, "w1-proc-9", s.Lease.WorkerInstanceID)
	require.Equal(t, now+7_000, ff.MsFromTime(s.Lease.ExpiresAt))
	require.Equal(t, now, ff.MsFromTime(s.StartedAt))

	as := e.attempts(id)
	require.Len(t, as, 1)
	require.Equal(t, task.AttemptID, as[0].ID)
	require.Equal(t, ff.AttemptInitial, as[0].Type)
	require.Equal(t, ff.AttemptStarted, as[0].Lifecycle)
	require.Equal(t, uint64(1), as[0].LeaseEpoch)
	require.Equal(t, "w1", as[0].WorkerID)
	require.Equal(t, "w1-proc-9", as[0].WorkerInstanceID)
	require.Equal(t, now, as[0].StartedAtMs)

	e.claimNone("q")

	// The worker instance defaults to the worker id.
	e.createIn("q")
	task = e.claimWith(backend.ClaimParams{WorkerID: "w7", Lanes: []string{"q"}})
	require.Equal(t, "w7", task.Handle.Lease.WorkerInstanceID)
	require.Equal(t, "w7", e.consistent(task.ExecutionID).Lease.WorkerInstanceID)
}

// Spec §9.7 item 1: n workers race for one execution; exactly one gets
// it, the others get nothing or a contention error.
func testClaimRace(t *testing.T, h Harness, n int) {
	e := newEnv(t, h)
	id := e.createIn("race")
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		tasks = make([][]backend.ClaimedTask, n)
		errs  = make([]error, n)
	)
	for i := range n {
		wg.Go(func() {
			<-start
			tasks[i], errs[i] = e.b.Claim(e.ctx, claimParams(fmt.Sprintf("w%d", i), "race"))
		})
	}
	close(start)
	wg.Wait()
	won := 0
	for i := range n {
		if errs[i] != nil {
			require.ErrorIs(t, errs[i], ff.ClassContention, "worker %d: only contention may fail a racing claim: %v", i, errs[i])
			continue
		}
		require.LessOrEqual(t, len(tasks[i]), 1)
		if len(tasks[i]) == 1 {
			won++
			require.Equal(t, id, tasks[i][0].ExecutionID)
			require.Equal(t, uint64(1), tasks[i][0].LeaseEpoch)
		}
	}
	require.Equal(t, 1, won, "exactly one worker must win the claim")
	s := e.state(id, ff.PublicActive)
	require.Equal(t, uint64(1), s.Lease.Epoch, "one claim, one epoch step")
	require.Len(t, e.attempts(id), 1)
}

// Spec §9.7 item 1, batch form: several workers claim batches over many
// executions; every execution is claimed exactly once.
func testClaimRaceBatches(t *testing.T, h Harness) {
	e := newEnv(t, h)
	const workers, total, batch = 4, 30, 4
	want := map[ff.ExecutionID]bool{}
	for range total {
		want[e.createIn("batch")] = true
	}
	var (
		mu      sync.Mutex
		claimed = map[ff.ExecutionID]int{}
		handles []ff.Handle
		errs    []error
		wg      sync.WaitGroup
		start   = make(chan struct{})
	)
	for w := range workers {
		wg.Go(func() {
			<-start
			p := backend.ClaimParams{WorkerID: fmt.Sprintf("w%d", w), Lanes: []string{"batch"}, LeaseTTL: 60_000 * time.Millisecond, Max: batch}
			for range 4 * total { // bounded: a correct backend drains the lane much sooner
				mu.Lock()
				done := len(claimed) >= total
				mu.Unlock()
				if done {
					return
				}
				tasks, err := e.b.Claim(e.ctx, p)
				mu.Lock()
				if err != nil && !errors.Is(err, ff.ClassContention) {
					errs = append(errs, err)
				}
				if len(tasks) > batch {
					errs = append(errs, fmt.Errorf("claim returned %d tasks, max %d", len(tasks), batch))
				}
				for _, task := range tasks {
					claimed[task.ExecutionID]++
					handles = append(handles, task.Handle)
				}
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()
	require.Empty(t, errs)
	require.Len(t, claimed, total, "every execution must be claimed")
	for id, n := range claimed {
		require.True(t, want[id], "claimed an unknown execution %s", id)
		require.Equal(t, 1, n, "execution %s claimed %d times", id, n)
	}
	e.claimNone("batch")

	ps := make([]backend.CompleteParams, len(handles))
	for i, hd := range handles {
		ps[i] = backend.CompleteParams{Handle: hd, Result: []byte(`1`)}
	}
	res := e.b.CompleteMany(e.ctx, ps)
	require.Len(t, res, len(ps))
	for i, err := range res {
		require.NoError(t, err, "complete %d", i)
	}
	for id := range want {
		s := e.state(id, ff.PublicCompleted)
		require.Equal(t, uint64(1), s.Lease.Epoch)
	}
	require.Len(t, e.completions(), total)
}

func testClaimBatchMax(t *testing.T, h Harness) {
	e := newEnv(t, h)
	for range 5 {
		e.createIn("bm")
	}
	p := backend.ClaimParams{WorkerID: "w1", Lanes: []string{"bm"}, Max: 3}
	tasks, err := e.b.Claim(e.ctx, p)
	require.NoError(t, err)
	require.Len(t, tasks, 3)
	seen := map[ff.ExecutionID]bool{}
	for _, task := range tasks {
		require.False(t, seen[task.ExecutionID], "one batch claimed an execution twice")
		seen[task.ExecutionID] = true
		e.state(task.ExecutionID, ff.PublicActive)
	}
	tasks, err = e.b.Claim(e.ctx, p)
	require.NoError(t, err)
	require.Len(t, tasks, 2, "only two are left")
	e.claimNone("bm")

	// Max 0 means one.
	e.createIn("bm")
	e.createIn("bm")
	tasks, err = e.b.Claim(e.ctx, backend.ClaimParams{WorkerID: "w1", Lanes: []string{"bm"}})
	require.NoError(t, err)
	require.Len(t, tasks, 1, "max 0 defaults to 1")
}

// Spec §9.7 item 10: higher priority first.
func testClaimPriorityFirst(t *testing.T, h Harness) {
	e := newEnv(t, h)
	low := e.create(backend.CreateExecutionParams{Lane: "p", Priority: 1})
	e.advance(1)
	high := e.create(backend.CreateExecutionParams{Lane: "p", Priority: 100})
	e.advance(1)
	mid := e.create(backend.CreateExecutionParams{Lane: "p", Priority: 50})
	e.advance(1)
	top := e.create(backend.CreateExecutionParams{Lane: "p", Priority: 20_000}) // clamped to 9000, still first
	for _, want := range []ff.ExecutionID{top, high, mid, low} {
		require.Equal(t, want, e.claim("p").ExecutionID)
	}
	e.claimNone("p")
}

// Spec §9.7 item 10: equal priority is FIFO by creation.
func testClaimFIFO(t *testing.T, h Harness) {
	e := newEnv(t, h)
	var ids []ff.ExecutionID
	for range 5 {
		ids = append(ids, e.createIn("fifo"))
		e.advance(1)
	}
	for _, want := range ids {
		require.Equal(t, want, e.claim("fifo").ExecutionID)
	}
}

// A batch comes back in claim order: priority first, then creation, also
// when the batch spans several capability signatures.
func testClaimBatchInClaimOrder(t *testing.T, h Harness) {
	e := newEnv(t, h)
	var want []ff.ExecutionID
	byPriority := map[int32][]ff.ExecutionID{}
	for i := range 12 {
		prio := int32([]int{5, 0, 9, 5}[i%4])
		var caps []string
		if i%3 == 0 {
			caps = []string{"gpu"}
		}
		id := e.create(backend.CreateExecutionParams{Lane: "bo", Priority: int64(prio), RequiredCapabilities: caps})
		byPriority[prio] = append(byPriority[prio], id)
		e.advance(1)
	}
	for _, prio := range []int32{9, 5, 0} {
		want = append(want, byPriority[prio]...)
	}
	p := claimParams("w", "bo")
	p.Max, p.Capabilities = 20, []string{"gpu"}
	tasks, err := e.b.Claim(e.ctx, p)
	require.NoError(t, err)
	got := make([]ff.ExecutionID, len(tasks))
	for i, task := range tasks {
		got[i] = task.ExecutionID
	}
	require.Equal(t, want, got)
}

// Spec §4.2 and §9.7 item 10: a retried execution keeps its place by
// creation time; it is claimed ahead of executions created after it.
func testClaimFIFOAfterRetry(t *testing.T, h Harness) {
	e := newEnv(t, h)
	a := e.create(backend.CreateExecutionParams{Lane: "fr", Policy: retryPolicy(1, 1_000)})
	e.advance(1)
	b := e.createIn("fr")
	e.advance(1)

	task := e.claim("fr")
	require.Equal(t, a, task.ExecutionID)
	out, err := e.b.Fail(e.ctx, backend.FailParams{Handle: task.Handle, Reason: "boom", Classification: ff.FailureTransient})
	require.NoError(t, err)
	require.True(t, out.RetryScheduled)
	e.advance(1_000)
	require.Equal(t, 1, e.promote())
	c := e.createIn("fr")

	retry := e.claim("fr")
	require.Equal(t, a, retry.ExecutionID, "the retried execution keeps its place ahead of later ones")
	require.Equal(t, ff.AttemptRetry, retry.AttemptType)
	require.Equal(t, b, e.claim("fr").ExecutionID)
	require.Equal(t, c, e.claim("fr").ExecutionID)
}

func testClaimLaneIsolation(t *testing.T, h Harness) {
	e := newEnv(t, h)
	x := e.createIn("lane-x")
	y := e.createIn("lane-y")
	e.claimNone("lane-z")
	require.Equal(t, x, e.claim("lane-x").ExecutionID)
	e.claimNone("lane-x")
	// A claim over several lanes takes from any of them.
	task := e.claimWith(backend.ClaimParams{WorkerID: "w1", Lanes: []string{"lane-x", "lane-y"}})
	require.Equal(t, y, task.ExecutionID)
	require.Equal(t, "lane-y", task.Lane)
}

// Spec §9.7 item 11: requirements are an exact subset test.
func testClaimCapabilitySubset(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.create(backend.CreateExecutionParams{Lane: "caps", RequiredCapabilities: []string{"gpu", "cuda"}})
	gpuOnly := backend.ClaimParams{WorkerID: "w1", Lanes: []string{"caps"}, Capabilities: []string{"gpu"}}
	e.claimNoneWith(gpuOnly)
	e.claimNone("caps") // no capabilities at all
	e.state(id, ff.PublicWaiting)

	full := backend.ClaimParams{WorkerID: "w2", Lanes: []string{"caps"}, Capabilities: []string{"tpu", "cuda", "gpu"}}
	require.Equal(t, id, e.claimWith(full).ExecutionID, "a superset satisfies the requirement")
}

func testClaimCapabilityCase(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.create(backend.CreateExecutionParams{Lane: "caps", RequiredCapabilities: []string{"gpu"}})
	e.claimNoneWith(backend.ClaimParams{WorkerID: "w1", Lanes: []string{"caps"}, Capabilities: []string{"GPU"}})
	got := e.claimWith(backend.ClaimParams{WorkerID: "w1", Lanes: []string{"caps"}, Capabilities: []string{"gpu"}})
	require.Equal(t, id, got.ExecutionID)
}

func testClaimCapabilityEmpty(t *testing.T, h Harness) {
	e := newEnv(t, h)
	a := e.createIn("caps")
	b := e.create(backend.CreateExecutionParams{Lane: "caps", RequiredCapabilities: []string{}})
	e.claimWith(backend.ClaimParams{WorkerID: "w1", Lanes: []string{"caps"}, Capabilities: []string{"gpu", "x"}})
	e.claimWith(backend.ClaimParams{WorkerID: "w2", Lanes: []string{"caps"}})
	e.state(a, ff.PublicActive)
	e.state(b, ff.PublicActive)
}

// An execution no worker can take must not hide claimable work queued
// behind it (the reference's "one incompatible row blocks the lane").
func testClaimCapabilityHead(t *testing.T, h Harness) {
	e := newEnv(t, h)
	head := e.create(backend.CreateExecutionParams{Lane: "caps", Priority: 100, RequiredCapabilities: []string{"gpu"}})
	e.advance(1)
	var behind []ff.ExecutionID
	for range 3 {
		behind = append(behind, e.createIn("caps"))
		e.advance(1)
	}
	for _, want := range behind {
		require.Equal(t, want, e.claim("caps").ExecutionID)
	}
	e.claimNone("caps")
	e.state(head, ff.PublicWaiting)
	got := e.claimWith(backend.ClaimParams{WorkerID: "g", Lanes: []string{"caps"}, Capabilities: []string{"gpu"}})
	require.Equal(t, head, got.ExecutionID)
}

// Re-entry paths route by capability like a fresh claim: a reclaim or a
// resume goes only to a capable worker.
func testClaimCapabilityReentry(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.create(backend.CreateExecutionParams{Lane: "caps", RequiredCapabilities: []string{"gpu"}})
	gpu := backend.ClaimParams{WorkerID: "g", Lanes: []string{"caps"}, Capabilities: []string{"gpu"}, LeaseTTL: time.Duration(defaultTTL) * time.Millisecond}
	cpu := backend.ClaimParams{WorkerID: "c", Lanes: []string{"caps"}, Capabilities: []string{"cpu"}, LeaseTTL: time.Duration(defaultTTL) * time.Millisecond}

	e.expireLease(e.claimWith(gpu))
	e.claimNoneWith(cpu)
	re := e.claimWith(gpu)
	require.Equal(t, ff.HandleReclaimed, re.Handle.Kind)

	require.NoError(t, e.b.Delay(e.ctx, backend.DelayParams{Handle: re.Handle, Until: ff.TimeFromMs(e.now())}))
	e.claimNoneWith(cpu)
	resumed := e.claimWith(gpu)
	require.Equal(t, ff.HandleResumed, resumed.Handle.Kind)
	require.Equal(t, id, resumed.ExecutionID)
}

// A handle survives its text form: what a remote worker sends back works.
func testClaimHandleText(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.createIn("txt")
	task := e.claim("txt")
	parsed, err := ff.ParseHandle(task.Handle.String())
	require.NoError(t, err)
	require.Equal(t, task.Handle, parsed)
	_, err = e.b.Renew(e.ctx, backend.RenewParams{Handle: parsed})
	require.NoError(t, err)
	require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: parsed, Result: []byte(`"done"`)}))
	e.state(id, ff.PublicCompleted)
}

func testClaimActiveNotClaimable(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.createIn("one")
	e.claim("one")
	e.claimNone("one")
	e.advance(defaultTTL - 1) // the lease is still live
	e.claimNone("one")
	s := e.state(id, ff.PublicActive)
	require.Equal(t, uint64(1), s.Lease.Epoch)
}
