package flowfabric_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	ff "github.com/flowfabric-go/flowfabric"
)

const t0 = int64(1_000_000) // creation time of every fixture, Unix ms
const ttl = int64(30_000)

// newExec creates an execution on lane "default" at t0 and checks it.
func newExec(t *testing.T, policy *ff.ExecutionPolicy) *ff.Execution {
	t.Helper()
	e, err := ff.NewExecution(ff.CreateSpec{Kind: "job", Policy: policy}, t0)
	noErr(t, err)
	checkExec(t, e)
	return e
}

var claimSeq atomic.Int64

// claim takes the lease at now with fresh lease and attempt ids.
func claim(t *testing.T, e *ff.Execution, now int64) (ff.Handle, *ff.Effects) {
	t.Helper()
	n := claimSeq.Add(1)
	h, fx, err := e.Claim(now, ff.ClaimArgs{
		WorkerID: "w", WorkerInstanceID: "w-1", LeaseTTLMs: ttl,
		LeaseID: fmt.Sprintf("lease-%d", n), AttemptID: fmt.Sprintf("attempt-%d", n),
	}, ff.BackendPostgres)
	noErr(t, err)
	checkExec(t, e)
	return h, fx
}

// running returns an execution claimed at t0 and its fence.
func running(t *testing.T, policy *ff.ExecutionPolicy) (*ff.Execution, ff.Fence) {
	t.Helper()
	e := newExec(t, policy)
	h, _ := claim(t, e, t0)
	return e, h.Lease.Fence()
}

// checkExec asserts the record invariants that must hold after every
// transition: a consistent state vector (V1-V10 and derivation), a cleared
// blocking detail when nothing blocks, no lease outside active, and a
// claim predicate that agrees with the vector.
func checkExec(t *testing.T, e *ff.Execution) {
	t.Helper()
	if err := e.State.Check(); err != nil {
		t.Fatalf("state check: %v", err)
	}
	s := e.State
	if s.BlockingReason == ff.BlockingNone && e.BlockingDetail != "" {
		t.Fatalf("blocking_detail %q with blocking_reason none", e.BlockingDetail)
	}
	if s.LifecyclePhase != ff.PhaseActive && (e.LeaseID != "" || e.WorkerID != "" || e.LeaseExpiresAtMs != 0) {
		t.Fatalf("%s execution holds lease %q worker %q expiry %d", s.LifecyclePhase, e.LeaseID, e.WorkerID, e.LeaseExpiresAtMs)
	}
	if s.LifecyclePhase == ff.PhaseActive && s.OwnershipState == ff.OwnershipLeased && (e.LeaseID == "" || e.CurrentAttemptID == "") {
		t.Fatalf("leased execution without lease id %q or attempt id %q", e.LeaseID, e.CurrentAttemptID)
	}
	if s.LifecyclePhase == ff.PhaseTerminal && e.CompletedAtMs == 0 {
		t.Fatal("terminal execution without completed_at")
	}
	if s.LifecyclePhase != ff.PhaseTerminal && e.CompletedAtMs != 0 {
		t.Fatal("non-terminal execution with completed_at")
	}
	if s.EligibilityState == ff.NotEligibleUntilTime && e.ReadyAtMs == 0 {
		t.Fatal("delayed execution without ready_at")
	}
	if s.EligibilityState != ff.NotEligibleUntilTime && e.ReadyAtMs != 0 {
		t.Fatalf("%s execution with ready_at %d", s.EligibilityState, e.ReadyAtMs)
	}
	wantClaimable := (s.LifecyclePhase == ff.PhaseRunnable && s.EligibilityState == ff.EligibleNow) ||
		(s.LifecyclePhase == ff.PhaseActive && s.OwnershipState != ff.OwnershipLeased)
	if e.Claimable() != wantClaimable {
		t.Fatalf("Claimable() = %v for %v", e.Claimable(), s)
	}
}

// wantVec asserts the state vector's six stored dimensions.
func wantVec(t *testing.T, e *ff.Execution, want ff.StateVector) {
	t.Helper()
	if e.State != want {
		t.Fatalf("state\n got %v\nwant %v", e.State, want)
	}
}

// wantEvent asserts a single event, the completion with outcome, about e.
func wantEvent(t *testing.T, fx *ff.Effects, e *ff.Execution, outcome ff.TerminalOutcome, at int64) ff.Event {
	t.Helper()
	ev := wantOneEvent(t, fx, e, ff.EventCompletion, string(outcome), at)
	return ev
}

// wantLeaseEvent asserts a single event, the lease event action with
// reason, about e.
func wantLeaseEvent(t *testing.T, fx *ff.Effects, e *ff.Execution, action, reason string, at int64) ff.Event {
	t.Helper()
	ev := wantOneEvent(t, fx, e, ff.EventLease, action, at)
	if d, ok := ev.Data.(ff.LeaseEventData); !ok || d.Reason != reason {
		t.Fatalf("lease event data %+v, want reason %q", ev.Data, reason)
	}
	if ev.Lease == nil || ev.Lease.End != "" {
		t.Fatalf("lease event lease %+v, want one without an implied end", ev.Lease)
	}
	return ev
}

func wantOneEvent(t *testing.T, fx *ff.Effects, e *ff.Execution, typ ff.EventType, action string, at int64) ff.Event {
	t.Helper()
	if fx == nil || len(fx.Events) != 1 {
		t.Fatalf("want one %s/%s event, got %+v", typ, action, fx)
	}
	ev := fx.Events[0]
	if ev.Type != typ || ev.Action != action || ev.ExecutionID != e.ID || ev.Lane != e.Lane ||
		ev.Namespace != e.Namespace || ev.Partition != e.ID.Partition || ev.AtMs != at {
		t.Fatalf("event %+v, want %s/%s about %s at %d", ev, typ, action, e.ID, at)
	}
	return ev
}

// wantUpdate asserts exactly one attempt update with index and lifecycle.
func wantUpdate(t *testing.T, fx *ff.Effects, index uint32, lc ff.AttemptLifecycle) ff.AttemptUpdate {
	t.Helper()
	if fx == nil || len(fx.UpdateAttempts) != 1 {
		t.Fatalf("want one attempt update, got %+v", fx)
	}
	u := fx.UpdateAttempts[0]
	if u.Index != index || u.Lifecycle != lc {
		t.Fatalf("attempt update %+v, want index %d lifecycle %s", u, index, lc)
	}
	return u
}

func fixedRetry(n int, delayMs int64) *ff.ExecutionPolicy {
	return &ff.ExecutionPolicy{Retry: &ff.RetryPolicy{MaxRetries: n, Backoff: ff.BackoffStrategy{Type: "fixed", DelayMs: delayMs}}}
}
