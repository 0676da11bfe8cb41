package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/backend/postgres"
)

// An append wakes the followers of its stream in another process through
// one NOTIFY per append transaction, never one per frame.
func TestStreamWakeAcrossProcesses(t *testing.T) {
	ctx := t.Context()
	a, url := openFresh(t, nil)
	other, err := postgres.Open(ctx, postgres.Options{URL: url})
	require.NoError(t, err)
	t.Cleanup(func() { _ = other.Close() })

	// A raw listener counts the notifications.
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	_, err = conn.Exec(ctx, "LISTEN flowfabric_work")
	require.NoError(t, err)

	for range 2 {
		_, err := a.CreateExecution(ctx, backend.CreateExecutionParams{Kind: "k", Lane: "x"})
		require.NoError(t, err)
	}
	tasks, err := a.Claim(ctx, backend.ClaimParams{WorkerID: "w", Lanes: []string{"x"}, Max: 2})
	require.NoError(t, err)
	require.Len(t, tasks, 2)
	first := backend.StreamRef{ExecutionID: tasks[0].ExecutionID}
	wake, stop := other.SubscribeStream(ctx, first)
	defer stop()
	frames := make([]ff.FrameInput, 30)
	_, err = a.AppendFrames(ctx, backend.AppendFramesParams{Handle: tasks[0].Handle, Frames: frames})
	require.NoError(t, err)
	select {
	case <-wake:
	case <-time.After(20 * time.Second):
		t.Fatal("the other process's subscriber was not woken")
	}
	// A marker append on another stream: every notification of the first
	// batch arrives before the marker's.
	second := backend.StreamRef{ExecutionID: tasks[1].ExecutionID}
	_, err = a.AppendFrames(ctx, backend.AppendFramesParams{Handle: tasks[1].Handle, Frames: frames[:1]})
	require.NoError(t, err)
	require.Equal(t, 1, countUntil(t, conn, second.WakeKey()), "one notification for a batch of 30 frames")
}

// countUntil reads notifications until one with payload until arrives
// and returns how many stream notifications (lane ones are skipped) came
// before it.
func countUntil(t *testing.T, conn *pgx.Conn, until string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	n := 0
	for {
		note, err := conn.WaitForNotification(ctx)
		require.NoError(t, err, "waiting for the notification %q", until)
		if note.Payload == until {
			return n
		}
		if strings.HasPrefix(note.Payload, "\x1fstream") {
			n++
		}
	}
}
