package instrument_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/backend/instrument"
)

func TestEventAndOperatorMetrics(t *testing.T) {
	raw, _ := openSQLite(t)
	reg := prometheus.NewRegistry()
	b := instrument.Wrap(raw, reg)
	ctx := t.Context()
	res, err := b.CreateExecution(ctx, backend.CreateExecutionParams{Lane: "m", Kind: "k"})
	require.NoError(t, err)
	require.NoError(t, b.ChangePriority(ctx, backend.ChangePriorityParams{ExecutionID: res.ExecutionID, Priority: 9}))
	require.Error(t, b.ChangePriority(ctx, backend.ChangePriorityParams{ExecutionID: res.ExecutionID, Priority: -1}))
	tasks, err := b.Claim(ctx, backend.ClaimParams{WorkerID: "w", Lanes: []string{"m"}, LeaseTTL: time.Minute})
	require.NoError(t, err)
	require.NoError(t, b.Complete(ctx, backend.CompleteParams{Handle: tasks[0].Handle}))
	_, err = b.SetLanePaused(ctx, backend.SetLanePausedParams{Lane: "m", Paused: true})
	require.NoError(t, err)
	page, err := b.ReadEvents(ctx, backend.ReadEventsParams{})
	require.NoError(t, err)
	require.Len(t, page.Events, 5, "operator, lease acquired and released, completion, lane paused")

	v := values(t, reg)
	require.Equal(t, 3.0, v["ff_events_written_total{}"], "three stored rows")
	require.Equal(t, 2.0, v["ff_events_read_total{type=operator}"])
	require.Equal(t, 2.0, v["ff_events_read_total{type=lease}"])
	require.Equal(t, 1.0, v["ff_events_read_lag_seconds_count{}"])
	require.Equal(t, 1.0, v["ff_operator_actions_total{action="+ff.OperatorPriorityChanged+"}"])
	require.Equal(t, 1.0, v["ff_operator_actions_total{action="+ff.OperatorLanePaused+"}"])
	require.Equal(t, 1.0, v["ff_backend_errors_total{kind=invalid_input,op="+ff.OperatorPriorityChanged+"}"])
}
