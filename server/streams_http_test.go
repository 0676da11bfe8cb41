package server_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/backend/instrument"
	"github.com/flowfabric-go/flowfabric/client"
	"github.com/flowfabric-go/flowfabric/server"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

func (e *env) appendFrames(handle string, frames ...map[string]any) reply {
	e.t.Helper()
	return e.post("/v1/tasks/frames", map[string]any{"handle": handle, "frames": frames})
}

func (e *env) streamPage(path string) wire.StreamPage {
	e.t.Helper()
	r := e.get(path)
	require.Equal(e.t, http.StatusOK, r.status, "%s: %s", path, r.body)
	var page wire.StreamPage
	r.json(e.t, &page)
	return page
}

func TestStreamRoutes(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		e := newEnv(t, open, server.Config{}, nil)
		id := e.create(map[string]any{"lane": "s"})
		task := e.claimOne("s")
		bin := []byte{0, 0xff, 'x'}
		r := e.appendFrames(task.Handle,
			map[string]any{"type": "token", "payload": map[string]any{"t": "hi"}},
			map[string]any{"type": "blob", "payload_base64": base64.StdEncoding.EncodeToString(bin), "durable": false, "correlation_id": "c1"})
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		var res wire.AppendFramesResponse
		r.json(t, &res)
		require.Equal(t, uint64(2), res.LastFrameID)

		page := e.streamPage(execPath(id, "/attempts/0/stream"))
		require.Len(t, page.Frames, 2)
		require.JSONEq(t, `{"t":"hi"}`, string(page.Frames[0].Payload))
		require.True(t, page.Frames[0].Durable)
		require.Equal(t, bin, page.Frames[1].PayloadBase64)
		require.Equal(t, "c1", page.Frames[1].CorrelationID)
		require.Nil(t, page.ClosedAtMs)
		require.Nil(t, page.ClosedReason)
		page = e.streamPage(execPath(id, "/attempts/0/stream?after=1&limit=5"))
		require.Len(t, page.Frames, 1)
		require.Equal(t, uint64(2), page.Frames[0].ID)

		r = e.post("/v1/tasks/summary", map[string]any{"handle": task.Handle, "patch": map[string]any{"a": 1, "b": map[string]any{"c": 2}}})
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		r = e.post("/v1/tasks/summary", map[string]any{"handle": task.Handle, "patch": map[string]any{"b": nil}})
		var ps wire.PatchSummaryResponse
		r.json(t, &ps)
		require.JSONEq(t, `{"a":1}`, string(ps.Summary))
		require.Equal(t, int64(2), ps.Version)
		var sum wire.AttemptSummary
		e.get(execPath(id, "/summary")).json(t, &sum)
		require.JSONEq(t, `{"a":1}`, string(sum.Summary))
		require.Equal(t, uint32(0), sum.AttemptIndex)

		require.Equal(t, http.StatusNoContent, e.post("/v1/tasks/complete", map[string]any{"handle": task.Handle}).status)
		page = e.streamPage(execPath(id, "/attempts/0/stream"))
		require.NotNil(t, page.ClosedAtMs)
		require.Equal(t, ff.CloseSuccess, *page.ClosedReason)
		r = e.appendFrames(task.Handle, map[string]any{"payload": 1})
		require.Equal(t, http.StatusConflict, r.status, "append after the attempt ended: %s", r.body)
	})
}

func TestStreamRoutesRefuseBadInput(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		e := newEnv(t, open, server.Config{}, nil)
		id := e.create(map[string]any{"lane": "bad"})
		task := e.claimOne("bad")
		require.Equal(t, http.StatusOK, e.appendFrames(task.Handle, map[string]any{"payload": 1}).status)
		ghost := "{fp:1}:00000000-0000-4000-8000-000000000001"
		for path, want := range map[string]int{
			execPath(ghost, "/attempts/0/stream"):              http.StatusNotFound,
			execPath(id, "/attempts/1/stream"):                 http.StatusNotFound,
			execPath(id, "/attempts/x/stream"):                 http.StatusBadRequest,
			execPath(id, "/attempts/0/stream?after=abc"):       http.StatusBadRequest,
			execPath(id, "/attempts/0/stream?after=-1"):        http.StatusBadRequest,
			execPath(id, "/attempts/0/stream?after=2"):         http.StatusBadRequest,
			execPath(id, "/attempts/0/stream?wait_ms=30001"):   http.StatusBadRequest,
			execPath(id, "/attempts/0/stream?wait_ms=-1"):      http.StatusBadRequest,
			execPath(id, "/attempts/0/stream?limit=0"):         http.StatusBadRequest,
			execPath(id, "/attempts/0/stream?limit=1001"):      http.StatusBadRequest,
			execPath(ghost, "/summary"):                        http.StatusNotFound,
			execPath(id, "/summary?attempt=3"):                 http.StatusNotFound,
			execPath(id, "/summary?attempt=-3"):                http.StatusBadRequest,
			execPath(id, "/attempts/0/stream?wait_ms=30000"):   http.StatusOK, // a frame is there: no wait
			execPath(id, "/attempts/0/stream?after=1&limit=1"): http.StatusOK,
		} {
			r := e.get(path)
			require.Equal(t, want, r.status, "%s: %s", path, r.body)
			if want != http.StatusOK {
				r.apiError(t)
			}
		}
		h := task.Handle
		r := e.appendFrames(h, map[string]any{"payload_base64": base64.StdEncoding.EncodeToString(make([]byte, 64<<10+1))})
		require.Equal(t, http.StatusRequestEntityTooLarge, r.status, "%s", r.body)
		require.Equal(t, ff.ErrPayloadTooLarge, r.apiError(t).Kind)
		r = e.appendFrames(h, map[string]any{"payload": 1, "payload_base64": "AA=="})
		require.Equal(t, http.StatusBadRequest, r.status)
		r = e.appendFrames(h, map[string]any{"payload": 1, "colour": "red"})
		require.Equal(t, http.StatusBadRequest, r.status, "unknown fields are refused")
		r = e.post("/v1/tasks/frames", map[string]any{"handle": h, "frames": []any{}})
		require.Equal(t, http.StatusBadRequest, r.status)
		r = e.post("/v1/tasks/summary", map[string]any{"handle": h, "patch": []int{1}})
		require.Equal(t, http.StatusBadRequest, r.status)
		require.Equal(t, uint64(1), e.streamPage(execPath(id, "/attempts/0/stream")).LastFrameID, "nothing was appended")
	})
}

// A long-poll that waits is woken by the append itself.
func TestStreamLongPollWokenByAppend(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		e := newEnv(t, open, server.Config{}, func(b backend.Backend, reg *prometheus.Registry) backend.Backend {
			return instrument.Wrap(b, reg)
		})
		id := e.create(map[string]any{"lane": "lp"})
		task := e.claimOne("lp")
		got := make(chan reply, 1)
		go func() { got <- e.do(http.MethodGet, execPath(id, "/attempts/0/stream?wait_ms=20000"), nil) }()
		require.Eventually(t, func() bool { return e.scrape()["ff_stream_followers"] == 1 }, 10*time.Second, 5*time.Millisecond)
		start := time.Now()
		require.Equal(t, http.StatusOK, e.appendFrames(task.Handle, map[string]any{"payload": "x"}).status)
		r := <-got
		require.Less(t, time.Since(start), 5*time.Second, "the append wakes the poll long before its wait ends")
		var page wire.StreamPage
		r.json(t, &page)
		require.Len(t, page.Frames, 1)
		require.Equal(t, `"x"`, string(page.Frames[0].Payload))
		require.Eventually(t, func() bool { return e.scrape()["ff_stream_followers"] == 0 }, 10*time.Second, 5*time.Millisecond)
		require.Equal(t, http.StatusOK, e.appendFrames(task.Handle, map[string]any{"payload": 2, "durable": false}).status)
		m := e.scrape()
		require.Equal(t, 1.0, m[`ff_stream_frames_appended_total{tier="durable"}`])
		require.Equal(t, 1.0, m[`ff_stream_frames_appended_total{tier="best_effort"}`])
	})
}

func TestStreamSSEDisconnectResumeAndClose(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		e := newEnv(t, open, server.Config{}, nil)
		id := e.create(map[string]any{"lane": "sse"})
		task := e.claimOne("sse")
		h := task.Handle
		path := execPath(id, "/attempts/0/stream")
		appendN := func(from, to int) {
			for i := from; i <= to; i++ {
				require.Equal(t, http.StatusOK, e.appendFrames(h, map[string]any{"type": "n", "payload": i}).status)
			}
		}
		appendN(1, 2)
		ctx, disconnect := context.WithCancel(t.Context())
		c := e.openSSE(ctx, path, "")
		for i := 1; i <= 2; i++ {
			ev := next(t, c)
			require.Equal(t, "frame", ev.event)
			require.Equal(t, strconv.Itoa(i), ev.id)
		}
		appendN(3, 3) // delivered live, through the feed
		ev := next(t, c)
		require.Equal(t, "3", ev.id)
		require.JSONEq(t, fmt.Sprintf(`{"id":3,"type":"n","payload":3,"durable":true,"at_ms":%d}`, e.store.clock.Now().UnixMilli()), ev.data)
		disconnect()

		appendN(4, 6)
		c = e.openSSE(t.Context(), path, "3")
		for i := 4; i <= 6; i++ {
			require.Equal(t, strconv.Itoa(i), next(t, c).id, "resumes after Last-Event-ID")
		}
		require.Equal(t, http.StatusNoContent, e.post("/v1/tasks/complete", map[string]any{"handle": h}).status)
		ev = next(t, c)
		require.Equal(t, "closed", ev.event)
		var closed wire.StreamClosed
		require.NoError(t, jsonUnmarshal(ev.data, &closed))
		require.Equal(t, uint64(6), closed.LastFrameID)
		require.Equal(t, ff.CloseSuccess, closed.ClosedReason)
		streamEnds(t, c, "the server ends the stream after closed")

		// A follower arriving after the end gets every frame, then closed.
		c = e.openSSE(t.Context(), path+"?after=5", "")
		require.Equal(t, "6", next(t, c).id)
		require.Equal(t, "closed", next(t, c).event)
	})
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

// The Go client: append, patch, read, and a follower that sees every
// frame once and then the close.
func TestStreamClientRoundTripAndFollow(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		e := newEnv(t, open, server.Config{}, nil)
		c := e.client()
		ctx := t.Context()
		res, err := c.CreateExecution(ctx, backend.CreateExecutionParams{Kind: "k", Lane: "cl"})
		require.NoError(t, err)
		tasks, err := c.Claim(ctx, backend.ClaimParams{WorkerID: "w", Lanes: []string{"cl"}, Max: 1})
		require.NoError(t, err)
		require.Len(t, tasks, 1)
		h := tasks[0].Handle
		ref := backend.StreamRef{ExecutionID: res.ExecutionID}

		type followed struct {
			events []client.StreamEvent
			err    error
		}
		done := make(chan followed, 1)
		go func() {
			var f followed
			for ev, err := range c.FollowStream(ctx, ref, 0) {
				if err != nil {
					f.err = err
					break
				}
				f.events = append(f.events, ev)
			}
			done <- f
		}()
		bin := []byte{1, 2, 0xff}
		for i := range 3 {
			_, err := c.AppendFrames(ctx, backend.AppendFramesParams{Handle: h, Frames: []ff.FrameInput{
				{Type: "t", Payload: []byte(strconv.Itoa(i)), Durable: true}, {Payload: bin, Binary: true}}})
			require.NoError(t, err)
		}
		sum, err := c.PatchSummary(ctx, backend.PatchSummaryParams{Handle: h, Patch: []byte(`{"n":3}`)})
		require.NoError(t, err)
		require.Equal(t, int64(1), sum.Version)
		got, err := c.ReadSummary(ctx, backend.ReadSummaryParams{ExecutionID: res.ExecutionID})
		require.NoError(t, err)
		require.JSONEq(t, `{"n":3}`, string(got.Document))
		page, err := c.ReadStream(ctx, backend.ReadStreamParams{StreamRef: ref, After: 4})
		require.NoError(t, err)
		require.Len(t, page.Frames, 2)
		require.Equal(t, bin, page.Frames[1].Payload)
		require.True(t, page.Frames[1].Binary)
		require.NoError(t, c.Complete(ctx, backend.CompleteParams{Handle: h}))

		f := <-done
		require.NoError(t, f.err)
		require.Len(t, f.events, 7, "six frames, then the close")
		for i, ev := range f.events[:6] {
			require.Equal(t, uint64(i+1), ev.Frame.ID)
		}
		require.True(t, f.events[6].Closed)
		require.Equal(t, ff.CloseSuccess, f.events[6].ClosedReason)

		_, err = c.ReadStream(ctx, backend.ReadStreamParams{StreamRef: backend.StreamRef{ExecutionID: res.ExecutionID, Attempt: 9}})
		require.ErrorIs(t, err, ff.ErrNotFound)
	})
}

// countingReads counts the stream reads that reach the store.
type countingReads struct {
	backend.Backend
	reads atomic.Int64
}

func (c *countingReads) ReadStream(ctx context.Context, p backend.ReadStreamParams) (backend.StreamPage, error) {
	c.reads.Add(1)
	return c.Backend.ReadStream(ctx, p)
}

// Many SSE followers of one stream share its reads: an append costs one
// read of the store, not one per follower.
func TestStreamFollowersShareOneReadPerAppend(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		var counter *countingReads
		e := newEnv(t, open, server.Config{}, func(b backend.Backend, _ *prometheus.Registry) backend.Backend {
			counter = &countingReads{Backend: b}
			return counter
		})
		id := e.create(map[string]any{"lane": "fan"})
		task := e.claimOne("fan")
		path := execPath(id, "/attempts/0/stream")
		const followers, appends = 20, 5
		conns := make([]<-chan sseEvent, followers)
		for i := range conns {
			conns[i] = e.openSSE(t.Context(), path, "")
		}
		require.Eventually(t, func() bool { return e.scrape()["ff_stream_followers"] == followers }, 10*time.Second, 5*time.Millisecond)
		before := counter.reads.Load()
		start := time.Now()
		for i := 1; i <= appends; i++ {
			require.Equal(t, http.StatusOK, e.appendFrames(task.Handle, map[string]any{"payload": i}).status)
			for _, c := range conns {
				require.Equal(t, strconv.Itoa(i), next(t, c).id)
			}
		}
		reads := counter.reads.Load() - before
		polls := int64(time.Since(start)/(500*time.Millisecond)) + 1
		require.LessOrEqual(t, reads, 2*appends+polls, "%d followers and %d appends cost %d reads", followers, appends, reads)
	})
}

// Stream followers are capped like long-polling claims: one more is a 429.
func TestStreamFollowersCapped(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		e := newEnv(t, open, server.Config{MaxLongPolls: 1}, nil)
		id := e.create(map[string]any{"lane": "cap"})
		e.claimOne("cap")
		path := execPath(id, "/attempts/0/stream")
		e.openSSE(t.Context(), path, "")
		r := e.do(http.MethodGet, path, nil, "Accept", "text/event-stream")
		require.Equal(t, http.StatusTooManyRequests, r.status, "%s", r.body)
		require.Equal(t, ff.ErrResourceExhausted, r.apiError(t).Kind)
		r = e.get(path + "?wait_ms=100")
		require.Equal(t, http.StatusTooManyRequests, r.status)
		require.Equal(t, http.StatusOK, e.get(path).status, "a read that does not wait is never refused")
	})
}
