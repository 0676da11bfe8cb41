package backendtest

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

func init() {
	register("Waitpoints/SuspendSignalResume", testWPSuspendSignalResume)
	register("Waitpoints/ConditionCountSources", testWPCountSources)
	register("Waitpoints/ConditionAllOf", testWPAllOf)
	register("Waitpoints/ConditionOperatorOnly", testWPOperatorOnly)
	register("Waitpoints/ConditionCountWaitpoints", testWPCountWaitpoints)
	register("Waitpoints/Validation", testWPValidation)
	register("Waitpoints/SuspendIdempotency", testWPSuspendIdempotency)
	register("Waitpoints/SignalIdempotencyAndCaps", testWPSignalIdempotency)
	register("Waitpoints/PendingBufferedAlreadySatisfied", testWPPendingSatisfied)
	register("Waitpoints/PendingBufferedThenResume", testWPPendingThenResume)
	register("Waitpoints/PendingExpiry", testWPPendingExpiry)
	register("Waitpoints/TimeoutBehaviors", testWPTimeouts)
	register("Waitpoints/Rotation", testWPRotation)
	register("Waitpoints/BadTokens", testWPBadTokens)
	register("Waitpoints/AttemptEndClosesWaitpoints", testWPAttemptEndCloses)
	register("Waitpoints/KeySeed", testWPKeySeed)
	register("Waitpoints/RaceTwoSignals", testWPRaceTwoSignals)
	register("Waitpoints/RaceSignalTimeout", testWPRaceSignalTimeout)
	register("Waitpoints/RaceSignalCancel", testWPRaceSignalCancel)
	register("Waitpoints/RaceSeedAndRotate", testWPRaceSeedRotate)
	register("Waitpoints/RaceSeedSameKid", testWPRaceSeedSameKid)
	register("Waitpoints/DeadlineAndLeaseLossClose", testWPDeadlineAndLeaseLoss)
	register("Waitpoints/ResumeBatchClaim", testWPResumeBatchClaim)
}

// wpEnv seeds a signing key and returns the env.
func wpEnv(t *testing.T, h Harness) *env {
	e := newEnv(t, h)
	_, err := e.b.SeedWaitpointKey(e.ctx, backend.SeedWaitpointKeyParams{Kid: "k1", Generate: true})
	require.NoError(t, err)
	return e
}

func (e *env) suspend(task backend.ClaimedTask, r ff.SuspendRequest) backend.SuspendOutcome {
	e.t.Helper()
	out, err := e.b.Suspend(e.ctx, backend.SuspendParams{Handle: task.Handle, Request: r})
	require.NoError(e.t, err)
	return out
}

func (e *env) signal(id ff.ExecutionID, wp backend.WaitpointToken, name string, mod ...func(*backend.DeliverSignalParams)) (backend.DeliverSignalResult, error) {
	p := backend.DeliverSignalParams{ExecutionID: id, WaitpointID: wp.WaitpointID, Token: wp.Token, Name: name,
		Payload: json.RawMessage(`{"by":"test"}`), Source: ff.SignalSource{Type: "user", Identity: "u1"}}
	for _, m := range mod {
		m(&p)
	}
	return e.b.DeliverSignal(e.ctx, p)
}

func (e *env) mustSignal(id ff.ExecutionID, wp backend.WaitpointToken, name string, want ff.SignalEffect, mod ...func(*backend.DeliverSignalParams)) string {
	e.t.Helper()
	res, err := e.signal(id, wp, name, mod...)
	require.NoError(e.t, err)
	require.Equal(e.t, want, res.Effect)
	return res.SignalID
}

func cond(raw string) *ff.Condition {
	c, err := ff.DecodeCondition([]byte(raw))
	if err != nil {
		panic(err)
	}
	return &c
}

func testWPSuspendSignalResume(t *testing.T, h Harness) {
	e := wpEnv(t, h)
	id := e.createIn("wp")
	task := e.claim("wp")
	out := e.suspend(task, ff.SuspendRequest{Condition: cond(`{"type":"single","signal_name":"approve"}`), ReasonCode: "waiting_for_approval"})
	require.False(t, out.AlreadySatisfied)
	require.Len(t, out.Waitpoints, 1)
	wp := out.Waitpoints[0]
	require.True(t, strings.HasPrefix(wp.Token, "k1:"), "token %q carries its kid", wp.Token)
	s := e.state(id, ff.PublicSuspended)
	require.Equal(t, ff.BlockingWaitingForApproval, s.StateVector.BlockingReason)
	require.Equal(t, ff.AttemptInterrupted, s.StateVector.AttemptState)
	e.claimNone("wp")
	// The old handle is fenced out.
	requireKind(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: task.Handle}), ff.ErrExecutionNotActive)
	ws, err := e.b.ListWaitpoints(e.ctx, backend.ListWaitpointsParams{ExecutionID: id})
	require.NoError(t, err)
	require.Len(t, ws, 1)
	require.Empty(t, ws[0].Token, "a list never shows the token")
	require.Equal(t, ff.WaitpointActive, ws[0].State)
	require.Equal(t, "k1", ws[0].TokenKid)
	require.Equal(t, []string{"approve"}, ws[0].RequiredSignalNames)
	tok, err := e.b.GetWaitpointToken(e.ctx, backend.GetWaitpointTokenParams{ExecutionID: id, WaitpointID: wp.WaitpointID})
	require.NoError(t, err)
	require.Equal(t, wp.Token, tok)

	e.mustSignal(id, wp, "reject", ff.EffectIgnoredNotInCondition)
	e.state(id, ff.PublicSuspended)
	sig := e.mustSignal(id, wp, "approve", ff.EffectResumeConditionSatisfied, func(p *backend.DeliverSignalParams) {
		p.WaitpointID, p.WaitpointKey = "", wp.WaitpointKey
	})
	e.state(id, ff.PublicWaiting)
	_, err = e.signal(id, wp, "approve")
	requireKind(t, err, ff.ErrWaitpointClosed)

	again := e.claim("wp")
	require.Equal(t, ff.AttemptResume, again.AttemptType)
	require.Equal(t, task.AttemptIndex, again.AttemptIndex)
	require.Equal(t, task.AttemptID, again.AttemptID)
	require.Greater(t, again.LeaseEpoch, task.LeaseEpoch)
	require.Len(t, again.ResumedSignals, 1)
	require.Equal(t, sig, again.ResumedSignals[0].ID)
	require.Equal(t, "approve", again.ResumedSignals[0].Name)
	require.JSONEq(t, `{"by":"test"}`, string(again.ResumedSignals[0].Payload))
	require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: again.Handle}))
	e.state(id, ff.PublicCompleted)
	require.Len(t, e.attempts(id), 1, "the resume continued the same attempt")
	sigs, err := e.b.ListSignals(e.ctx, backend.ListSignalsParams{ExecutionID: id})
	require.NoError(t, err)
	require.Len(t, sigs, 2)
	require.Equal(t, ff.EffectIgnoredNotInCondition, sigs[0].Effect)
	require.Equal(t, ff.EffectResumeConditionSatisfied, sigs[1].Effect)
	if h.Hooks != nil {
		require.False(t, h.Hooks(t, id).Any(ff.HookWaitpoints), "the attempt's end clears HookWaitpoints")
	}
}

func testWPCountSources(t *testing.T, h Harness) {
	e := wpEnv(t, h)
	id := e.createIn("wp")
	task := e.claim("wp")
	out := e.suspend(task, ff.SuspendRequest{WaitpointKeys: []string{"a", "b"},
		Condition: cond(`{"type":"count","n":2,"distinct":"sources"}`)})
	require.Len(t, out.Waitpoints, 2)
	from := func(who string) func(*backend.DeliverSignalParams) {
		return func(p *backend.DeliverSignalParams) { p.Source.Identity = who }
	}
	e.mustSignal(id, out.Waitpoints[0], "vote", ff.EffectAppendedToWaitpoint, from("alice"))
	e.mustSignal(id, out.Waitpoints[1], "vote", ff.EffectAppendedToWaitpoint, from("alice"))
	e.state(id, ff.PublicSuspended)
	e.mustSignal(id, out.Waitpoints[1], "vote", ff.EffectResumeConditionSatisfied, from("bob"))
	again := e.claim("wp")
	require.Len(t, again.ResumedSignals, 2, "the satisfiers: alice's first and bob's")
}

func testWPCountWaitpoints(t *testing.T, h Harness) {
	e := wpEnv(t, h)
	id := e.createIn("wp")
	out := e.suspend(e.claim("wp"), ff.SuspendRequest{WaitpointKeys: []string{"a", "b", "c"},
		Condition: cond(`{"type":"count","n":2,"distinct":"waitpoints","signal_name":"done"}`)})
	e.mustSignal(id, out.Waitpoints[0], "done", ff.EffectAppendedToWaitpoint)
	e.mustSignal(id, out.Waitpoints[0], "done", ff.EffectAppendedToWaitpoint)
	e.mustSignal(id, out.Waitpoints[1], "other", ff.EffectIgnoredNotInCondition)
	e.mustSignal(id, out.Waitpoints[2], "done", ff.EffectResumeConditionSatisfied)
	e.state(id, ff.PublicWaiting)
}

func testWPAllOf(t *testing.T, h Harness) {
	e := wpEnv(t, h)
	id := e.createIn("wp")
	out := e.suspend(e.claim("wp"), ff.SuspendRequest{WaitpointKeys: []string{"legal", "finance", "ops"},
		Condition: cond(`{"type":"all_of","members":[{"type":"single","waitpoint_key":"legal","signal_name":"ok"},
			{"type":"all_of","members":[{"type":"single","waitpoint_key":"finance"},
			{"type":"count","n":1,"distinct":"signals","waitpoint_keys":["ops"]}]}]}`)})
	e.mustSignal(id, out.Waitpoint("legal"), "ok", ff.EffectAppendedToWaitpoint)
	e.mustSignal(id, out.Waitpoint("finance"), "anything", ff.EffectAppendedToWaitpoint)
	e.state(id, ff.PublicSuspended)
	e.mustSignal(id, out.Waitpoint("ops"), "go", ff.EffectResumeConditionSatisfied)
	require.Len(t, e.claim("wp").ResumedSignals, 3)
}

func testWPOperatorOnly(t *testing.T, h Harness) {
	e := wpEnv(t, h)
	id := e.createIn("wp")
	_, err := e.b.ResumeExecution(e.ctx, backend.ResumeExecutionParams{ExecutionID: id})
	requireKind(t, err, ff.ErrNotEligible, "only a suspended execution resumes")
	out := e.suspend(e.claim("wp"), ff.SuspendRequest{Condition: cond(`{"type":"operator_only"}`), ReasonCode: "waiting_for_operator_review"})
	s := e.state(id, ff.PublicSuspended)
	require.Equal(t, ff.BlockingPausedByOperator, s.StateVector.BlockingReason)
	e.mustSignal(id, out.Waitpoints[0], "approve", ff.EffectIgnoredNotInCondition)
	st, err := e.b.ResumeExecution(e.ctx, backend.ResumeExecutionParams{ExecutionID: id})
	require.NoError(t, err)
	require.Equal(t, ff.PublicWaiting, st)
	task := e.claim("wp")
	require.Equal(t, ff.AttemptResume, task.AttemptType)
	require.Empty(t, task.ResumedSignals)
	_, err = e.b.ResumeExecution(e.ctx, backend.ResumeExecutionParams{ExecutionID: id})
	requireKind(t, err, ff.ErrNotEligible)
	// timeout_only needs a deadline.
	_, err = e.b.Suspend(e.ctx, backend.SuspendParams{Handle: task.Handle, Request: ff.SuspendRequest{Condition: cond(`{"type":"timeout_only"}`)}})
	requireKind(t, err, ff.ErrInvalidInput)
	require.Contains(t, err.Error(), "timeout_only_without_deadline")
}

func testWPValidation(t *testing.T, h Harness) {
	e := wpEnv(t, h)
	id := e.createIn("wp")
	task := e.claim("wp")
	for _, c := range []struct {
		name string
		req  ff.SuspendRequest
		code string
	}{
		{"key missing binding", ff.SuspendRequest{Condition: cond(`{"type":"single","waitpoint_key":"nope"}`)}, "referenced_waitpoint_key_missing_binding"},
		{"extra binding", ff.SuspendRequest{WaitpointKeys: []string{"a", "b"}, Condition: cond(`{"type":"single","waitpoint_key":"a"}`)}, "extra_binding_not_referenced_by_condition"},
		{"single ambiguous", ff.SuspendRequest{WaitpointKeys: []string{"a", "b"}, Condition: cond(`{"type":"single"}`)}, "waitpoint_key_mismatch"},
		{"count exceeds", ff.SuspendRequest{WaitpointKeys: []string{"a"}, Condition: cond(`{"type":"count","n":2,"distinct":"waitpoints"}`)}, "count_exceeds_waitpoint_set"},
		{"timeout in past", ff.SuspendRequest{TimeoutAtMs: e.now() - 3_600_000}, "timeout_at_in_past"},
		{"reason", ff.SuspendRequest{ReasonCode: "because"}, "reason_code"},
		{"behavior", ff.SuspendRequest{TimeoutBehavior: "explode"}, "timeout_behavior"},
		{"dup key", ff.SuspendRequest{WaitpointKeys: []string{"a", "a"}}, "twice"},
	} {
		_, err := e.b.Suspend(e.ctx, backend.SuspendParams{Handle: task.Handle, Request: c.req})
		requireKind(t, err, ff.ErrInvalidInput, c.name)
		require.Contains(t, err.Error(), c.code, c.name)
	}
	s := e.state(id, ff.PublicActive)
	require.Equal(t, ff.OwnershipLeased, s.StateVector.OwnershipState, "a refused suspend keeps the lease")
	ws, err := e.b.ListWaitpoints(e.ctx, backend.ListWaitpointsParams{ExecutionID: id})
	require.NoError(t, err)
	require.Empty(t, ws, "a refused suspend creates nothing")
	require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: task.Handle}))
}

func testWPSuspendIdempotency(t *testing.T, h Harness) {
	e := wpEnv(t, h)
	id := e.createIn("wp")
	task := e.claim("wp")
	r := ff.SuspendRequest{IdempotencyKey: "s1", TimeoutAtMs: e.now() + 60_000}
	first := e.suspend(task, r)
	second := e.suspend(task, r)
	require.Equal(t, first, second, "the same key replays the first outcome")
	ws, err := e.b.ListWaitpoints(e.ctx, backend.ListWaitpointsParams{ExecutionID: id})
	require.NoError(t, err)
	require.Len(t, ws, 1)
	_, err = e.b.Suspend(e.ctx, backend.SuspendParams{Handle: task.Handle, Request: ff.SuspendRequest{}})
	requireKind(t, err, ff.ErrAlreadySuspended)
	e.advance(10 * 60_000)
	_, err = e.b.Suspend(e.ctx, backend.SuspendParams{Handle: task.Handle, Request: r})
	require.Error(t, err, "after its expiry the key no longer replays")
}

func testWPSignalIdempotency(t *testing.T, h Harness) {
	e := wpEnv(t, h)
	id := e.createIn("wp")
	out := e.suspend(e.claim("wp"), ff.SuspendRequest{WaitpointKeys: []string{"a", "b"}, Condition: cond(`{"type":"all_of","members":[{"type":"single","waitpoint_key":"a"},{"type":"single","waitpoint_key":"b"}]}`)})
	key := func(p *backend.DeliverSignalParams) { p.IdempotencyKey = "once" }
	first := e.mustSignal(id, out.Waitpoint("a"), "x", ff.EffectAppendedToWaitpoint, key)
	res, err := e.signal(id, out.Waitpoint("a"), "x", key)
	require.NoError(t, err)
	require.True(t, res.Duplicate)
	require.Equal(t, first, res.SignalID)
	_, err = e.signal(id, out.Waitpoint("a"), "x", func(p *backend.DeliverSignalParams) {
		p.Payload = json.RawMessage(`"` + strings.Repeat("x", 70_000) + `"`)
	})
	requireKind(t, err, ff.ErrPayloadTooLarge)
	_, err = e.signal(id, out.Waitpoint("a"), "x", func(p *backend.DeliverSignalParams) { p.MaxSignals = 1 })
	requireKind(t, err, ff.ErrSignalLimitExceeded)
	sigs, err := e.b.ListSignals(e.ctx, backend.ListSignalsParams{ExecutionID: id})
	require.NoError(t, err)
	require.Len(t, sigs, 1, "refused and duplicate signals are not recorded")
	e.mustSignal(id, out.Waitpoint("b"), "y", ff.EffectResumeConditionSatisfied)
}

func testWPPendingSatisfied(t *testing.T, h Harness) {
	e := wpEnv(t, h)
	id := e.createIn("wp")
	task := e.claim("wp")
	wp, err := e.b.CreateWaitpoint(e.ctx, backend.CreateWaitpointParams{Handle: task.Handle, Key: "cb"})
	require.NoError(t, err)
	same, err := e.b.CreateWaitpoint(e.ctx, backend.CreateWaitpointParams{Handle: task.Handle, Key: "cb"})
	require.NoError(t, err)
	require.Equal(t, wp, same, "the same key returns the pending waitpoint")
	if h.Hooks != nil {
		require.True(t, h.Hooks(t, id).Any(ff.HookWaitpoints))
	}
	e.mustSignal(id, wp, "done", ff.EffectBufferedForPending)
	out := e.suspend(task, ff.SuspendRequest{WaitpointKeys: []string{"cb"}})
	require.True(t, out.AlreadySatisfied)
	require.Len(t, out.Signals, 1)
	e.state(id, ff.PublicActive)
	require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: task.Handle}), "the lease is kept")
	_, err = e.signal(id, wp, "done")
	requireKind(t, err, ff.ErrWaitpointClosed)
}

func testWPPendingThenResume(t *testing.T, h Harness) {
	e := wpEnv(t, h)
	id := e.createIn("wp")
	task := e.claim("wp")
	wp, err := e.b.CreateWaitpoint(e.ctx, backend.CreateWaitpointParams{Handle: task.Handle, Key: "cb"})
	require.NoError(t, err)
	e.mustSignal(id, wp, "progress", ff.EffectBufferedForPending)
	out := e.suspend(task, ff.SuspendRequest{WaitpointKeys: []string{"cb"}, Condition: cond(`{"type":"single","signal_name":"done"}`)})
	require.False(t, out.AlreadySatisfied)
	require.Equal(t, wp.Token, out.Waitpoints[0].Token, "activating a pending waitpoint keeps its token")
	e.state(id, ff.PublicSuspended)
	e.mustSignal(id, wp, "done", ff.EffectResumeConditionSatisfied)
	e.state(id, ff.PublicWaiting)
}

func testWPPendingExpiry(t *testing.T, h Harness) {
	e := wpEnv(t, h)
	id := e.createIn("wp")
	task := e.claim("wp")
	wp, err := e.b.CreateWaitpoint(e.ctx, backend.CreateWaitpointParams{Handle: task.Handle, Key: "cb", Expiry: ff.TimeFromMs(e.now() + 1000)})
	require.NoError(t, err)
	e.advance(1000)
	_, err = e.signal(id, wp, "x")
	requireKind(t, err, ff.ErrWaitpointClosed, "expired before the sweep: closed already")
	_, err = e.b.Suspend(e.ctx, backend.SuspendParams{Handle: task.Handle, Request: ff.SuspendRequest{WaitpointKeys: []string{"cb"}}})
	requireKind(t, err, ff.ErrPendingWaitpointExpired)
	n, err := e.b.ExpirePendingWaitpoints(e.ctx, backend.SweepParams{Limit: 10})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	_, err = e.signal(id, wp, "x")
	requireKind(t, err, ff.ErrWaitpointClosed)
	ws, err := e.b.ListWaitpoints(e.ctx, backend.ListWaitpointsParams{ExecutionID: id})
	require.NoError(t, err)
	require.Empty(t, ws)
}

func testWPTimeouts(t *testing.T, h Harness) {
	e := wpEnv(t, h)
	want := map[ff.TimeoutBehavior]ff.PublicState{ff.TimeoutFail: ff.PublicFailed, ff.TimeoutCancel: ff.PublicCancelled,
		ff.TimeoutExpire: ff.PublicExpired, ff.TimeoutAutoResume: ff.PublicWaiting}
	ids := map[ff.TimeoutBehavior]ff.ExecutionID{}
	wps := map[ff.TimeoutBehavior]backend.WaitpointToken{}
	for _, b := range []ff.TimeoutBehavior{ff.TimeoutFail, ff.TimeoutCancel, ff.TimeoutExpire, ff.TimeoutAutoResume} {
		lane := "wp-" + string(b)
		ids[b] = e.createIn(lane)
		out := e.suspend(e.claim(lane), ff.SuspendRequest{TimeoutAtMs: e.now() + 5000, TimeoutBehavior: b})
		wps[b] = out.Waitpoints[0]
	}
	n, err := e.b.ExpireSuspensions(e.ctx, backend.SweepParams{Limit: 10})
	require.NoError(t, err)
	require.Zero(t, n, "nothing is due yet")
	e.advance(5000)
	n, err = e.b.ExpireSuspensions(e.ctx, backend.SweepParams{Limit: 10})
	require.NoError(t, err)
	require.Equal(t, 4, n)
	for b, id := range ids {
		e.state(id, want[b])
		_, err := e.signal(id, wps[b], "late")
		requireKind(t, err, ff.ErrWaitpointClosed, "behaviour %s closes the waitpoint", b)
	}
	failed := e.state(ids[ff.TimeoutFail], ff.PublicFailed)
	require.Equal(t, ff.OutcomeFailed, failed.StateVector.TerminalOutcome)
	task := e.claim("wp-auto_resume")
	require.Equal(t, ff.AttemptResume, task.AttemptType)
	require.Len(t, task.ResumedSignals, 1)
	require.Equal(t, ff.TimeoutSignalName, task.ResumedSignals[0].Name)
	n, err = e.b.ExpireSuspensions(e.ctx, backend.SweepParams{Limit: 10})
	require.NoError(t, err)
	require.Zero(t, n, "a timeout applies once")
}

func testWPRotation(t *testing.T, h Harness) {
	e := wpEnv(t, h)
	id1 := e.createIn("wp")
	old := e.suspend(e.claim("wp"), ff.SuspendRequest{}).Waitpoints[0]
	id2 := e.createIn("wp")
	old2 := e.suspend(e.claim("wp"), ff.SuspendRequest{}).Waitpoints[0]
	res, err := e.b.RotateWaitpointKey(e.ctx, backend.RotateWaitpointKeyParams{Kid: "k2", Grace: 10 * time.Second})
	require.NoError(t, err)
	require.Equal(t, "k1", res.PreviousKid)
	require.Equal(t, e.now()+10_000, res.PreviousValidUntilMs)
	id3 := e.createIn("wp")
	fresh := e.suspend(e.claim("wp"), ff.SuspendRequest{}).Waitpoints[0]
	require.True(t, strings.HasPrefix(fresh.Token, "k2:"), "new tokens use the new kid")
	e.advance(9_999)
	e.mustSignal(id1, old, "go", ff.EffectResumeConditionSatisfied)
	e.advance(1)
	_, err = e.signal(id2, old2, "go")
	requireKind(t, err, ff.ErrInvalidToken, "after the grace the old kid never verifies")
	e.state(id2, ff.PublicSuspended)
	e.mustSignal(id3, fresh, "go", ff.EffectResumeConditionSatisfied)
	_, err = e.b.RotateWaitpointKey(e.ctx, backend.RotateWaitpointKeyParams{Kid: "k1"})
	requireKind(t, err, ff.ErrRotationConflict, "a kid is never reused")
	_, err = e.b.RotateWaitpointKey(e.ctx, backend.RotateWaitpointKeyParams{Kid: "bad:kid"})
	requireKind(t, err, ff.ErrInvalidInput)
}

func testWPBadTokens(t *testing.T, h Harness) {
	e := wpEnv(t, h)
	id := e.createIn("wp")
	out := e.suspend(e.claim("wp"), ff.SuspendRequest{WaitpointKeys: []string{"a", "b"}, Condition: cond(`{"type":"count","n":1,"distinct":"signals"}`)})
	a, b := out.Waitpoint("a"), out.Waitpoint("b")
	kid, mac, _ := strings.Cut(a.Token, ":")
	flip := []byte(mac)
	flip[0] = "01"[map[bool]int{true: 1}[flip[0] == '0']]
	for name, tok := range map[string]string{
		"forged":          kid + ":" + string(flip),
		"truncated":       a.Token[:len(a.Token)-2],
		"empty":           "",
		"other waitpoint": b.Token,
		"unknown kid":     "k9:" + mac,
		"uppercase":       kid + ":" + strings.ToUpper(mac),
		"no colon":        mac,
	} {
		_, err := e.signal(id, a, "go", func(p *backend.DeliverSignalParams) { p.Token = tok })
		requireKind(t, err, ff.ErrInvalidToken, name)
	}
	_, err := e.signal(id, a, "go", func(p *backend.DeliverSignalParams) { p.WaitpointID, p.WaitpointKey = "", "nope" })
	requireKind(t, err, ff.ErrInvalidToken, "an unknown key is a bad token, not a lookup")
	_, err = e.signal(randomID(), a, "go")
	requireKind(t, err, ff.ErrInvalidToken, "a token is bound to its execution")
	e.state(id, ff.PublicSuspended)
	sigs, err := e.b.ListSignals(e.ctx, backend.ListSignalsParams{ExecutionID: id})
	require.NoError(t, err)
	require.Empty(t, sigs, "refused tokens record nothing")
}

func testWPAttemptEndCloses(t *testing.T, h Harness) {
	e := wpEnv(t, h)
	id := e.createIn("wp")
	out := e.suspend(e.claim("wp"), ff.SuspendRequest{})
	page := e.listAll(backend.ListExecutionsParams{PublicState: ff.PublicSuspended})
	require.Len(t, page, 1, "suspended executions are listed by the state filter")
	_, err := e.b.CancelExecution(e.ctx, backend.CancelExecutionParams{ExecutionID: id, Reason: "no"})
	require.NoError(t, err)
	e.state(id, ff.PublicCancelled)
	_, err = e.b.GetWaitpointToken(e.ctx, backend.GetWaitpointTokenParams{ExecutionID: id, WaitpointID: out.Waitpoints[0].WaitpointID})
	requireKind(t, err, ff.ErrNotFound, "a closed waitpoint's token is gone")
	_, err = e.signal(id, out.Waitpoints[0], "go")
	requireKind(t, err, ff.ErrWaitpointClosed)
	// A pending waitpoint closes when its attempt completes.
	id2 := e.createIn("wp2")
	task := e.claim("wp2")
	wp, err := e.b.CreateWaitpoint(e.ctx, backend.CreateWaitpointParams{Handle: task.Handle})
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(wp.WaitpointKey, "wpk:"))
	require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: task.Handle}))
	_, err = e.signal(id2, wp, "late")
	requireKind(t, err, ff.ErrWaitpointClosed)
	if h.Hooks != nil {
		require.Zero(t, h.Hooks(t, e.createIn("plain")), "plain executions carry no hooks")
	}
}

func testWPKeySeed(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.createIn("wp")
	task := e.claim("wp")
	_, err := e.b.Suspend(e.ctx, backend.SuspendParams{Handle: task.Handle})
	requireKind(t, err, ff.ErrHMACNotInitialized, "no key, no token")
	_, err = e.b.SeedWaitpointKey(e.ctx, backend.SeedWaitpointKeyParams{})
	requireKind(t, err, ff.ErrHMACNotInitialized)
	res, err := e.b.SeedWaitpointKey(e.ctx, backend.SeedWaitpointKeyParams{Kid: "boot", SecretHex: strings.Repeat("ab", 32)})
	require.NoError(t, err)
	require.True(t, res.Seeded)
	res, err = e.b.SeedWaitpointKey(e.ctx, backend.SeedWaitpointKeyParams{Kid: "other", Generate: true})
	require.NoError(t, err)
	require.Equal(t, backend.SeedWaitpointKeyResult{Kid: "boot"}, res, "a stored key is kept")
	_, err = e.b.SeedWaitpointKey(e.ctx, backend.SeedWaitpointKeyParams{SecretHex: "abcd"})
	requireKind(t, err, ff.ErrInvalidInput, "a short secret is refused")
	out := e.suspend(task, ff.SuspendRequest{})
	require.True(t, strings.HasPrefix(out.Waitpoints[0].Token, "boot:"))
	e.mustSignal(id, out.Waitpoints[0], "go", ff.EffectResumeConditionSatisfied)
}

func testWPRaceTwoSignals(t *testing.T, h Harness) {
	e := wpEnv(t, h)
	id := e.createIn("wp")
	task := e.claim("wp")
	wp := e.suspend(task, ff.SuspendRequest{}).Waitpoints[0]
	var fns []func() error
	results := make([]backend.DeliverSignalResult, 4)
	for i := range results {
		fns = append(fns, func() (err error) { results[i], err = e.signal(id, wp, "go"); return err })
	}
	resumed := 0
	for i, err := range runConcurrently(fns...) {
		if err != nil {
			requireKind(t, err, ff.ErrWaitpointClosed, "signal %d", i)
			continue
		}
		require.Equal(t, ff.EffectResumeConditionSatisfied, results[i].Effect)
		resumed++
	}
	require.Equal(t, 1, resumed, "exactly one signal resumes")
	again := e.claim("wp")
	require.Len(t, again.ResumedSignals, 1)
	require.Len(t, e.attempts(id), 1)
}

func testWPRaceSignalTimeout(t *testing.T, h Harness) {
	e := wpEnv(t, h)
	id := e.createIn("wp")
	wp := e.suspend(e.claim("wp"), ff.SuspendRequest{TimeoutAtMs: e.now() + 1000, TimeoutBehavior: ff.TimeoutFail}).Waitpoints[0]
	e.advance(1000)
	var swept int
	errs := runConcurrently(
		func() error { _, err := e.signal(id, wp, "go"); return err },
		func() (err error) {
			swept, err = e.b.ExpireSuspensions(e.ctx, backend.SweepParams{Limit: 10})
			return err
		})
	require.NoError(t, errs[1])
	if errs[0] == nil {
		require.Zero(t, swept, "the signal won: the timeout finds nothing to do")
		e.state(id, ff.PublicWaiting)
	} else {
		requireKind(t, errs[0], ff.ErrWaitpointClosed)
		require.Equal(t, 1, swept)
		e.state(id, ff.PublicFailed)
	}
}

func testWPRaceSignalCancel(t *testing.T, h Harness) {
	e := wpEnv(t, h)
	id := e.createIn("wp")
	wp := e.suspend(e.claim("wp"), ff.SuspendRequest{}).Waitpoint("")
	errs := runConcurrently(
		func() error { _, err := e.signal(id, wp, "go"); return err },
		func() error {
			_, err := e.b.CancelExecution(e.ctx, backend.CancelExecutionParams{ExecutionID: id, Reason: "race"})
			return err
		})
	require.NoError(t, errs[1], "the cancel always wins or follows")
	e.state(id, ff.PublicCancelled)
	if errs[0] != nil {
		requireKind(t, errs[0], ff.ErrWaitpointClosed)
	}
	e.claimNone("wp")
}

// Servers starting together seed one key; concurrent rotations leave one
// current key, the loser answered rotation_conflict.
// Servers that start together with the same configured key all seed it:
// one stores it, the others find it current (none reads the kid as
// reused).
func testWPRaceSeedSameKid(t *testing.T, h Harness) {
	e := newEnv(t, h)
	secret := strings.Repeat("5e", 32)
	res := make([]backend.SeedWaitpointKeyResult, 6)
	var fns []func() error
	for i := range res {
		fns = append(fns, func() (err error) {
			res[i], err = e.b.SeedWaitpointKey(e.ctx, backend.SeedWaitpointKeyParams{Kid: "k1", SecretHex: secret})
			return err
		})
	}
	seeded := 0
	for i, err := range runConcurrently(fns...) {
		require.NoError(t, err, "seed %d", i)
		require.Equal(t, "k1", res[i].Kid)
		if res[i].Seeded {
			seeded++
		}
	}
	require.Equal(t, 1, seeded)
}

func testWPRaceSeedRotate(t *testing.T, h Harness) {
	e := newEnv(t, h)
	res := make([]backend.SeedWaitpointKeyResult, 4)
	var fns []func() error
	for i := range res {
		fns = append(fns, func() (err error) {
			res[i], err = e.b.SeedWaitpointKey(e.ctx, backend.SeedWaitpointKeyParams{Kid: "k" + string(rune('a'+i)), Generate: true})
			return err
		})
	}
	seeded := 0
	for i, err := range runConcurrently(fns...) {
		require.NoError(t, err, "seed %d", i)
		require.Equal(t, res[0].Kid, res[i].Kid, "every server uses the one key")
		if res[i].Seeded {
			seeded++
		}
	}
	require.Equal(t, 1, seeded)
	rot := make([]backend.RotateWaitpointKeyResult, 3)
	fns = nil
	for i := range rot {
		fns = append(fns, func() (err error) {
			rot[i], err = e.b.RotateWaitpointKey(e.ctx, backend.RotateWaitpointKeyParams{Kid: "r" + string(rune('a'+i)), Grace: time.Minute})
			return err
		})
	}
	won := 0
	for _, err := range runConcurrently(fns...) {
		if err == nil {
			won++
			continue
		}
		requireKind(t, err, ff.ErrRotationConflict)
	}
	require.GreaterOrEqual(t, won, 1)
	id := e.createIn("wp")
	out := e.suspend(e.claim("wp"), ff.SuspendRequest{})
	require.True(t, strings.HasPrefix(out.Waitpoints[0].Token, "r"), "a rotated key is current: %s", out.Waitpoints[0].Token[:3])
	e.mustSignal(id, out.Waitpoints[0], "go", ff.EffectResumeConditionSatisfied)
}

// The execution deadline ends a suspended execution and closes its
// waitpoints; a lost lease closes the pending waitpoints of its attempt,
// and the reclaim attempt starts without them.
func testWPDeadlineAndLeaseLoss(t *testing.T, h Harness) {
	e := wpEnv(t, h)
	id := e.create(backend.CreateExecutionParams{Lane: "dl", DeadlineAt: ff.TimeFromMs(e.now() + 5_000)})
	wp := e.suspend(e.claim("dl"), ff.SuspendRequest{TimeoutAtMs: e.now() + 60_000}).Waitpoints[0]
	e.advance(5_000)
	n, err := e.b.ExpireDeadlines(e.ctx, backend.SweepParams{Limit: 10})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	e.state(id, ff.PublicExpired)
	_, err = e.signal(id, wp, "late")
	requireKind(t, err, ff.ErrWaitpointClosed)
	n, err = e.b.ExpireSuspensions(e.ctx, backend.SweepParams{Limit: 10})
	require.NoError(t, err)
	require.Zero(t, n, "the suspension closed with its attempt: its timeout never fires")

	id2 := e.createIn("ll")
	task := e.claim("ll")
	pending, err := e.b.CreateWaitpoint(e.ctx, backend.CreateWaitpointParams{Handle: task.Handle, Key: "cb"})
	require.NoError(t, err)
	e.expireLease(task)
	_, err = e.signal(id2, pending, "late")
	requireKind(t, err, ff.ErrWaitpointClosed, "a lost lease closes its attempt's waitpoints")
	again := e.claim("ll")
	require.Equal(t, ff.AttemptReclaim, again.AttemptType)
	fresh, err := e.b.CreateWaitpoint(e.ctx, backend.CreateWaitpointParams{Handle: again.Handle, Key: "cb"})
	require.NoError(t, err)
	require.NotEqual(t, pending.WaitpointID, fresh.WaitpointID, "the key is free again for the new attempt")
	if h.Hooks != nil {
		require.True(t, h.Hooks(t, id2).Any(ff.HookWaitpoints))
	}
}

// testWPResumeBatchClaim: one claim resuming several executions gives each
// exactly its own satisfiers; a plain task claimed beside them has none.
func testWPResumeBatchClaim(t *testing.T, h Harness) {
	e := wpEnv(t, h)
	ids := []ff.ExecutionID{e.createIn("wp"), e.createIn("wp"), e.createIn("wp")}
	claimed := []backend.ClaimedTask{e.claim("wp"), e.claim("wp"), e.claim("wp")}
	require.Len(t, ids, len(claimed))
	want := map[ff.ExecutionID][]string{}
	for i, task := range claimed {
		out := e.suspend(task, ff.SuspendRequest{Condition: cond(`{"type":"single","signal_name":"go"}`)})
		require.Len(t, out.Waitpoints, 1)
		if i == 2 {
			continue // stays suspended
		}
		want[task.ExecutionID] = []string{e.mustSignal(task.ExecutionID, out.Waitpoints[0], "go", ff.EffectResumeConditionSatisfied)}
	}
	plain := e.createIn("wp")
	p := claimParams("w1", "wp")
	p.Max = 10
	tasks, err := e.b.Claim(e.ctx, p)
	require.NoError(t, err)
	require.Len(t, tasks, 3, "the two resumed and the plain one")
	for _, task := range tasks {
		if task.ExecutionID == plain {
			require.Empty(t, task.ResumedSignals)
			continue
		}
		require.Equal(t, ff.AttemptResume, task.AttemptType)
		var got []string
		for _, s := range task.ResumedSignals {
			require.Equal(t, task.ExecutionID, s.ExecutionID)
			got = append(got, s.ID)
		}
		require.Equal(t, want[task.ExecutionID], got)
	}
}
