package flowfabric

import "time"

// Times are stored, and travel on the wire, as Unix milliseconds with 0
// meaning "unset"; the Go API uses time.Time with the zero Time meaning
// unset. These two functions are the one conversion between the forms,
// at millisecond precision (a finer time is truncated). The Unix epoch
// itself is therefore indistinguishable from "unset".

// TimeFromMs returns the time ms Unix milliseconds denote, or the zero
// Time for 0.
func TimeFromMs(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// MsFromTime returns t in Unix milliseconds, or 0 for the zero Time.
func MsFromTime(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}
