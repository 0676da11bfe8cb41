package backendtest

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// Poison text (issue 9 items 2 and 3): free text is stored sanitized and
// never refused; keys, names and ids with NUL, invalid UTF-8 or control
// characters are refused before anything is written, the same on every
// store.

func init() {
	register("RobustDomain/FailReasonSanitizedAndRetried", testRobustFailReasonSanitized)
	register("RobustDomain/ProgressAndCancelTextSanitized", testRobustProgressCancelSanitized)
	register("RobustDomain/OperatorCancelTextSanitized", testRobustOperatorCancelSanitized)
	register("RobustDomain/CreatePoisonKeysRefused", testRobustCreatePoisonKeys)
	register("RobustDomain/IdempotencyKeysNeverCollide", testRobustIdempotencyKeysDistinct)
	register("RobustDomain/WorkerPoisonRefused", testRobustWorkerPoison)
	register("RobustDomain/PoisonHandleRefusedAlone", testRobustPoisonHandle)
	register("RobustDomain/LaneCursorPoisonRefused", testRobustLaneCursor)
}

// poisonReason holds NUL and invalid UTF-8 (four bytes that each become
// U+FFFD, growing the text by 8 bytes) and, once sanitized, a 4-byte
// character across the MaxReasonBytes cut.
func poisonReason() string {
	head := "boom\x00\xff\xe2\x82 "
	pad := ff.MaxReasonBytes - 2 - (len(head) + 4*2)
	return head + strings.Repeat("r", pad) + "😀" + "tail"
}

// poisonReasonStored is poisonReason as every store must keep it.
func poisonReasonStored() string {
	r := poisonReason()
	return "boom\uFFFD\uFFFD\uFFFD\uFFFD " + r[len("boom\x00\xff\xe2\x82 "):strings.Index(r, "😀")]
}

// requireStorable asserts s is valid UTF-8 without NUL, within max bytes.
func requireStorable(t *testing.T, what, s string, max int) {
	t.Helper()
	require.Truef(t, utf8.ValidString(s), "%s is not valid UTF-8", what)
	require.NotContainsf(t, s, "\x00", "%s holds NUL", what)
	require.LessOrEqualf(t, len(s), max, "%s is %d bytes", what, len(s))
}

func testRobustFailReasonSanitized(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.create(backend.CreateExecutionParams{Lane: "rf", Policy: retryPolicy(1, 0)})
	out, err := e.b.Fail(e.ctx, backend.FailParams{Handle: e.claim("rf").Handle, Reason: poisonReason(), Classification: ff.FailureTransient})
	require.NoError(t, err, "a failure report must never be refused because of its text")
	require.True(t, out.RetryScheduled, "the retry policy applies, not the reclaim path")
	s := e.state(id, ff.PublicWaiting)
	want := poisonReasonStored()
	require.Len(t, want, ff.MaxReasonBytes-2)
	require.Equal(t, want, s.FailureReason, "cut before the 4-byte character, NUL and invalid bytes replaced")
	requireStorable(t, "blocking_detail", s.BlockingDetail, 300)

	retry := e.claim("rf")
	require.Equal(t, ff.AttemptRetry, retry.AttemptType)
	_, err = e.b.Fail(e.ctx, backend.FailParams{Handle: retry.Handle, Reason: "\x00", Classification: ff.FailurePermanent})
	require.NoError(t, err)
	s = e.state(id, ff.PublicFailed)
	require.Equal(t, "\uFFFD", s.FailureReason)
	as := e.attempts(id)
	require.Len(t, as, 2)
	require.Equal(t, want, as[0].FailureReason)
	require.Equal(t, "\uFFFD", as[1].FailureReason)
}

func testRobustProgressCancelSanitized(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.createIn("rp")
	task := e.claim("rp")
	require.NoError(t, e.b.Progress(e.ctx, backend.ProgressParams{Handle: task.Handle, Percent: 5, Message: "half\x00way \xff"}))
	s := e.state(id, ff.PublicActive)
	require.Equal(t, "half\uFFFDway \uFFFD", s.ProgressMessage)
	require.NoError(t, e.b.Progress(e.ctx, backend.ProgressParams{Handle: task.Handle, Percent: -1,
		Message: strings.Repeat("\x00", ff.MaxReasonBytes)}))
	requireStorable(t, "progress_message", e.consistent(id).ProgressMessage, ff.MaxReasonBytes)

	require.NoError(t, e.b.Cancel(e.ctx, backend.CancelParams{Handle: task.Handle, Reason: poisonReason()}))
	s = e.state(id, ff.PublicCancelled)
	require.Equal(t, poisonReasonStored(), s.CancelReason)
	as := e.attempts(id)
	require.Len(t, as, 1)
	require.Equal(t, poisonReasonStored(), as[0].FailureReason)
	require.NoError(t, e.b.Cancel(e.ctx, backend.CancelParams{Handle: task.Handle, Reason: poisonReason()}), "own replay")
}

func testRobustOperatorCancelSanitized(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.createIn("ro")
	task := e.claim("ro")
	st, err := e.b.CancelExecution(e.ctx, backend.CancelExecutionParams{ExecutionID: id,
		Reason: "ops\x00" + strings.Repeat("é", 3000), Source: "console\xff\x00" + strings.Repeat("s", 1000)})
	require.NoError(t, err)
	require.Equal(t, ff.PublicCancelled, st)
	s := e.state(id, ff.PublicCancelled)
	requireStorable(t, "cancel_reason", s.CancelReason, ff.MaxReasonBytes)
	require.True(t, strings.HasPrefix(s.CancelReason, "ops\uFFFDé"), "%.20q", s.CancelReason)
	as := e.attempts(id)
	require.Len(t, as, 1)
	require.Equal(t, s.CancelReason, as[0].FailureReason)
	// The operator may not pose as the lease holder.
	other := e.createIn("ro")
	_, err = e.b.CancelExecution(e.ctx, backend.CancelExecutionParams{ExecutionID: other, Source: ff.CancelledByLeaseHolder})
	requireKind(t, err, ff.ErrInvalidInput)
	e.state(other, ff.PublicWaiting)
	err = e.b.Complete(e.ctx, backend.CompleteParams{Handle: task.Handle})
	requireKind(t, err, ff.ErrLeaseRevoked)
	require.Less(t, len(err.Error()), 200, "the error does not repeat the operator's texts")
}

func testRobustCreatePoisonKeys(t *testing.T, h Harness) {
	e := newEnv(t, h)
	ok := backend.CreateExecutionParams{Lane: "rk", Kind: "k"}
	cases := []struct {
		name  string
		mut   func(p *backend.CreateExecutionParams)
		kind  ff.ErrorKind
		field string
	}{
		{"NUL in namespace", func(p *backend.CreateExecutionParams) { p.Namespace = "a\x00b" }, ff.ErrInvalidInput, "namespace"},
		{"invalid UTF-8 namespace", func(p *backend.CreateExecutionParams) { p.Namespace = "\xff\xfe" }, ff.ErrInvalidInput, "namespace"},
		{"newline in namespace", func(p *backend.CreateExecutionParams) { p.Namespace = "a\nb" }, ff.ErrInvalidInput, "namespace"},
		{"U+2028 in namespace", func(p *backend.CreateExecutionParams) { p.Namespace = "a\u2028b" }, ff.ErrInvalidInput, "namespace"},
		{"NUL in idempotency key", func(p *backend.CreateExecutionParams) { p.IdempotencyKey = "k\x00" }, ff.ErrInvalidInput, "idempotency_key"},
		{"invalid UTF-8 idempotency key", func(p *backend.CreateExecutionParams) { p.IdempotencyKey = "k\xff" }, ff.ErrInvalidInput, "idempotency_key"},
		{"NUL in kind", func(p *backend.CreateExecutionParams) { p.Kind = "k\x00" }, ff.ErrInvalidInput, "kind"},
		{"U+0085 in kind", func(p *backend.CreateExecutionParams) { p.Kind = "a\u0085b" }, ff.ErrInvalidInput, "kind"},
		{"U+2029 in kind", func(p *backend.CreateExecutionParams) { p.Kind = "a\u2029b" }, ff.ErrInvalidInput, "kind"},
		{"newline in kind", func(p *backend.CreateExecutionParams) { p.Kind = "a\r\nb" }, ff.ErrInvalidInput, "kind"},
		{"invalid UTF-8 kind", func(p *backend.CreateExecutionParams) { p.Kind = "\xc3" }, ff.ErrInvalidInput, "kind"},
		{"NUL in lane", func(p *backend.CreateExecutionParams) { p.Lane = "l\x00" }, ff.ErrInvalidInput, "lane"},
		{"NUL in tag value", func(p *backend.CreateExecutionParams) { p.Tags = map[string]string{"app.k": "v\x00"} }, ff.ErrInvalidInput, "app.k"},
		{"invalid UTF-8 tag value", func(p *backend.CreateExecutionParams) { p.Tags = map[string]string{"app.k": "\xff"} }, ff.ErrInvalidInput, "app.k"},
		{"NUL in tag key", func(p *backend.CreateExecutionParams) { p.Tags = map[string]string{"app.k\x00": "v"} }, ff.ErrInvalidTagKey, "tag key"},
		{"invalid UTF-8 tag key", func(p *backend.CreateExecutionParams) { p.Tags = map[string]string{"app.\xff": "v"} }, ff.ErrInvalidTagKey, "tag key"},
		{"U+2028 in tag key", func(p *backend.CreateExecutionParams) { p.Tags = map[string]string{"app.a\u2028": "v"} }, ff.ErrInvalidTagKey, "tag key"},
		{"invalid UTF-8 capability", func(p *backend.CreateExecutionParams) { p.RequiredCapabilities = []string{"gpu\xff"} }, ff.ErrInvalidCapabilities, "UTF-8"},
		{"all-zero uuid execution id", func(p *backend.CreateExecutionParams) { p.ExecutionID = ff.ExecutionID{Partition: 3} }, ff.ErrInvalidInput, "execution_id"},
	}
	for _, c := range cases {
		p := ok
		c.mut(&p)
		res, err := e.b.CreateExecution(e.ctx, p)
		requireKind(t, err, c.kind, c.name)
		require.ErrorIs(t, err, ff.ClassValidation, c.name)
		require.Contains(t, err.Error(), c.field, c.name)
		require.True(t, res.ExecutionID.IsZero(), c.name)
		e.nothingWritten()
	}
	// Names and keys may hold any other printable text.
	id := e.create(backend.CreateExecutionParams{Lane: "rk", Kind: "façade.job 1", Namespace: "équipe b",
		IdempotencyKey: "clé\tavec tab", Tags: map[string]string{"app.note": "multi\nline"}})
	s := e.consistent(id)
	require.Equal(t, "équipe b", s.Namespace)
	require.Equal(t, "multi\nline", s.Tags["app.note"])
}

// An invalid UTF-8 key is refused, so it can never be folded onto a valid
// key that differs from it (as a decoder replacing bad bytes would).
func testRobustIdempotencyKeysDistinct(t *testing.T, h Harness) {
	e := newEnv(t, h)
	first := e.create(backend.CreateExecutionParams{Lane: "ri", IdempotencyKey: "order-\uFFFD"})
	for _, key := range []string{"order-\xff", "order-\xfe", "order-\xef\xbf"} {
		res, err := e.b.CreateExecution(e.ctx, backend.CreateExecutionParams{Lane: "ri", Kind: "k", IdempotencyKey: key})
		requireKind(t, err, ff.ErrInvalidInput, "key %q", key)
		require.False(t, res.Duplicate, "key %q matched %s", key, first)
	}
	require.Len(t, e.listAll(backend.ListExecutionsParams{}), 1)
}

func testRobustWorkerPoison(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.createIn("rw")
	bad := []struct {
		name string
		mut  func(p *backend.ClaimParams)
		kind ff.ErrorKind
	}{
		{"NUL worker id", func(p *backend.ClaimParams) { p.WorkerID = "w\x00" }, ff.ErrInvalidInput},
		{"invalid UTF-8 worker id", func(p *backend.ClaimParams) { p.WorkerID = "w\xff" }, ff.ErrInvalidInput},
		{"U+2028 in worker instance id", func(p *backend.ClaimParams) { p.WorkerInstanceID = "i\u2028" }, ff.ErrInvalidInput},
		{"NUL lane", func(p *backend.ClaimParams) { p.Lanes = []string{"rw\x00"} }, ff.ErrInvalidInput},
		{"invalid UTF-8 capability", func(p *backend.ClaimParams) { p.Capabilities = []string{"gpu\xff"} }, ff.ErrInvalidCapabilities},
	}
	for _, c := range bad {
		p := claimParams("w1", "rw")
		c.mut(&p)
		tasks, err := e.b.Claim(e.ctx, p)
		requireKind(t, err, c.kind, c.name)
		require.Empty(t, tasks, c.name)
	}
	e.claim("rw")
}

// A handle carrying an id no backend minted is invalid_handle for every
// lease-bound call, alone: it never fails the rest of a batch.
func testRobustPoisonHandle(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.createIn("rh")
	e.createIn("rh")
	good := e.claim("rh")
	other := e.claim("rh")
	poisons := map[string]func(l *ff.Lease){
		"NUL attempt id":         func(l *ff.Lease) { l.AttemptID += "\x00" },
		"invalid UTF-8 lease id": func(l *ff.Lease) { l.LeaseID = "\xff" + l.LeaseID },
		"NUL worker instance id": func(l *ff.Lease) { l.WorkerInstanceID = "\x00" },
		"invalid UTF-8 lane":     func(l *ff.Lease) { l.Lane = "rh\xff" },
		"all-zero execution id":  func(l *ff.Lease) { l.ExecutionID = ff.ExecutionID{} },
	}
	for name, mut := range poisons {
		bad := good.Handle
		mut(&bad.Lease)
		requireKind(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: bad}), ff.ErrInvalidHandle, name)
		_, err := e.b.Fail(e.ctx, backend.FailParams{Handle: bad, Reason: "x"})
		requireKind(t, err, ff.ErrInvalidHandle, name)
		_, err = e.b.Renew(e.ctx, backend.RenewParams{Handle: bad})
		requireKind(t, err, ff.ErrInvalidHandle, name)
		requireKind(t, e.b.Progress(e.ctx, backend.ProgressParams{Handle: bad, Percent: 1}), ff.ErrInvalidHandle, name)
		requireKind(t, e.b.Cancel(e.ctx, backend.CancelParams{Handle: bad}), ff.ErrInvalidHandle, name)
		requireKind(t, e.b.Delay(e.ctx, backend.DelayParams{Handle: bad}), ff.ErrInvalidHandle, name)
		rs := e.b.RenewMany(e.ctx, []backend.RenewParams{{Handle: bad}, {Handle: good.Handle}})
		requireKind(t, rs[0].Err, ff.ErrInvalidHandle, name)
		require.NoError(t, rs[1].Err, "%s: the good renewal in the same batch", name)
	}
	bad := good.Handle
	bad.Lease.AttemptID += "\x00"
	errs := e.b.CompleteMany(e.ctx, []backend.CompleteParams{{Handle: bad}, {Handle: other.Handle}})
	requireKind(t, errs[0], ff.ErrInvalidHandle)
	require.NoError(t, errs[1], "the good completion in the same batch")
	e.state(other.ExecutionID, ff.PublicCompleted)
	e.state(good.ExecutionID, ff.PublicActive)
	require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: good.Handle}))
}

func testRobustLaneCursor(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.createIn("rl")
	for _, c := range []string{"a\x00", "\xff", strings.Repeat("l", ff.MaxLaneBytes+1)} {
		_, err := e.b.ListLanes(e.ctx, backend.ListLanesParams{Cursor: c})
		requireKind(t, err, ff.ErrInvalidInput, "cursor %q", c)
		require.Contains(t, err.Error(), "cursor")
	}
	page, err := e.b.ListLanes(e.ctx, backend.ListLanesParams{Cursor: "rk"})
	require.NoError(t, err)
	require.Len(t, page.Lanes, 1)
}
