package flowfabric_test

import (
	"math"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/uuid"

	ff "github.com/flowfabric-go/flowfabric"
)

// Issue 9 items 1-3, 14 and 15 in the state machine: poison inputs are
// refused or made storable, time arithmetic saturates, and a terminal
// replay succeeds only on the outcome it wrote.

func TestNewExecutionRefusesPoison(t *testing.T) {
	tests := []struct {
		name  string
		spec  ff.CreateSpec
		kind  ff.ErrorKind
		field string
	}{
		{"all-zero uuid with a partition", ff.CreateSpec{Kind: "job", ID: ff.ExecutionID{Partition: 3}}, ff.ErrInvalidInput, "execution_id"},
		{"NUL in namespace", ff.CreateSpec{Kind: "job", Namespace: "a\x00b"}, ff.ErrInvalidInput, "namespace"},
		{"invalid UTF-8 namespace", ff.CreateSpec{Kind: "job", Namespace: "\xff"}, ff.ErrInvalidInput, "namespace"},
		{"newline in namespace", ff.CreateSpec{Kind: "job", Namespace: "a\nb"}, ff.ErrInvalidInput, "namespace"},
		{"U+2028 in namespace", ff.CreateSpec{Kind: "job", Namespace: "a\u2028b"}, ff.ErrInvalidInput, "namespace"},
		{"NUL in idempotency key", ff.CreateSpec{Kind: "job", IdempotencyKey: "k\x00"}, ff.ErrInvalidInput, "idempotency_key"},
		{"invalid UTF-8 idempotency key", ff.CreateSpec{Kind: "job", IdempotencyKey: "k\xff"}, ff.ErrInvalidInput, "idempotency_key"},
		{"U+0085 in kind", ff.CreateSpec{Kind: "a\u0085b"}, ff.ErrInvalidInput, "kind"},
		{"U+2029 in kind", ff.CreateSpec{Kind: "a\u2029b"}, ff.ErrInvalidInput, "kind"},
		{"newline in kind", ff.CreateSpec{Kind: "a\nb"}, ff.ErrInvalidInput, "kind"},
		{"invalid UTF-8 kind", ff.CreateSpec{Kind: "a\xffb"}, ff.ErrInvalidInput, "kind"},
		{"newline in lane", ff.CreateSpec{Kind: "job", Lane: "a\nb"}, ff.ErrInvalidInput, "lane"},
		{"U+2028 in tag key", ff.CreateSpec{Kind: "job", Tags: map[string]string{"app.a\u2028b": "v"}}, ff.ErrInvalidTagKey, "tag key"},
		{"NUL in tag key", ff.CreateSpec{Kind: "job", Tags: map[string]string{"app.a\x00": "v"}}, ff.ErrInvalidTagKey, "tag key"},
		{"invalid UTF-8 tag key", ff.CreateSpec{Kind: "job", Tags: map[string]string{"app.\xff": "v"}}, ff.ErrInvalidTagKey, "tag key"},
		{"NUL in tag value", ff.CreateSpec{Kind: "job", Tags: map[string]string{"app.k": "v\x00"}}, ff.ErrInvalidInput, "tag app.k"},
		{"invalid UTF-8 tag value", ff.CreateSpec{Kind: "job", Tags: map[string]string{"app.k": "\xc3"}}, ff.ErrInvalidInput, "tag app.k"},
		{"invalid UTF-8 capability", ff.CreateSpec{Kind: "job", Capabilities: []string{"gpu\xff"}}, ff.ErrInvalidCapabilities, "required"},
		{"delay beyond year 9999", ff.CreateSpec{Kind: "job", DelayUntilMs: ff.MaxInstantMs + 1}, ff.ErrInvalidInput, "delay_until_ms"},
		{"delay MaxInt64", ff.CreateSpec{Kind: "job", DelayUntilMs: math.MaxInt64}, ff.ErrInvalidInput, "delay_until_ms"},
		{"deadline MaxInt64", ff.CreateSpec{Kind: "job", DeadlineAtMs: math.MaxInt64}, ff.ErrInvalidInput, "deadline_at_ms"},
		{"attempt timeout MaxInt64", ff.CreateSpec{Kind: "job", Policy: &ff.ExecutionPolicy{
			Timeout: &ff.TimeoutPolicy{AttemptTimeoutMs: ptr(int64(math.MaxInt64))}}}, ff.ErrInvalidPolicy, "timeout_policy.attempt_timeout_ms"},
		{"deadline MaxInt64 in the policy", ff.CreateSpec{Kind: "job", Policy: &ff.ExecutionPolicy{
			Timeout: &ff.TimeoutPolicy{ExecutionDeadlineMs: ptr(int64(math.MaxInt64))}}}, ff.ErrInvalidPolicy, "timeout_policy.execution_deadline_ms"},
		{"fixed backoff MaxInt64", ff.CreateSpec{Kind: "job", Policy: &ff.ExecutionPolicy{Retry: &ff.RetryPolicy{
			MaxRetries: 1, Backoff: ff.BackoffStrategy{Type: "fixed", DelayMs: math.MaxInt64}}}}, ff.ErrInvalidPolicy, "retry_policy.backoff.delay_ms"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := ff.NewExecution(tc.spec, t0)
			ee := wantErr(t, err, ff.ClassValidation, tc.kind)
			if e != nil {
				t.Fatal("returned an execution with the error")
			}
			if !strings.Contains(ee.Detail, tc.field) {
				t.Fatalf("detail %q does not name %s", ee.Detail, tc.field)
			}
		})
	}
}

func TestNewExecutionAtTheLimits(t *testing.T) {
	maxD := ff.MaxDurationMs
	policy := &ff.ExecutionPolicy{
		Timeout: &ff.TimeoutPolicy{AttemptTimeoutMs: ptr(maxD), ExecutionDeadlineMs: ptr(maxD)},
		Retry: &ff.RetryPolicy{MaxRetries: 2, Backoff: ff.BackoffStrategy{Type: "exponential",
			InitialDelayMs: maxD, MaxDelayMs: maxD, Multiplier: 1e300}},
		DedupWindow: ptr(int64(ff.MaxDedupWindowMs)),
	}
	e, err := ff.NewExecution(ff.CreateSpec{Kind: "job", Namespace: "ns façade", IdempotencyKey: "clé\ttab",
		Tags: map[string]string{"app.k": "multi\nline value"}, Policy: policy, DeadlineAtMs: ff.MaxInstantMs}, t0)
	noErr(t, err)
	if e.ExecutionDeadlineMs != t0+maxD {
		t.Fatalf("deadline %d, want the relative one %d", e.ExecutionDeadlineMs, t0+maxD)
	}
	// Claimed near the end of time, every derived instant saturates at
	// MaxInstantMs instead of wrapping negative.
	late := ff.MaxInstantMs - 10
	h, _, err := e.Claim(late, ff.ClaimArgs{WorkerID: "w", LeaseTTLMs: ff.MaxLeaseTTLMs}, ff.BackendPostgres)
	noErr(t, err)
	if e.LeaseExpiresAtMs != ff.MaxInstantMs || e.AttemptDeadlineMs != ff.MaxInstantMs {
		t.Fatalf("lease expiry %d attempt deadline %d, want %d", e.LeaseExpiresAtMs, e.AttemptDeadlineMs, ff.MaxInstantMs)
	}
	_, err = e.Renew(late+1, h.Lease.Fence(), ff.MaxLeaseTTLMs)
	noErr(t, err)
	if e.LeaseExpiresAtMs != ff.MaxInstantMs {
		t.Fatalf("renewed expiry %d", e.LeaseExpiresAtMs)
	}
	out, _, _, err := e.Fail(late+2, h.Lease.Fence(), "x", ff.FailureTransient, nil)
	noErr(t, err)
	if !out.RetryScheduled || e.ReadyAtMs != ff.MaxInstantMs || ff.MsFromTime(out.DelayUntil) != ff.MaxInstantMs {
		t.Fatalf("retry at %d (outcome %+v), want saturated at %d", e.ReadyAtMs, out, ff.MaxInstantMs)
	}
	checkExec(t, e)
}

func TestSaturationOfStoredOutOfRangeValues(t *testing.T) {
	// A record written before the limits existed (or by hand) must not
	// make a transition wrap: the policy is not re-validated on load.
	e := newExec(t, nil)
	e.Policy = &ff.ExecutionPolicy{
		Timeout: &ff.TimeoutPolicy{AttemptTimeoutMs: ptr(int64(math.MaxInt64))},
		Retry: &ff.RetryPolicy{MaxRetries: 3, Backoff: ff.BackoffStrategy{Type: "exponential",
			InitialDelayMs: math.MaxInt64, MaxDelayMs: math.MaxInt64, Multiplier: 1e308}},
	}
	h, _ := claim(t, e, t0)
	if e.AttemptDeadlineMs != ff.MaxInstantMs {
		t.Fatalf("attempt deadline %d, want saturated %d", e.AttemptDeadlineMs, ff.MaxInstantMs)
	}
	out, _, _, err := e.Fail(t0+1, h.Lease.Fence(), "x", ff.FailureTransient, nil)
	noErr(t, err)
	if !out.RetryScheduled || e.ReadyAtMs != t0+1+ff.MaxDurationMs {
		t.Fatalf("ready at %d, want %d", e.ReadyAtMs, t0+1+ff.MaxDurationMs)
	}
	checkExec(t, e)
}

func TestDelayRefusesInstantsOutOfRange(t *testing.T) {
	for _, until := range []int64{-1, ff.MaxInstantMs + 1, math.MaxInt64} {
		e, f := running(t, nil)
		before := *e
		fx, fr, err := e.Delay(t0+1, f, until)
		ee := wantErr(t, err, ff.ClassValidation, ff.ErrInvalidInput)
		if fx != nil || fr != (ff.FenceResult{}) || e.UpdatedAtMs != before.UpdatedAtMs || !strings.Contains(ee.Detail, "delay_until_ms") {
			t.Fatalf("until %d: fx %+v fr %+v detail %q", until, fx, fr, ee.Detail)
		}
	}
	e, f := running(t, nil)
	_, _, err := e.Delay(t0+1, f, ff.MaxInstantMs)
	noErr(t, err)
	if e.ReadyAtMs != ff.MaxInstantMs {
		t.Fatalf("ready at %d", e.ReadyAtMs)
	}
}

// dirtyReason holds NUL and invalid UTF-8 (four bytes that each become
// U+FFFD) and, once sanitized, a 4-byte character at bytes
// MaxReasonBytes-2 to MaxReasonBytes+1, which a byte cut would split.
func dirtyReason() string {
	head := "boom\x00\xff\xe2\x82 "
	pad := ff.MaxReasonBytes - 2 - (len(head) + 4*2) // each replacement grows by 2 bytes
	return head + strings.Repeat("r", pad) + "😀" + "tail"
}

func wantStorable(t *testing.T, what, s string, max int) {
	t.Helper()
	if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 || len(s) > max {
		t.Fatalf("%s is not storable text within %d bytes: %d bytes, valid=%v", what, max, len(s), utf8.ValidString(s))
	}
}

func TestFailSanitizesReasonAndStillRetries(t *testing.T) {
	e, f := running(t, fixedRetry(1, 0))
	reason := dirtyReason()
	out, fx, _, err := e.Fail(t0+1, f, reason, ff.FailureTransient, nil)
	noErr(t, err)
	if !out.RetryScheduled {
		t.Fatal("a dirty reason must not stop the retry policy")
	}
	wantStorable(t, "failure_reason", e.FailureReason, ff.MaxReasonBytes)
	if len(e.FailureReason) != ff.MaxReasonBytes-2 {
		t.Fatalf("reason cut at %d bytes, want %d (before the 4-byte character)", len(e.FailureReason), ff.MaxReasonBytes-2)
	}
	wantStorable(t, "blocking_detail", e.BlockingDetail, 300)
	if !strings.HasPrefix(e.FailureReason, "boom\uFFFD\uFFFD\uFFFD\uFFFD ") || strings.Contains(e.FailureReason, "tail") {
		t.Fatalf("reason %.40q...", e.FailureReason)
	}
	if fx.UpdateAttempts[0].FailureReason != e.FailureReason {
		t.Fatal("attempt and execution disagree on the reason")
	}
	// The replay carries the same dirty text and matches.
	again, fx, _, err := e.Fail(t0+2, f, reason, ff.FailureTransient, nil)
	if err != nil || fx != nil || !again.RetryScheduled {
		t.Fatalf("replay: %+v %+v %v", again, fx, err)
	}
}

func TestFailRefusesUnknownClass(t *testing.T) {
	for _, c := range []ff.FailureClass{"PERMANENT", "bogus"} {
		e, f := running(t, fixedRetry(1, 0))
		before := *e
		_, fx, fr, err := e.Fail(t0+1, f, "x", c, nil)
		wantErr(t, err, ff.ClassValidation, ff.ErrInvalidInput)
		if fx != nil || fr.MarkedExpired || e.UpdatedAtMs != before.UpdatedAtMs {
			t.Fatalf("class %q changed the record", c)
		}
	}
	e, f := running(t, fixedRetry(1, 0))
	out, _, _, err := e.Fail(t0+1, f, "x", "", nil)
	noErr(t, err)
	if !out.RetryScheduled || e.FailureClass != string(ff.FailureTransient) {
		t.Fatalf("empty class: %+v class %q", out, e.FailureClass)
	}
}

func TestProgressAndCancelSanitizeText(t *testing.T) {
	e, f := running(t, nil)
	_, err := e.Progress(t0+1, f, 10, "50%\x00 done \xff")
	noErr(t, err)
	if e.ProgressMessage != "50%\uFFFD done \uFFFD" {
		t.Fatalf("progress message %q", e.ProgressMessage)
	}
	// The size limit applies to what the caller sent; replacements that
	// grow it past the limit are cut on a character boundary.
	_, err = e.Progress(t0+2, f, -1, strings.Repeat("\x00", ff.MaxReasonBytes))
	noErr(t, err)
	wantStorable(t, "progress message", e.ProgressMessage, ff.MaxReasonBytes)

	fx, _, err := e.Cancel(t0+3, f, dirtyReason())
	noErr(t, err)
	wantStorable(t, "cancel reason", e.CancelReason, ff.MaxReasonBytes)
	wantStorable(t, "attempt reason", fx.UpdateAttempts[0].FailureReason, ff.MaxReasonBytes)

	op := newExec(t, nil)
	_, err = op.OperatorCancel(t0+1, "ops\x00\xff"+strings.Repeat("é", 3000), "console\x00"+strings.Repeat("s", 300))
	noErr(t, err)
	wantStorable(t, "operator reason", op.CancelReason, ff.MaxReasonBytes)
	wantStorable(t, "operator source", op.CancelledBy, ff.MaxCancelSourceBytes)
	if !strings.HasPrefix(op.CancelledBy, "console\uFFFD") {
		t.Fatalf("source %.20q", op.CancelledBy)
	}
}

func TestOperatorCancelMayNotClaimTheLeaseHolder(t *testing.T) {
	e := newExec(t, nil)
	_, err := e.OperatorCancel(t0+1, "x", ff.CancelledByLeaseHolder)
	wantErr(t, err, ff.ClassValidation, ff.ErrInvalidInput)
	wantVec(t, e, vecW0)
}

// Issue 9 item 14: a replay may only succeed on the outcome it wrote.

func TestFailAfterReclaimCapSweepIsNotAReplay(t *testing.T) {
	e, f := running(t, &ff.ExecutionPolicy{MaxReclaimCount: ptr(0)})
	// The lease lapses; the worker's first Fail marks it, and with the cap
	// reached the execution fails with max_reclaims_exceeded.
	_, fx, fr, err := e.Fail(t0+ttl, f, "real error", ff.FailurePermanent, nil)
	wantErr(t, err, ff.ClassState, ff.ErrLeaseExpired)
	if fx != nil || !fr.MarkedExpired || e.FailureReason != "max_reclaims_exceeded" {
		t.Fatalf("fx %+v fr %+v reason %q", fx, fr, e.FailureReason)
	}
	wantVec(t, e, vecT(ff.OutcomeFailed, ff.AttemptTerminalState))
	// The repeat must not answer success: the sweep wrote this failure.
	for range 2 {
		out, fx, fr, err := e.Fail(t0+ttl+1, f, "real error", ff.FailurePermanent, nil)
		ee := wantErr(t, err, ff.ClassContention, ff.ErrExecutionNotActive)
		if fx != nil || fr.MarkedExpired || out != (ff.FailOutcome{}) || ee.Retryable() {
			t.Fatalf("repeat: out %+v fx %+v fr %+v retryable %v", out, fx, fr, ee.Retryable())
		}
		if d := ee.NotActive; d.LifecyclePhase != ff.PhaseTerminal || d.TerminalOutcome != ff.OutcomeFailed || d.LeaseEpoch != f.LeaseEpoch {
			t.Fatalf("detail %+v", d)
		}
	}
	// The same holds when the sweep, not the worker, marked it.
	e, f = running(t, &ff.ExecutionPolicy{MaxReclaimCount: ptr(0)})
	if fx := e.MarkLeaseExpired(t0 + ttl); fx == nil {
		t.Fatal("not marked")
	}
	_, _, _, err = e.Fail(t0+ttl+1, f, "real error", ff.FailureTransient, nil)
	wantErr(t, err, ff.ClassContention, ff.ErrExecutionNotActive)
}

func TestFailReplayNeedsTheSameReport(t *testing.T) {
	e, f := running(t, nil)
	_, _, _, err := e.Fail(t0+1, f, "disk full", ff.FailurePermanent, nil)
	noErr(t, err)
	_, fx, _, err := e.Fail(t0+2, f, "disk full", ff.FailurePermanent, nil)
	if err != nil || fx != nil {
		t.Fatalf("same report: fx %+v err %v", fx, err)
	}
	_, _, _, err = e.Fail(t0+2, f, "other text", ff.FailurePermanent, nil)
	wantErr(t, err, ff.ClassContention, ff.ErrExecutionNotActive)
	_, _, _, err = e.Fail(t0+2, f, "disk full", ff.FailureTransient, nil)
	wantErr(t, err, ff.ClassContention, ff.ErrExecutionNotActive)

	// Retry scheduled: the same report replays as RetryScheduled, another
	// does not.
	e, f = running(t, fixedRetry(1, 5000))
	_, _, _, err = e.Fail(t0+1, f, "flaky", "", nil)
	noErr(t, err)
	out, _, _, err := e.Fail(t0+2, f, "flaky", ff.FailureTransient, nil)
	if err != nil || out != (ff.FailOutcome{RetryScheduled: true}) {
		t.Fatalf("same report: %+v %v", out, err)
	}
	_, _, _, err = e.Fail(t0+2, f, "different", ff.FailureTransient, nil)
	wantErr(t, err, ff.ClassContention, ff.ErrExecutionNotActive)
}

func TestFailAfterOtherTerminalWritersIsNotAReplay(t *testing.T) {
	// Attempt timeout (expired) and operator cancel both keep the fence's
	// epoch and attempt id; neither is the worker's failure (and the
	// operator's cancel revoked the lease).
	e, f := running(t, nil)
	e.Expire(t0+1, "attempt_timeout")
	_, _, _, err := e.Fail(t0+2, f, "attempt_timeout", ff.FailureTimeout, nil)
	wantErr(t, err, ff.ClassContention, ff.ErrExecutionNotActive)

	e, f = running(t, nil)
	_, err = e.OperatorCancel(t0+1, "stop", "")
	noErr(t, err)
	_, _, _, err = e.Fail(t0+2, f, "stop", ff.FailureCancelled, nil)
	wantErr(t, err, ff.ClassState, ff.ErrLeaseRevoked)
}

func TestCancelAfterOperatorCancelIsNotAReplay(t *testing.T) {
	for _, source := range []string{"", "console"} {
		e, f := running(t, nil)
		_, err := e.OperatorCancel(t0+1, "ops says stop", source)
		noErr(t, err)
		fx, fr, err := e.Cancel(t0+2, f, "ops says stop")
		ee := wantErr(t, err, ff.ClassState, ff.ErrLeaseRevoked)
		if fx != nil || fr.MarkedExpired || ee.Retryable() {
			t.Fatalf("source %q: fx %+v error %+v", source, fx, ee)
		}
	}
	// The lease holder's own cancel still replays.
	e, f := running(t, nil)
	_, _, err := e.Cancel(t0+1, f, "mine")
	noErr(t, err)
	fx, _, err := e.Cancel(t0+2, f, "mine")
	if err != nil || fx != nil {
		t.Fatalf("own replay: %+v %v", fx, err)
	}
}

func TestCompleteReplayOnlyAfterItsOwnCompletion(t *testing.T) {
	e, f := running(t, nil)
	_, _, err := e.Complete(t0+1, f, []byte("r"))
	noErr(t, err)
	fx, _, err := e.Complete(t0+2, f, []byte("r"))
	if err != nil || fx != nil {
		t.Fatalf("own replay: %+v %v", fx, err)
	}
	// Any other terminal state under the same fence is not a completion.
	others := map[string]func(e *ff.Execution, f ff.Fence){
		"worker fail":     func(e *ff.Execution, f ff.Fence) { e.Fail(t0+1, f, "x", ff.FailurePermanent, nil) },
		"worker cancel":   func(e *ff.Execution, f ff.Fence) { e.Cancel(t0+1, f, "x") },
		"operator cancel": func(e *ff.Execution, f ff.Fence) { e.OperatorCancel(t0+1, "x", "") },
		"attempt timeout": func(e *ff.Execution, f ff.Fence) { e.Expire(t0+1, "attempt_timeout") },
		"reclaim cap":     func(e *ff.Execution, f ff.Fence) { e.MarkLeaseExpired(t0 + ttl) },
	}
	for name, end := range others {
		e, f := running(t, &ff.ExecutionPolicy{MaxReclaimCount: ptr(0)})
		end(e, f)
		wantVec(t, e, vecT(e.State.TerminalOutcome, ff.AttemptTerminalState))
		_, _, err := e.Complete(t0+ttl+2, f, nil)
		class, kind := ff.ClassContention, ff.ErrExecutionNotActive
		if name == "operator cancel" {
			class, kind = ff.ClassState, ff.ErrLeaseRevoked
		}
		if ee := wantErr(t, err, class, kind); ee.Retryable() {
			t.Fatalf("%s: retryable", name)
		}
	}
}

func TestParseExecutionIDRefusesTheNilUUID(t *testing.T) {
	_, err := ff.ParseExecutionID("{fp:0}:" + uuid.Nil.String())
	e := wantErr(t, err, ff.ClassValidation, ff.ErrInvalidInput)
	if !strings.Contains(e.Detail, "all-zero") {
		t.Fatalf("detail %q", e.Detail)
	}
	_, err = ff.ParseExecutionID("{fp:7}:" + uuid.Nil.String())
	wantErr(t, err, ff.ClassValidation, ff.ErrInvalidInput)
	// A huge id is echoed bounded.
	_, err = ff.ParseExecutionID(strings.Repeat("x", 100_000))
	if e := wantErr(t, err, ff.ClassValidation, ff.ErrInvalidInput); len(e.Detail) > 200 {
		t.Fatalf("detail echoes %d bytes", len(e.Detail))
	}
}

func TestDecodeHandleRefusesPoisonIDs(t *testing.T) {
	base := sampleHandle(ff.HandleFresh)
	cases := map[string]func(l *ff.Lease){
		"NUL attempt id":             func(l *ff.Lease) { l.AttemptID = "a\x00" },
		"invalid UTF-8 lease id":     func(l *ff.Lease) { l.LeaseID = "\xff\xfe" },
		"NUL worker instance id":     func(l *ff.Lease) { l.WorkerInstanceID = "w\x00" },
		"invalid UTF-8 lane":         func(l *ff.Lease) { l.Lane = "l\xff" },
		"newline in lane":            func(l *ff.Lease) { l.Lane = "a\nb" },
		"attempt id over 256 bytes":  func(l *ff.Lease) { l.AttemptID = strings.Repeat("a", 257) },
		"nil uuid execution id":      func(l *ff.Lease) { l.ExecutionID = ff.ExecutionID{Partition: 1} },
		"lease id of 4096 NUL bytes": func(l *ff.Lease) { l.LeaseID = strings.Repeat("\x00", 4096) },
	}
	for name, mut := range cases {
		h := base
		mut(&h.Lease)
		_, err := ff.ParseHandle(h.String())
		wantErr(t, err, ff.ClassValidation, ff.ErrInvalidHandle)
		_, err = ff.DecodeHandle(h.Encode())
		if ee := wantErr(t, err, ff.ClassValidation, ff.ErrInvalidHandle); len(ee.Detail) > 300 {
			t.Fatalf("%s: detail echoes %d bytes", name, len(ee.Detail))
		}
		// A handle built in Go meets the same rules at the store's door.
		wantErr(t, h.CheckBackend(h.Backend), ff.ClassValidation, ff.ErrInvalidHandle)
	}
	noErr(t, base.CheckBackend(base.Backend))
}
