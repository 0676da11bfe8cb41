package engine

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// The supervisor sweeps stream retention only when Config.Streams is
// set, and deletes the frames of attempts ended longer than the retention
// ago.
func TestSweepRunsStreamRetention(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		s := open(t)
		ctx := context.Background()
		id := create(t, s, backend.CreateExecutionParams{})
		tasks := claim(t, s, 10_000)
		require.Len(t, tasks, 1)
		_, err := s.b.AppendFrames(ctx, backend.AppendFramesParams{Handle: tasks[0].Handle, Frames: []ff.FrameInput{{Durable: true}}})
		require.NoError(t, err)
		require.NoError(t, s.b.Complete(ctx, backend.CompleteParams{Handle: tasks[0].Handle}))

		without, err := New(s.b, Config{})
		require.NoError(t, err)
		with, err := New(s.b, Config{Streams: s.b, StreamRetention: time.Hour})
		require.NoError(t, err)
		s.clock.Advance(time.Hour + time.Millisecond)
		n, err := without.Sweep(ctx)
		require.NoError(t, err)
		require.NotContains(t, n, "stream_retention")
		n, err = with.Sweep(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n["stream_retention"])
		page, err := s.b.ReadStream(ctx, backend.ReadStreamParams{StreamRef: backend.StreamRef{ExecutionID: id}})
		require.NoError(t, err)
		require.Empty(t, page.Frames)
		require.True(t, page.Closed)

		_, err = New(s.b, Config{Streams: s.b, StreamRetention: -time.Second})
		require.Error(t, err)
	})
}
