package worker_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/worker"
)

// Task.Stream batches frames written concurrently, keeps each writer's
// order, flushes before the outcome is reported, and refuses frames once
// the handler returned; Task.Summary merges patches. In-process and over
// HTTP.
func TestTaskStreamAndSummary(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend.Backend) {
		t.Run("in-process", func(t *testing.T) { testTaskStream(t, b, b) })
		t.Run("remote", func(t *testing.T) { testTaskStream(t, remote(t, b), b) })
	})
}

func testTaskStream(t *testing.T, tr worker.Transport, b backend.Backend) {
	const writers, each = 5, 60
	writerOut := make(chan *worker.StreamWriter, 1)
	startWorker(t, tr, worker.Config{Concurrency: 1}, func(w *worker.Worker) {
		w.Register("stream", func(ctx context.Context, tk *worker.Task) (any, error) {
			var wg sync.WaitGroup
			for g := range writers {
				wg.Go(func() {
					for i := range each {
						var err error
						if i%2 == 0 {
							err = tk.Stream().Send("tok", map[string]int{"g": g, "i": i})
						} else {
							_, err = fmt.Fprintf(tk.Stream(), `{"g":%d,"i":%d}`, g, i)
						}
						if err != nil {
							panic(err)
						}
					}
				})
			}
			if _, err := tk.Summary(ctx, map[string]any{"phase": "writing", "n": 1}); err != nil {
				return nil, err
			}
			wg.Wait()
			doc, err := tk.Summary(ctx, []byte(`{"phase":"done"}`))
			if err != nil {
				return nil, err
			}
			writerOut <- tk.Stream()
			return doc, nil
		})
	})
	id := submit(t, b, "stream", nil, nil)
	waitState(t, b, id, ff.PublicCompleted)

	ref := backend.StreamRef{ExecutionID: id}
	page, err := b.ReadStream(t.Context(), backend.ReadStreamParams{StreamRef: ref, Limit: 1000})
	require.NoError(t, err)
	require.Len(t, page.Frames, writers*each, "every frame was appended before the completion")
	require.True(t, page.Closed)
	next := make([]int, writers)
	for i, f := range page.Frames {
		require.Equal(t, uint64(i+1), f.ID)
		var g, n int
		_, err := fmt.Sscanf(string(f.Payload), `{"g":%d,"i":%d}`, &g, &n)
		require.NoError(t, err, "frame %s", f.Payload)
		require.Equal(t, next[g], n, "writer %d's frames keep their order", g)
		next[g]++
		if n%2 == 0 {
			require.Equal(t, "tok", f.Type)
		} else {
			require.Equal(t, "stdout", f.Type)
			require.True(t, f.Binary)
		}
	}
	s, err := b.ReadSummary(t.Context(), backend.ReadSummaryParams{ExecutionID: id})
	require.NoError(t, err)
	require.JSONEq(t, `{"phase":"done","n":1}`, string(s.Document))

	sw := <-writerOut
	require.Equal(t, uint64(writers*each), sw.LastFrameID())
	_, err = sw.Write([]byte("late"))
	require.ErrorIs(t, err, worker.ErrStreamClosed)
}

// An append refused because the lease is gone is returned by the writer
// and cancels the handler's context.
func TestTaskStreamLostLease(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend.Backend) {
		got := make(chan error, 1)
		startWorker(t, b, worker.Config{Concurrency: 1}, func(w *worker.Worker) {
			w.Register("lost", func(ctx context.Context, tk *worker.Task) (any, error) {
				_, err := b.CancelExecution(context.WithoutCancel(ctx), backend.CancelExecutionParams{ExecutionID: tk.ExecutionID, Reason: "op"})
				if err != nil {
					return nil, err
				}
				serr := tk.Stream().Send("", strconv.Itoa(1))
				if serr == nil {
					serr = tk.Stream().Flush(ctx)
				}
				<-ctx.Done()
				got <- errors.Join(serr, context.Cause(ctx))
				return nil, ctx.Err()
			})
		})
		id := submit(t, b, "lost", nil, nil)
		err := <-got
		require.Error(t, err)
		require.ErrorIs(t, err, worker.ErrExecutionCancelled, "the handler's context ends with the cancel as cause")
		waitState(t, b, id, ff.PublicCancelled)
	})
}

// A frame written and not followed by others is sent after
// Config.StreamFlush, while the handler still runs: a follower sees it
// without a Flush.
func TestTaskStreamFlushesOnItsOwn(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend.Backend) {
		seen := make(chan struct{})
		started := make(chan ff.ExecutionID, 1)
		startWorker(t, b, worker.Config{Concurrency: 1}, func(w *worker.Worker) {
			w.Register("one", func(ctx context.Context, tk *worker.Task) (any, error) {
				started <- tk.ExecutionID
				if err := tk.Stream().Send("", "hello"); err != nil {
					return nil, err
				}
				select {
				case <-seen:
				case <-ctx.Done():
				}
				return nil, nil
			})
		})
		submit(t, b, "one", nil, nil)
		id := <-started
		ref := backend.StreamRef{ExecutionID: id}
		wake, stop := b.SubscribeStream(t.Context(), ref)
		defer stop()
		for {
			page, err := b.ReadStream(t.Context(), backend.ReadStreamParams{StreamRef: ref})
			require.NoError(t, err)
			if len(page.Frames) == 1 {
				require.Equal(t, `"hello"`, string(page.Frames[0].Payload))
				require.False(t, page.Closed, "the handler is still running")
				break
			}
			select {
			case <-wake:
			case <-time.After(waitTimeout):
				t.Fatal("the frame was not sent while the handler ran")
			}
		}
		close(seen)
		waitState(t, b, id, ff.PublicCompleted)
	})
}
