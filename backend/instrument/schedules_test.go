package instrument_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/backend/instrument"
)

func TestScheduleTicksCounted(t *testing.T) {
	raw, fake := openSQLite(t)
	reg := prometheus.NewRegistry()
	b := instrument.Wrap(raw, reg)
	ctx := context.Background()
	res, err := b.CreateSchedule(ctx, backend.CreateScheduleParams{ID: "s", Spec: ff.ScheduleSpec{Every: time.Minute},
		Execution: backend.CreateExecutionParams{Kind: "k"}})
	require.NoError(t, err)
	fake.Set(time.UnixMilli(res.Schedule.NextFireAtMs).Add(3*time.Minute + 30*time.Second)) // 3 late ticks, 1 on time
	_, err = b.FireDueSchedules(ctx, backend.FireSchedulesParams{})
	require.NoError(t, err)
	v := values(t, reg)
	require.Equal(t, 1.0, v["ff_schedule_ticks_total{outcome=fired}"])
	require.Equal(t, 3.0, v["ff_schedule_ticks_total{outcome=skipped}"])
	require.Equal(t, 1.0, v["ff_schedule_fire_lag_seconds_count{}"])
}
