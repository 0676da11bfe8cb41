package worker

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
)

func TestScheduleTick(t *testing.T) {
	task := &Task{Tags: map[string]string{ff.TagSchedule: "nightly", ff.TagTickMs: "1767225600000"}}
	id, tick, ok := task.ScheduleTick()
	require.True(t, ok)
	require.Equal(t, "nightly", id)
	require.Equal(t, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), tick)
	for _, tags := range []map[string]string{nil, {ff.TagSchedule: "x"}, {ff.TagSchedule: "x", ff.TagTickMs: "soon"}} {
		_, _, ok := (&Task{Tags: tags}).ScheduleTick()
		require.False(t, ok)
	}
}
