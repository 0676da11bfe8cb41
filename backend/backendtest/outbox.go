package backendtest

import (
	"testing"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// The one outbox (streams-events-operator.md §1.4, §2.2): every
// transition writes exactly the events of its row in the table, in order,
// in its transaction; a row that ends a lease names it. Read through the
// harness's test-only reader (Harness.Events).

func init() {
	register("Outbox/TerminalEndsOfALease", testOutboxTerminalEnds)
	register("Outbox/NonTerminalEndsOfALease", testOutboxNonTerminalEnds)
	register("Outbox/ExpiryAndReclaim", testOutboxExpiryAndReclaim)
	register("Outbox/EndsWithoutALease", testOutboxEndsWithoutALease)
	register("Outbox/ReadCompletionsSkipsOtherTypes", testOutboxReadCompletionsSkips)
}

// needEvents skips t when the harness cannot read the outbox.
func needEvents(t *testing.T, h Harness) {
	if h.Events == nil {
		t.Skip("the harness has no outbox reader (Harness.Events)")
	}
}

// wantEv is one expected event about an execution.
type wantEv struct {
	typ    ff.EventType
	action string
	at     int64
	lease  *ff.LeaseRef
	data   map[string]any // nil: no data
}

// held is a lease a test claimed: its task and when.
type held struct {
	task backend.ClaimedTask
	at   int64
}

// claimHeld claims one execution on lane as "w1", noting when.
func (e *env) claimHeld(lane string) held {
	e.t.Helper()
	at := e.now()
	return held{task: e.claim(lane), at: at}
}

// ref is the lease of h as the row ending it names it: typ is the
// attempt's own type (a resume claim reports "resume" for it).
func (h held) ref(typ ff.AttemptType, reclaim bool, end string) *ff.LeaseRef {
	return &ff.LeaseRef{AttemptIndex: h.task.AttemptIndex, AttemptID: h.task.AttemptID, AttemptType: typ,
		LeaseEpoch: h.task.LeaseEpoch, WorkerID: "w1", WorkerInstanceID: "w1", AcquiredAtMs: h.at,
		Reclaim: reclaim, End: end}
}

// requireEvents asserts the events about id, in cursor order.
func (e *env) requireEvents(id ff.ExecutionID, want ...wantEv) {
	e.t.Helper()
	var got []ff.Event
	for _, ev := range e.h.Events(e.t) {
		if ev.ExecutionID == id {
			got = append(got, ev)
		}
	}
	require.Len(e.t, got, len(want), "events of %s: %+v", id, got)
	for i, w := range want {
		ev := got[i]
		require.Equal(e.t, w.typ, ev.Type, "event %d", i)
		require.Equal(e.t, w.action, ev.Action, "event %d", i)
		require.Equal(e.t, w.at, ev.AtMs, "event %d", i)
		require.Equal(e.t, w.lease, ev.Lease, "event %d (%s/%s): lease", i, w.typ, w.action)
		if w.data == nil {
			require.Nil(e.t, ev.Data, "event %d (%s/%s): data", i, w.typ, w.action)
		} else {
			require.Equal(e.t, w.data, ev.Data, "event %d (%s/%s): data", i, w.typ, w.action)
		}
		require.Equal(e.t, id.Partition, ev.Partition)
	}
}

// Complete, a final Fail and the holder's Cancel each write one completion
// row that ends the lease ("released").
func testOutboxTerminalEnds(t *testing.T, h Harness) {
	needEvents(t, h)
	e := newEnv(t, h)
	id := e.createIn("ob-c")
	c := e.claimHeld("ob-c")
	e.advance(5)
	require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: c.task.Handle, Result: []byte(`1`)}))
	e.requireEvents(id, wantEv{ff.EventCompletion, "success", e.now(), c.ref(ff.AttemptInitial, false, ff.LeaseReleased), nil})

	id = e.createIn("ob-f")
	c = e.claimHeld("ob-f")
	_, err := e.b.Fail(e.ctx, backend.FailParams{Handle: c.task.Handle, Reason: "bad", Classification: ff.FailurePermanent})
	require.NoError(t, err)
	e.requireEvents(id, wantEv{ff.EventCompletion, "failed", e.now(), c.ref(ff.AttemptInitial, false, ff.LeaseReleased),
		map[string]any{"failure_reason": "bad", "failure_class": "permanent"}})

	id = e.createIn("ob-x")
	c = e.claimHeld("ob-x")
	require.NoError(t, e.b.Cancel(e.ctx, backend.CancelParams{Handle: c.task.Handle, Reason: "mine"}))
	e.requireEvents(id, wantEv{ff.EventCompletion, "cancelled", e.now(), c.ref(ff.AttemptInitial, false, ff.LeaseReleased),
		map[string]any{"cancel_reason": "mine", "cancelled_by": "lease_holder"}})
}

// A lease that ends while the execution goes on writes one lease row:
// Fail with a retry left, Delay, and a release of an undelivered claim.
// Renewals and progress write nothing.
func testOutboxNonTerminalEnds(t *testing.T, h Harness) {
	needEvents(t, h)
	e := newEnv(t, h)
	id := e.create(backend.CreateExecutionParams{Lane: "ob-n", Policy: retryPolicy(1, 0)})
	first := e.claimHeld("ob-n")
	_, err := e.b.Renew(e.ctx, backend.RenewParams{Handle: first.task.Handle})
	require.NoError(t, err)
	require.NoError(t, e.b.Progress(e.ctx, backend.ProgressParams{Handle: first.task.Handle, Percent: 5}))
	e.advance(1)
	out, err := e.b.Fail(e.ctx, backend.FailParams{Handle: first.task.Handle, Reason: "flaky"})
	require.NoError(t, err)
	require.True(t, out.RetryScheduled)
	failedAt := e.now()
	retry := e.claimHeld("ob-n")
	e.advance(1)
	require.NoError(t, e.b.Delay(e.ctx, backend.DelayParams{Handle: retry.task.Handle}))
	delayedAt := e.now()
	e.advance(1)
	resumed := e.claimHeld("ob-n")
	e.advance(1)
	require.NoError(t, e.release(resumed.task.Handle)[0])
	releasedAt := e.now()
	again := e.claimHeld("ob-n")
	require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: again.task.Handle}))
	e.requireEvents(id,
		wantEv{ff.EventLease, ff.LeaseReleased, failedAt, first.ref(ff.AttemptInitial, false, ""),
			map[string]any{"reason": "retry_scheduled", "failure_reason": "flaky", "failure_class": "transient"}},
		wantEv{ff.EventLease, ff.LeaseReleased, delayedAt, retry.ref(ff.AttemptRetry, false, ""),
			map[string]any{"reason": "delayed"}},
		wantEv{ff.EventLease, ff.LeaseReleased, releasedAt, resumed.ref(ff.AttemptRetry, false, ""),
			map[string]any{"reason": "unused"}},
		wantEv{ff.EventCompletion, "success", e.now(), again.ref(ff.AttemptRetry, false, ff.LeaseReleased), nil})
}

// Lease expiry (by the sweep, or noticed by a fenced write) writes a lease
// row; the reclaim attempt's lease starts "reclaimed"; at the reclaim cap
// the completion row implies the lease expired.
func testOutboxExpiryAndReclaim(t *testing.T, h Harness) {
	needEvents(t, h)
	e := newEnv(t, h)
	id := e.create(backend.CreateExecutionParams{Lane: "ob-e", Policy: &ff.ExecutionPolicy{MaxReclaimCount: ptr(2)}})
	first := e.claimHeld("ob-e")
	e.expireLease(first.task)
	sweptAt := e.now()
	re := e.claimHeld("ob-e")
	e.advance(int64(re.task.Handle.Lease.LeaseTTLMs))
	requireKind(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: re.task.Handle}), ff.ErrLeaseExpired)
	noticedAt := e.now()
	last := e.claimHeld("ob-e")
	e.expireLease(last.task)
	e.state(id, ff.PublicFailed)
	e.requireEvents(id,
		wantEv{ff.EventLease, ff.LeaseExpired, sweptAt, first.ref(ff.AttemptInitial, false, ""), map[string]any{"reason": "expired"}},
		wantEv{ff.EventLease, ff.LeaseExpired, noticedAt, re.ref(ff.AttemptReclaim, true, ""), map[string]any{"reason": "expired"}},
		wantEv{ff.EventCompletion, "failed", e.now(), last.ref(ff.AttemptReclaim, true, ff.LeaseExpired),
			map[string]any{"failure_reason": "max_reclaims_exceeded", "failure_class": "infra_crash"}})
}

// Ends that find no lease name none: an operator cancel of waiting work,
// a deadline, a claim that finds its pick past the deadline. An operator
// cancel of a leased execution revokes the lease; an attempt timeout
// releases it.
func testOutboxEndsWithoutALease(t *testing.T, h Harness) {
	needEvents(t, h)
	e := newEnv(t, h)
	id := e.createIn("ob-o")
	_, err := e.b.CancelExecution(e.ctx, backend.CancelExecutionParams{ExecutionID: id, Reason: "not needed"})
	require.NoError(t, err)
	e.requireEvents(id,
		wantEv{ff.EventOperator, ff.OperatorCancelled, e.now(), nil, map[string]any{"reason": "not needed", "source": "operator"}},
		wantEv{ff.EventCompletion, "cancelled", e.now(), nil,
			map[string]any{"cancel_reason": "not needed", "cancelled_by": "operator_override"}})

	id = e.createIn("ob-r")
	c := e.claimHeld("ob-r")
	_, err = e.b.CancelExecution(e.ctx, backend.CancelExecutionParams{ExecutionID: id, Reason: "abort", Source: "console"})
	require.NoError(t, err)
	e.requireEvents(id,
		wantEv{ff.EventOperator, ff.OperatorCancelled, e.now(), nil, map[string]any{"reason": "abort", "source": "console"}},
		wantEv{ff.EventCompletion, "cancelled", e.now(), c.ref(ff.AttemptInitial, false, ff.LeaseRevoked),
			map[string]any{"cancel_reason": "abort", "cancelled_by": "console"}})

	id = e.create(backend.CreateExecutionParams{Lane: "ob-t", Policy: attemptTimeout(1_000)})
	c = e.claimHeld("ob-t")
	e.advance(1_000)
	require.Equal(t, 1, e.expireTimeouts())
	e.requireEvents(id, wantEv{ff.EventCompletion, "expired", e.now(), c.ref(ff.AttemptInitial, false, ff.LeaseReleased),
		map[string]any{"failure_reason": "attempt_timeout", "failure_class": "timeout"}})

	id = e.create(backend.CreateExecutionParams{Lane: "ob-d", DeadlineAt: ff.TimeFromMs(e.now() + 1)})
	e.advance(1)
	require.Equal(t, 1, e.expireDeadlines())
	deadline := map[string]any{"failure_reason": "execution_deadline", "failure_class": "timeout"}
	e.requireEvents(id, wantEv{ff.EventCompletion, "expired", e.now(), nil, deadline})

	id = e.create(backend.CreateExecutionParams{Lane: "ob-p", DeadlineAt: ff.TimeFromMs(e.now() + 1)})
	e.advance(1)
	e.claimNone("ob-p")
	e.requireEvents(id, wantEv{ff.EventCompletion, "expired", e.now(), nil, deadline})
}

// ReadCompletions keeps its contract with lease rows interleaved: only
// completions, in commit order, paged by cursor.
func testOutboxReadCompletionsSkips(t *testing.T, h Harness) {
	needEvents(t, h)
	e := newEnv(t, h)
	var order []ff.ExecutionID
	for range 3 {
		id := e.createIn("ob-rc")
		require.NoError(t, e.b.Delay(e.ctx, backend.DelayParams{Handle: e.claim("ob-rc").Handle}))
		require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: e.claim("ob-rc").Handle}))
		order = append(order, id)
	}
	require.Len(t, e.h.Events(t), 6, "a lease row and a completion per execution")
	var got []ff.ExecutionID
	var cur backend.EventCursor
	for range 10 {
		page, err := e.b.ReadCompletions(e.ctx, backend.ReadCompletionsParams{After: cur, Limit: 1})
		require.NoError(t, err)
		if len(page.Events) == 0 {
			break
		}
		require.Equal(t, ff.OutcomeSuccess, page.Events[0].Outcome)
		got = append(got, page.Events[0].ExecutionID)
		cur = page.Next
	}
	require.Equal(t, order, got)
}
