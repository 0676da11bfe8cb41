package worker

import (
	"strconv"
	"time"

	ff "github.com/flowfabric-go/flowfabric"
)

// ScheduleTick reports which schedule tick created the task's execution:
// the schedule's id and the tick's time, read from the tags every tick
// carries (ff.TagSchedule, ff.TagTickMs). ok is false for an execution
// no schedule created.
func (t *Task) ScheduleTick() (scheduleID string, tick time.Time, ok bool) {
	id, ms := t.Tags[ff.TagSchedule], t.Tags[ff.TagTickMs]
	if id == "" || ms == "" {
		return "", time.Time{}, false
	}
	n, err := strconv.ParseInt(ms, 10, 64)
	if err != nil {
		return "", time.Time{}, false
	}
	return id, time.UnixMilli(n).UTC(), true
}
