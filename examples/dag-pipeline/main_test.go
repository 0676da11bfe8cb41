package main

import (
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	ff "github.com/flowfabric-go/flowfabric"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestPipeline runs the program on a fresh SQLite file: the fan-out and
// fan-in compute the letters of the words, the fast mirror wins the race
// and the slow ones are cancelled while they run, and the flow completes
// (losing siblings of a cancel_remaining join do not fail it).
func TestPipeline(t *testing.T) {
	db := filepath.Join(t.TempDir(), "dag.db")
	rep, err := run(t.Context(), db, io.Discard, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	want := 0
	for _, w := range words {
		want += len(w)
	}
	require.Equal(t, want, rep.Total)
	require.Equal(t, "mirror-fast", rep.Winner)
	require.Equal(t, ff.FlowCompleted, rep.FlowState)
	for ref, st := range rep.States {
		switch ref {
		case "mirror-slow-1", "mirror-slow-2":
			require.Equal(t, ff.PublicCancelled, st, ref)
		default:
			require.Equal(t, ff.PublicCompleted, st, ref)
		}
	}
	require.Len(t, rep.States, 9)
}
