package backendtest

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// Output streams (issue 14): frames appended under the lease with
// monotone ids, a close derived from the attempt's end, a summary patched
// with JSON Merge Patch, wake-ups, caps and retention.

// StreamLimits are the stream caps every harness must open its store
// with, so that the caps can be reached in a test.
func StreamLimits() ff.StreamLimits {
	return ff.StreamLimits{MaxFrameBytes: 1024, MaxFramesPerAttempt: 40, MaxSummaryBytes: 2048}
}

func init() {
	register("Streams/AppendReadMonotoneBinarySafe", testStreamAppendRead)
	register("Streams/ConcurrentAppendsGetDistinctIDs", testStreamConcurrentAppends)
	register("Streams/FencedAndRefusedAfterEnd", testStreamFenced)
	register("Streams/CloseDerivedFromEveryEnd", testStreamCloseReasons)
	register("Streams/DelayKeepsStreamOpen", testStreamDelayKeepsOpen)
	register("Streams/SuspendKeepsStreamOpen", testStreamSuspendKeepsOpen)
	register("Streams/BadInput", testStreamBadInput)
	register("Streams/Caps", testStreamCaps)
	register("Streams/SummaryMergePatch", testStreamSummary)
	register("Streams/AppendWakesSubscriber", testStreamWakeup)
	register("Streams/RetentionSweep", testStreamRetention)
}

func (e *env) appendFrames(h ff.Handle, frames ...ff.FrameInput) backend.AppendFramesResult {
	e.t.Helper()
	res, err := e.b.AppendFrames(e.ctx, backend.AppendFramesParams{Handle: h, Frames: frames})
	require.NoError(e.t, err)
	return res
}

func (e *env) readStream(id ff.ExecutionID, attempt uint32, after uint64, limit int) backend.StreamPage {
	e.t.Helper()
	page, err := e.b.ReadStream(e.ctx, backend.ReadStreamParams{StreamRef: backend.StreamRef{ExecutionID: id, Attempt: attempt}, After: after, Limit: limit})
	require.NoError(e.t, err)
	return page
}

func jsonFrame(payload string) ff.FrameInput {
	return ff.FrameInput{Type: "token", Payload: []byte(payload), Durable: true}
}

func frameIDs(page backend.StreamPage) []uint64 {
	ids := make([]uint64, len(page.Frames))
	for i, f := range page.Frames {
		ids[i] = f.ID
	}
	return ids
}

func testStreamAppendRead(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.createIn("streams")
	task := e.claim("streams")
	bin := []byte{0, 0xff, 0xfe, '\n', 0x80}
	res := e.appendFrames(task.Handle,
		jsonFrame(`{"text":"héllo"}`),
		ff.FrameInput{Type: "blob", Payload: bin, Binary: true, Durable: true},
		ff.FrameInput{Type: "log", CorrelationID: "req-7", Payload: []byte(`[1, 2.50, "x"]`)},
	)
	require.Equal(t, uint64(3), res.LastFrameID)
	require.Equal(t, int64(3), res.FrameCount)
	res = e.appendFrames(task.Handle, jsonFrame(`4`), ff.FrameInput{})
	require.Equal(t, uint64(5), res.LastFrameID, "ids continue across batches")

	page := e.readStream(id, 0, 0, 0)
	require.Equal(t, []uint64{1, 2, 3, 4, 5}, frameIDs(page))
	require.Equal(t, uint64(5), page.LastFrameID)
	require.False(t, page.Closed, "the attempt is running")
	f := page.Frames
	require.Equal(t, `{"text":"héllo"}`, string(f[0].Payload))
	require.True(t, f[0].Durable)
	require.Equal(t, bin, f[1].Payload, "binary payloads are stored byte for byte")
	require.True(t, f[1].Binary)
	require.Equal(t, "req-7", f[2].CorrelationID)
	require.Equal(t, `[1, 2.50, "x"]`, string(f[2].Payload))
	require.False(t, f[2].Durable)
	require.Equal(t, "data", f[4].Type, "a frame without a type is data")
	require.Equal(t, "null", string(f[4].Payload))
	require.Equal(t, e.now(), f[0].AtMs)

	page = e.readStream(id, 0, 2, 2)
	require.Equal(t, []uint64{3, 4}, frameIDs(page))
	page = e.readStream(id, 0, 5, 10)
	require.Empty(t, page.Frames)
}

func testStreamConcurrentAppends(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.createIn("streams")
	task := e.claim("streams")
	const writers, each = 4, 5
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				_, err := e.b.AppendFrames(e.ctx, backend.AppendFramesParams{Handle: task.Handle,
					Frames: []ff.FrameInput{jsonFrame(fmt.Sprintf(`"%d-%d"`, w, i))}})
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	page := e.readStream(id, 0, 0, 100)
	require.Len(t, page.Frames, writers*each)
	for i, f := range page.Frames {
		require.Equal(t, uint64(i+1), f.ID, "ids are 1..n without gaps or duplicates")
	}
}

func testStreamFenced(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.create(backend.CreateExecutionParams{Lane: "streams", Policy: retryPolicy(0, 0)})
	task := e.claim("streams")
	e.appendFrames(task.Handle, jsonFrame(`1`))

	forged := task.Handle
	forged.Lease.LeaseID = "not-the-lease"
	_, err := e.b.AppendFrames(e.ctx, backend.AppendFramesParams{Handle: forged, Frames: []ff.FrameInput{jsonFrame(`2`)}})
	requireKind(t, err, ff.ErrStaleLease)
	_, err = e.b.PatchSummary(e.ctx, backend.PatchSummaryParams{Handle: forged, Patch: []byte(`{"a":1}`)})
	requireKind(t, err, ff.ErrStaleLease)

	other := task.Handle
	other.Backend = otherBackend(task.Handle.Backend)
	_, err = e.b.AppendFrames(e.ctx, backend.AppendFramesParams{Handle: other, Frames: []ff.FrameInput{jsonFrame(`2`)}})
	requireKind(t, err, ff.ErrHandleFromOtherBackend)

	require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: task.Handle}))
	_, err = e.b.AppendFrames(e.ctx, backend.AppendFramesParams{Handle: task.Handle, Frames: []ff.FrameInput{jsonFrame(`2`)}})
	require.Error(t, err)
	require.Contains(t, []ff.ErrorClass{ff.ClassContention, ff.ClassState}, ff.ClassOf(err), "an append after the end is a 409: %v", err)
	_, err = e.b.PatchSummary(e.ctx, backend.PatchSummaryParams{Handle: task.Handle, Patch: []byte(`{"a":1}`)})
	require.Contains(t, []ff.ErrorClass{ff.ClassContention, ff.ClassState}, ff.ClassOf(err))
	page := e.readStream(id, 0, 0, 0)
	require.Equal(t, []uint64{1}, frameIDs(page), "refused appends wrote nothing")

	// An expired lease: the stale handle is refused and the expiry recorded.
	id2 := e.createIn("streams2")
	t2 := e.claim("streams2")
	e.advance(defaultTTL)
	_, err = e.b.AppendFrames(e.ctx, backend.AppendFramesParams{Handle: t2.Handle, Frames: []ff.FrameInput{jsonFrame(`1`)}})
	requireKind(t, err, ff.ErrLeaseExpired)
	e.consistent(id2)
}

func testStreamCloseReasons(t *testing.T, h Harness) {
	e := newEnv(t, h)
	// Success: the attempt never streamed, yet its stream reads closed.
	ok := e.createIn("close")
	task := e.claim("close")
	e.advance(5)
	require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: task.Handle, Result: []byte(`1`)}))
	page := e.readStream(ok, 0, 0, 0)
	require.True(t, page.Closed)
	require.Equal(t, ff.CloseSuccess, page.ClosedReason)
	require.Equal(t, e.now(), page.ClosedAtMs)
	require.Empty(t, page.Frames)

	// Failure with a retry: attempt 0 closes, attempt 1 is open.
	retried := e.create(backend.CreateExecutionParams{Lane: "close", Policy: retryPolicy(1, 0)})
	t0 := e.claim("close")
	e.appendFrames(t0.Handle, jsonFrame(`"a"`), jsonFrame(`"b"`))
	_, err := e.b.Fail(e.ctx, backend.FailParams{Handle: t0.Handle, Reason: "boom"})
	require.NoError(t, err)
	page = e.readStream(retried, 0, 0, 1)
	require.False(t, page.Closed, "a page that stops before the end does not report the close")
	page = e.readStream(retried, 0, 1, 10)
	require.True(t, page.Closed)
	require.Equal(t, ff.CloseFailure, page.ClosedReason)
	e.promote()
	t1 := e.claim("close")
	require.Equal(t, uint32(1), t1.AttemptIndex)
	require.Equal(t, uint64(1), e.appendFrames(t1.Handle, jsonFrame(`"c"`)).LastFrameID, "each attempt has its own ids")
	require.False(t, e.readStream(retried, 1, 0, 0).Closed)
	require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: t1.Handle}))

	// Cancel by the holder.
	cancelled := e.createIn("close")
	tc := e.claim("close")
	require.NoError(t, e.b.Cancel(e.ctx, backend.CancelParams{Handle: tc.Handle, Reason: "stop"}))
	page = e.readStream(cancelled, 0, 0, 0)
	require.Equal(t, ff.CloseCancelled, page.ClosedReason)

	// Operator cancel of a running attempt.
	opc := e.createIn("close")
	e.claim("close")
	_, err = e.b.CancelExecution(e.ctx, backend.CancelExecutionParams{ExecutionID: opc, Reason: "ops"})
	require.NoError(t, err)
	require.True(t, e.readStream(opc, 0, 0, 0).Closed)

	// A lost lease interrupts the attempt.
	lost := e.createIn("close")
	tl := e.claim("close")
	e.appendFrames(tl.Handle, jsonFrame(`1`))
	e.expireLease(tl)
	page = e.readStream(lost, 0, 0, 0)
	require.True(t, page.Closed)
	require.Equal(t, ff.CloseInterrupted, page.ClosedReason)
	require.Equal(t, []uint64{1}, frameIDs(page))
}

func testStreamDelayKeepsOpen(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.createIn("delay")
	task := e.claim("delay")
	e.appendFrames(task.Handle, jsonFrame(`1`))
	require.NoError(t, e.b.Delay(e.ctx, backend.DelayParams{Handle: task.Handle, Until: time.UnixMilli(e.now() + 10)}))
	require.False(t, e.readStream(id, 0, 0, 0).Closed, "a delayed attempt resumes: its stream stays open")
	e.advance(10)
	e.promote()
	again := e.claim("delay")
	require.Equal(t, uint32(0), again.AttemptIndex)
	require.Equal(t, uint64(2), e.appendFrames(again.Handle, jsonFrame(`2`)).LastFrameID)
}

// A suspended attempt resumes (the same attempt): its stream stays open
// and its ids continue; the old handle can no longer append.
func testStreamSuspendKeepsOpen(t *testing.T, h Harness) {
	e := wpEnv(t, h)
	id := e.createIn("susp")
	task := e.claim("susp")
	e.appendFrames(task.Handle, jsonFrame(`1`))
	e.suspend(task, ff.SuspendRequest{})
	require.False(t, e.readStream(id, 0, 0, 0).Closed, "a suspended attempt resumes: its stream stays open")
	_, err := e.b.AppendFrames(e.ctx, backend.AppendFramesParams{Handle: task.Handle, Frames: []ff.FrameInput{jsonFrame(`2`)}})
	require.Error(t, err, "the suspended handle no longer appends")
	_, err = e.b.ResumeExecution(e.ctx, backend.ResumeExecutionParams{ExecutionID: id})
	require.NoError(t, err)
	again := e.claim("susp")
	require.Equal(t, uint32(0), again.AttemptIndex)
	require.Equal(t, uint64(2), e.appendFrames(again.Handle, jsonFrame(`2`)).LastFrameID)
	require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: again.Handle}))
	page := e.readStream(id, 0, 0, 0)
	require.True(t, page.Closed)
	require.Equal(t, ff.CloseSuccess, page.ClosedReason)
}

func testStreamBadInput(t *testing.T, h Harness) {
	e := newEnv(t, h)
	ref := func(id ff.ExecutionID, n uint32) backend.StreamRef {
		return backend.StreamRef{ExecutionID: id, Attempt: n}
	}
	_, err := e.b.ReadStream(e.ctx, backend.ReadStreamParams{StreamRef: ref(randomID(), 0)})
	requireKind(t, err, ff.ErrNotFound)
	require.Equal(t, "execution", mustErr(t, err).Entity)
	_, err = e.b.ReadSummary(e.ctx, backend.ReadSummaryParams{ExecutionID: randomID()})
	requireKind(t, err, ff.ErrNotFound)

	id := e.createIn("bad")
	_, err = e.b.ReadStream(e.ctx, backend.ReadStreamParams{StreamRef: ref(id, 0)})
	requireKind(t, err, ff.ErrNotFound)
	require.Equal(t, "attempt", mustErr(t, err).Entity, "an attempt not started yet")
	_, err = e.b.ReadSummary(e.ctx, backend.ReadSummaryParams{ExecutionID: id})
	require.Equal(t, "attempt", mustErr(t, err).Entity)

	task := e.claim("bad")
	e.appendFrames(task.Handle, jsonFrame(`1`), jsonFrame(`2`))
	_, err = e.b.ReadStream(e.ctx, backend.ReadStreamParams{StreamRef: ref(id, 1)})
	require.Equal(t, "attempt", mustErr(t, err).Entity)
	_, err = e.b.ReadStream(e.ctx, backend.ReadStreamParams{StreamRef: ref(id, 0), After: 3})
	requireKind(t, err, ff.ErrInvalidInput, "after past the last frame is not a frame id")
	for _, limit := range []int{-1, backend.MaxStreamReadLimit + 1} {
		_, err = e.b.ReadStream(e.ctx, backend.ReadStreamParams{StreamRef: ref(id, 0), Limit: limit})
		requireKind(t, err, ff.ErrInvalidInput)
	}
	for _, frames := range [][]ff.FrameInput{
		nil,
		{{Payload: []byte(`{"unterminated"`)}},
		{{Payload: []byte("\xff\xfe")}},
		{{Type: "bad\x00type"}},
		{{CorrelationID: "bad\x00"}},
		make([]ff.FrameInput, ff.MaxFramesPerAppend+1),
	} {
		_, err = e.b.AppendFrames(e.ctx, backend.AppendFramesParams{Handle: task.Handle, Frames: frames})
		require.ErrorIs(t, err, ff.ClassValidation)
	}
	for _, patch := range []string{`[1]`, `"x"`, `null`, `{`, ``} {
		_, err = e.b.PatchSummary(e.ctx, backend.PatchSummaryParams{Handle: task.Handle, Patch: []byte(patch)})
		requireKind(t, err, ff.ErrInvalidInput, "patch %q", patch)
	}
	require.Equal(t, uint64(2), e.readStream(id, 0, 0, 0).LastFrameID, "refused appends wrote nothing")
}

func mustErr(t *testing.T, err error) *ff.Error {
	t.Helper()
	fe, ok := ff.AsError(err)
	require.True(t, ok, "want *flowfabric.Error, got %v", err)
	return fe
}

func testStreamCaps(t *testing.T, h Harness) {
	e := newEnv(t, h)
	l := StreamLimits()
	id := e.createIn("caps")
	task := e.claim("caps")
	_, err := e.b.AppendFrames(e.ctx, backend.AppendFramesParams{Handle: task.Handle,
		Frames: []ff.FrameInput{{Payload: make([]byte, l.MaxFrameBytes+1), Binary: true}}})
	requireKind(t, err, ff.ErrPayloadTooLarge)
	e.appendFrames(task.Handle, ff.FrameInput{Payload: make([]byte, l.MaxFrameBytes), Binary: true})

	batch := make([]ff.FrameInput, l.MaxFramesPerAttempt-1)
	e.appendFrames(task.Handle, batch...)
	_, err = e.b.AppendFrames(e.ctx, backend.AppendFramesParams{Handle: task.Handle, Frames: []ff.FrameInput{{}}})
	requireKind(t, err, ff.ErrStreamLimit)
	page := e.readStream(id, 0, 0, 1000)
	require.Len(t, page.Frames, int(l.MaxFramesPerAttempt))

	big := fmt.Sprintf(`{"k":%q}`, make([]byte, l.MaxSummaryBytes))
	_, err = e.b.PatchSummary(e.ctx, backend.PatchSummaryParams{Handle: task.Handle, Patch: []byte(big)})
	requireKind(t, err, ff.ErrPayloadTooLarge)
	chunk := strings.Repeat("x", l.MaxSummaryBytes*3/5)
	_, err = e.b.PatchSummary(e.ctx, backend.PatchSummaryParams{Handle: task.Handle, Patch: []byte(`{"a":"` + chunk + `"}`)})
	require.NoError(t, err)
	_, err = e.b.PatchSummary(e.ctx, backend.PatchSummaryParams{Handle: task.Handle, Patch: []byte(`{"b":"` + chunk + `"}`)})
	requireKind(t, err, ff.ErrPayloadTooLarge, "each patch fits, the merged document does not")
	s, err := e.b.ReadSummary(e.ctx, backend.ReadSummaryParams{ExecutionID: id})
	require.NoError(t, err)
	require.Equal(t, int64(1), s.Version, "the refused patch changed nothing")
}

func testStreamSummary(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.create(backend.CreateExecutionParams{Lane: "sum", Policy: retryPolicy(1, 0)})
	task := e.claim("sum")
	s, err := e.b.ReadSummary(e.ctx, backend.ReadSummaryParams{ExecutionID: id})
	require.NoError(t, err)
	require.Nil(t, s.Document, "no summary before the first patch")
	require.Zero(t, s.Version)

	s, err = e.b.PatchSummary(e.ctx, backend.PatchSummaryParams{Handle: task.Handle, Patch: []byte(`{"tokens":10,"model":{"name":"m","t":0.5},"drop":true}`)})
	require.NoError(t, err)
	require.Equal(t, int64(1), s.Version)
	e.advance(3)
	s, err = e.b.PatchSummary(e.ctx, backend.PatchSummaryParams{Handle: task.Handle, Patch: []byte(`{"tokens":25,"model":{"t":null},"drop":null}`)})
	require.NoError(t, err)
	require.Equal(t, int64(2), s.Version)
	want := `{"tokens":25,"model":{"name":"m"}}`
	require.JSONEq(t, want, string(s.Document))

	got, err := e.b.ReadSummary(e.ctx, backend.ReadSummaryParams{ExecutionID: id})
	require.NoError(t, err)
	require.JSONEq(t, want, string(got.Document))
	require.Equal(t, int64(2), got.Version)
	require.Equal(t, e.now(), got.UpdatedAtMs)
	require.Equal(t, uint32(0), got.AttemptIndex)
	require.Empty(t, e.readStream(id, 0, 0, 0).Frames, "a summary patch appends no frame")

	// A new attempt starts with no summary; the old one stays readable.
	_, err = e.b.Fail(e.ctx, backend.FailParams{Handle: task.Handle, Reason: "x"})
	require.NoError(t, err)
	e.promote()
	e.claim("sum")
	got, err = e.b.ReadSummary(e.ctx, backend.ReadSummaryParams{ExecutionID: id})
	require.NoError(t, err)
	require.Equal(t, uint32(1), got.AttemptIndex)
	require.Nil(t, got.Document)
	got, err = e.b.ReadSummary(e.ctx, backend.ReadSummaryParams{ExecutionID: id, Attempt: ptr(uint32(0))})
	require.NoError(t, err)
	require.JSONEq(t, want, string(got.Document))
	var doc map[string]any
	require.NoError(t, json.Unmarshal(got.Document, &doc))
}

func testStreamWakeup(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.createIn("wake")
	task := e.claim("wake")
	ch, stop := e.b.SubscribeStream(e.ctx, backend.StreamRef{ExecutionID: id, Attempt: 0})
	defer stop()
	other, stopOther := e.b.SubscribeStream(e.ctx, backend.StreamRef{ExecutionID: id, Attempt: 1})
	defer stopOther()
	e.appendFrames(task.Handle, jsonFrame(`1`))
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("an append did not wake the stream's subscriber")
	}
	select {
	case <-other:
		t.Fatal("an append woke another attempt's subscriber")
	default:
	}
	stop()
	_, open := <-ch
	require.False(t, open, "ending the subscription closes its channel")
}

func testStreamRetention(t *testing.T, h Harness) {
	e := newEnv(t, h)
	ended := e.createIn("ret")
	t1 := e.claim("ret")
	e.appendFrames(t1.Handle, jsonFrame(`1`), jsonFrame(`2`))
	_, err := e.b.PatchSummary(e.ctx, backend.PatchSummaryParams{Handle: t1.Handle, Patch: []byte(`{"done":true}`)})
	require.NoError(t, err)
	require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: t1.Handle}))
	running := e.createIn("ret")
	long := claimParams("w1", "ret")
	long.LeaseTTL = time.Hour
	t3 := e.claimWith(long)
	require.Equal(t, running, t3.ExecutionID)
	e.appendFrames(t3.Handle, jsonFrame(`1`))

	sweep := func() int {
		n, err := e.b.SweepStreams(e.ctx, backend.SweepStreamsParams{Retention: time.Minute, Limit: 10})
		require.NoError(t, err)
		return n
	}
	require.Zero(t, sweep(), "nothing ended a minute ago")
	e.advance(time.Minute.Milliseconds() + 1)
	require.Equal(t, 1, sweep(), "the ended attempt's frames go; the running one's stay")
	require.Zero(t, sweep(), "a repeated sweep finds nothing")
	page := e.readStream(ended, 0, 0, 0)
	require.Empty(t, page.Frames)
	require.True(t, page.Closed)
	require.Equal(t, uint64(2), page.LastFrameID, "ids are never given again")
	require.Len(t, e.readStream(running, 0, 0, 0).Frames, 1)
	s, err := e.b.ReadSummary(e.ctx, backend.ReadSummaryParams{ExecutionID: ended})
	require.NoError(t, err)
	require.JSONEq(t, `{"done":true}`, string(s.Document), "summaries outlive the frames")
	_, err = e.b.SweepStreams(e.ctx, backend.SweepStreamsParams{Retention: -time.Second})
	requireKind(t, err, ff.ErrInvalidInput)
}
