package engine

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flowfabric-go/flowfabric/backend"
)

func TestEventRetentionRunOnce(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		s := open(t)
		ctx := t.Context()
		old := create(t, s, backend.CreateExecutionParams{})
		_, err := s.b.CancelExecution(ctx, backend.CancelExecutionParams{ExecutionID: old})
		require.NoError(t, err)
		s.clock.Advance(2 * time.Hour)
		fresh := create(t, s, backend.CreateExecutionParams{})
		_, err = s.b.CancelExecution(ctx, backend.CancelExecutionParams{ExecutionID: fresh})
		require.NoError(t, err)

		r := &eventRetention{s.b, time.Hour, 1, s.clock.Now}
		n, err := r.runOnce(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n, "one row per sweep (batch 1)")
		n, err = r.runOnce(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		n, err = r.runOnce(ctx)
		require.NoError(t, err)
		require.Zero(t, n, "the events of the last hour stay")
		page, err := s.b.ReadEvents(ctx, backend.ReadEventsParams{})
		require.NoError(t, err)
		require.Len(t, page.Events, 2)
		require.Equal(t, fresh, page.Events[0].ExecutionID)
	})
}

func TestSupervisorSweepsEventsOnlyWithAStore(t *testing.T) {
	s, err := New(&scriptedMaintenance{}, Config{})
	require.NoError(t, err)
	for _, r := range s.recs {
		require.NotEqual(t, "event_retention", r.r.name())
	}
	st := openSQLite(t)
	s, err = New(st.b, Config{Events: st.b, EventRetention: -1})
	require.NoError(t, err)
	for _, r := range s.recs {
		require.NotEqual(t, "event_retention", r.r.name(), "negative retention keeps events forever")
	}
	s, err = New(st.b, Config{Events: st.b})
	require.NoError(t, err)
	names := []string{}
	for _, r := range s.recs {
		names = append(names, r.r.name())
	}
	require.Contains(t, names, "event_retention")
}
