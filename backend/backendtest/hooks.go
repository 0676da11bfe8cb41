package backendtest

import (
	"testing"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// Hooks (hooks.go): a row carrying a bit of HooksCompleteSlow completes
// through the slow path, with the same observable result as a plain row,
// and every writer keeps the hooks it does not own.

func init() {
	register("Hooks/CompleteSlowPath", testHooksCompleteSlowPath)
	register("Hooks/CompleteManyMixed", testHooksCompleteManyMixed)
	register("Hooks/KeptByEveryWriter", testHooksKept)
}

// needHooks skips t when the harness cannot set hooks.
func needHooks(t *testing.T, h Harness) {
	if h.SetHooks == nil || h.Hooks == nil {
		t.Skip("the harness has no hooks probe (Harness.SetHooks, Harness.Hooks)")
	}
}

// setHooks stores h on id through the harness.
func (e *env) setHooks(id ff.ExecutionID, h ff.Hooks) {
	e.t.Helper()
	e.h.SetHooks(e.t, id, h)
	require.Equal(e.t, h, e.hooks(id))
}

func (e *env) hooks(id ff.ExecutionID) ff.Hooks {
	e.t.Helper()
	return e.h.Hooks(e.t, id)
}

// hookBits lists every bit of HooksCompleteSlow alone.
func hookBits(mask ff.Hooks) []ff.Hooks {
	var out []ff.Hooks
	for bit := ff.Hooks(1); bit != 0; bit <<= 1 {
		if mask.Any(bit) {
			out = append(out, bit)
		}
	}
	return out
}

// A hooked row completes like a plain one: result stored, one completion
// event, its hooks untouched, and a replay under the same handle succeeds.
func testHooksCompleteSlowPath(t *testing.T, h Harness) {
	needHooks(t, h)
	e := newEnv(t, h)
	require.NotEmpty(t, hookBits(ff.HooksCompleteSlow))
	for _, bit := range hookBits(ff.HooksCompleteSlow) {
		id := e.createIn("hk")
		task := e.claim("hk")
		hooks := bit | ff.HookAdmission
		e.setHooks(id, hooks)
		p := backend.CompleteParams{Handle: task.Handle, Result: []byte(`{"hooked":true}`)}
		require.NoError(t, e.b.Complete(e.ctx, p), "hooks %b", hooks)
		require.NoError(t, e.b.Complete(e.ctx, p), "a replay of the slow-path completion succeeds")
		e.state(id, ff.PublicCompleted)
		res, err := e.b.GetExecutionResult(e.ctx, backend.GetExecutionResultParams{ExecutionID: id})
		require.NoError(t, err)
		require.JSONEq(t, `{"hooked":true}`, string(res))
		e.oneCompletion(id, ff.OutcomeSuccess)
		// The attempt's end clears HookWaitpoints (its feature closes the
		// waitpoints there) and HookQuotaSlot (admission releases the
		// slots); the others are kept.
		require.Equal(t, hooks&^(ff.HookWaitpoints|ff.HookQuotaSlot), e.hooks(id), "the completion keeps the hooks it does not own")
		as := e.attempts(id)
		require.Len(t, as, 1)
		require.Equal(t, ff.AttemptEndedSuccess, as[0].Lifecycle)
	}
}

// A batch mixing plain and hooked rows completes every one of them.
func testHooksCompleteManyMixed(t *testing.T, h Harness) {
	needHooks(t, h)
	e := newEnv(t, h)
	var ids []ff.ExecutionID
	for range 4 {
		ids = append(ids, e.createIn("hm"))
	}
	p := claimParams("w1", "hm")
	p.Max = 4
	tasks, err := e.b.Claim(e.ctx, p)
	require.NoError(t, err)
	require.Len(t, tasks, 4)
	ps := make([]backend.CompleteParams, len(tasks))
	for i, task := range tasks {
		if i%2 == 1 {
			e.setHooks(task.ExecutionID, ff.HookFlow)
		}
		ps[i] = backend.CompleteParams{Handle: task.Handle, Result: []byte(`1`)}
	}
	for i, err := range e.b.CompleteMany(e.ctx, ps) {
		require.NoError(t, err, "entry %d", i)
	}
	for _, id := range ids {
		e.state(id, ff.PublicCompleted)
		e.oneCompletion(id, ff.OutcomeSuccess)
	}
}

// Claims, renewals, delays and failures keep hooks: no writer but the
// owning feature's transitions changes them.
func testHooksKept(t *testing.T, h Harness) {
	needHooks(t, h)
	e := newEnv(t, h)
	// HookQuotaSlot is left out: the end of a lease clears it
	// (Quotas/SlotReleasedOnEveryLeaseEnd).
	hooks := ff.HookFlow | ff.HookAdmission
	id := e.create(backend.CreateExecutionParams{Lane: "hkk", Policy: retryPolicy(1, 0)})
	require.Zero(t, e.hooks(id), "a plain execution has no hooks")
	e.setHooks(id, hooks)
	task := e.claim("hkk")
	require.Equal(t, hooks, e.hooks(id), "claim")
	_, err := e.b.Renew(e.ctx, backend.RenewParams{Handle: task.Handle})
	require.NoError(t, err)
	require.Equal(t, hooks, e.hooks(id), "renew")
	require.NoError(t, e.b.Delay(e.ctx, backend.DelayParams{Handle: task.Handle}))
	require.Equal(t, hooks, e.hooks(id), "delay")
	out, err := e.b.Fail(e.ctx, backend.FailParams{Handle: e.claim("hkk").Handle, Reason: "x"})
	require.NoError(t, err)
	require.True(t, out.RetryScheduled)
	require.Equal(t, hooks, e.hooks(id), "fail")
	_, err = e.b.CancelExecution(e.ctx, backend.CancelExecutionParams{ExecutionID: id})
	require.NoError(t, err)
	require.Equal(t, hooks, e.hooks(id), "operator cancel")
}
