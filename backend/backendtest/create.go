package backendtest

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// Creation: the initial state, what is stored, id minting, priority
// clamping, idempotency keys and delayed creation.

func init() {
	register("Create/InitialSnapshot", testCreateInitialSnapshot)
	register("Create/DefaultLane", testCreateDefaultLane)
	register("Create/PriorityClamped", testCreatePriorityClamped)
	register("Create/MintedIDPartitions", testCreateMintedIDPartitions)
	register("Create/ExplicitIDKept", testCreateExplicitIDKept)
	register("Create/ExplicitIDTaken", testCreateExplicitIDTaken)
	register("Create/IdempotencyKey", testCreateIdempotencyKey)
	register("Create/DelayUntil", testCreateDelayUntil)
	register("Create/DelayUntilInPastIsReady", testCreateDelayUntilInPast)
}

func testCreateInitialSnapshot(t *testing.T, h Harness) {
	e := newEnv(t, h)
	now := e.now()
	pol := retryPolicy(2, 500)
	res, err := e.b.CreateExecution(e.ctx, backend.CreateExecutionParams{
		Namespace: "ns1", Lane: "lane-a", Kind: "email.send", Input: []byte(`{"to":"a@b"}`),
		Priority: 7, RequiredCapabilities: []string{"b", "a", "a"}, Tags: map[string]string{"app.user": "u1"},
		Policy: pol,
	})
	require.NoError(t, err)
	require.False(t, res.Duplicate)
	require.Equal(t, ff.PublicWaiting, res.PublicState)

	s := e.state(res.ExecutionID, ff.PublicWaiting)
	v := s.StateVector
	require.Equal(t, ff.PhaseRunnable, v.LifecyclePhase)
	require.Equal(t, ff.OwnershipUnowned, v.OwnershipState)
	require.Equal(t, ff.EligibleNow, v.EligibilityState)
	require.Equal(t, ff.OutcomeNone, v.TerminalOutcome)
	require.Equal(t, ff.AttemptPendingFirst, v.AttemptState)
	require.Equal(t, "ns1", s.Namespace)
	require.Equal(t, "lane-a", s.Lane)
	require.Equal(t, "email.send", s.Kind)
	require.Equal(t, int32(7), s.Priority)
	require.Equal(t, []string{"a", "b"}, s.RequiredCaps, "capabilities are stored normalized")
	require.Equal(t, map[string]string{"app.user": "u1"}, s.Tags)
	require.JSONEq(t, `{"retry_policy":{"max_retries":2,"backoff":{"type":"fixed","delay_ms":500}}}`, string(s.Policy))
	require.Zero(t, s.AttemptCount)
	require.Nil(t, s.CurrentAttempt)
	require.Zero(t, s.RetryCount)
	require.Zero(t, s.ReclaimCount)
	require.Nil(t, s.ProgressPct)
	require.Equal(t, now, ff.MsFromTime(s.CreatedAt))
	require.Zero(t, ff.MsFromTime(s.StartedAt))
	require.Zero(t, ff.MsFromTime(s.CompletedAt))
	if s.Lease != nil {
		require.Zero(t, s.Lease.Epoch, "a new execution has epoch 0")
	}
	require.Empty(t, e.attempts(res.ExecutionID), "creation mints no attempt")
	require.Empty(t, e.completions(), "creation writes no completion event")

	_, err = e.b.GetExecutionResult(e.ctx, backend.GetExecutionResultParams{ExecutionID: res.ExecutionID})
	requireKind(t, err, ff.ErrNotFound)
}

func testCreateDefaultLane(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.create(backend.CreateExecutionParams{})
	require.Equal(t, "default", e.consistent(id).Lane)
	task := e.claimWith(backend.ClaimParams{WorkerID: "w1"}) // lanes default to ["default"]
	require.Equal(t, id, task.ExecutionID)
	require.Equal(t, "default", task.Lane)
}

// Spec §9.7 item 10, first half.
func testCreatePriorityClamped(t *testing.T, h Harness) {
	e := newEnv(t, h)
	for _, c := range []struct {
		in   int64
		want int32
	}{{10_000, 9000}, {9000, 9000}, {-5, 0}, {0, 0}, {42, 42}, {1 << 40, 9000}} {
		id := e.create(backend.CreateExecutionParams{Lane: "prio", Priority: c.in})
		require.Equal(t, c.want, e.consistent(id).Priority, "priority %d", c.in)
	}
}

// Spec §9.7 item 12 and the CRC vectors of §6.3.
func testCreateMintedIDPartitions(t *testing.T, h Harness) {
	e := newEnv(t, h)
	for lane, want := range map[string]uint16{"default": 86, "workers-a": 193} {
		id := e.createIn(lane)
		require.Equal(t, want, id.Partition, "lane %q", lane)
		require.Equal(t, ff.PartitionKey(want)+":", id.String()[:len(ff.PartitionKey(want))+1])
		require.Equal(t, id, e.consistent(id).ExecutionID)
	}
	id := e.create(backend.CreateExecutionParams{})
	require.Equal(t, uint16(86), id.Partition, "an empty lane means default")
}

func testCreateExplicitIDKept(t *testing.T, h Harness) {
	e := newEnv(t, h)
	want := ff.ExecutionID{Partition: 7, UUID: uuid.New()}
	res, err := e.b.CreateExecution(e.ctx, backend.CreateExecutionParams{ExecutionID: want, Lane: "workers-a", Kind: "k"})
	require.NoError(t, err)
	require.Equal(t, want, res.ExecutionID, "an explicit id is kept, partition included")
	e.consistent(want)
	task := e.claim("workers-a")
	require.Equal(t, want, task.ExecutionID)
	require.Equal(t, want, task.Handle.Lease.ExecutionID)
}

// Reusing an explicit id without an idempotency key is a conflict and
// leaves the first execution untouched.
func testCreateExplicitIDTaken(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := ff.ExecutionID{Partition: 86, UUID: uuid.New()}
	e.create(backend.CreateExecutionParams{ExecutionID: id, Kind: "first"})
	_, err := e.b.CreateExecution(e.ctx, backend.CreateExecutionParams{ExecutionID: id, Kind: "second"})
	requireKind(t, err, ff.ErrDuplicateExecution)
	require.ErrorIs(t, err, ff.ClassConflict)
	require.Equal(t, "first", e.state(id, ff.PublicWaiting).Kind)
	require.Len(t, e.listAll(backend.ListExecutionsParams{}), 1)
}

func testCreateIdempotencyKey(t *testing.T, h Harness) {
	e := newEnv(t, h)
	p := backend.CreateExecutionParams{Namespace: "tenant-1", Lane: "idem", Kind: "k", IdempotencyKey: "order-42"}
	first, err := e.b.CreateExecution(e.ctx, p)
	require.NoError(t, err)
	require.False(t, first.Duplicate)

	again, err := e.b.CreateExecution(e.ctx, p)
	require.NoError(t, err)
	require.True(t, again.Duplicate, "same namespace and key is a duplicate")
	require.Equal(t, first.ExecutionID, again.ExecutionID)
	require.Equal(t, ff.PublicWaiting, again.PublicState)

	// The duplicate reports the existing execution's current state.
	e.claim("idem")
	third, err := e.b.CreateExecution(e.ctx, p)
	require.NoError(t, err)
	require.True(t, third.Duplicate)
	require.Equal(t, first.ExecutionID, third.ExecutionID)
	require.Equal(t, ff.PublicActive, third.PublicState)

	// The key is scoped by namespace.
	p.Namespace = "tenant-2"
	other, err := e.b.CreateExecution(e.ctx, p)
	require.NoError(t, err)
	require.False(t, other.Duplicate)
	require.NotEqual(t, first.ExecutionID, other.ExecutionID)

	require.Len(t, e.listAll(backend.ListExecutionsParams{}), 2, "a duplicate create writes nothing")
}

func testCreateDelayUntil(t *testing.T, h Harness) {
	e := newEnv(t, h)
	until := e.now() + 5_000
	res, err := e.b.CreateExecution(e.ctx, backend.CreateExecutionParams{Lane: "later", Kind: "k", DelayUntil: ff.TimeFromMs(until)})
	require.NoError(t, err)
	require.Equal(t, ff.PublicDelayed, res.PublicState)
	s := e.state(res.ExecutionID, ff.PublicDelayed)
	require.Equal(t, ff.NotEligibleUntilTime, s.StateVector.EligibilityState)
	require.Equal(t, ff.BlockingWaitingForDelay, s.StateVector.BlockingReason)
	require.Equal(t, ff.AttemptPendingFirst, s.StateVector.AttemptState)
	require.Equal(t, until, ff.MsFromTime(s.ReadyAt))

	e.claimNone("later")
	e.advance(4_999)
	require.Zero(t, e.promote(), "not due yet")
	e.claimNone("later")

	e.advance(1)
	require.Equal(t, 1, e.promote())
	s = e.state(res.ExecutionID, ff.PublicWaiting)
	require.Equal(t, ff.AttemptPendingFirst, s.StateVector.AttemptState, "promotion keeps attempt_state")
	require.Zero(t, e.promote(), "promotion is done once")

	task := e.claim("later")
	require.Equal(t, res.ExecutionID, task.ExecutionID)
	require.Equal(t, ff.AttemptInitial, task.AttemptType)
	require.Equal(t, uint32(0), task.AttemptIndex)
}

func testCreateDelayUntilInPast(t *testing.T, h Harness) {
	e := newEnv(t, h)
	res, err := e.b.CreateExecution(e.ctx, backend.CreateExecutionParams{Lane: "now", Kind: "k", DelayUntil: ff.TimeFromMs(e.now() - 1)})
	require.NoError(t, err)
	require.Equal(t, ff.PublicWaiting, res.PublicState)
	require.Equal(t, res.ExecutionID, e.claim("now").ExecutionID)
}
