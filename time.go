package flowfabric

import (
	"math"
	"time"
)

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

// Bounds of the Unix-millisecond range, as times.
var (
	maxMsTime = time.UnixMilli(math.MaxInt64)
	minMsTime = time.UnixMilli(math.MinInt64)
)

// MsFromTime returns t in Unix milliseconds, or 0 for the zero Time. A
// time beyond what int64 milliseconds can hold saturates at
// math.MaxInt64 (or math.MinInt64) instead of wrapping, so validation
// sees it as out of range.
func MsFromTime(t time.Time) int64 {
	switch {
	case t.IsZero():
		return 0
	case t.After(maxMsTime):
		return math.MaxInt64
	case t.Before(minMsTime):
		return math.MinInt64
	}
	return t.UnixMilli()
}

// Time limits of the API. Every instant it accepts (a create's
// delay_until and deadline_at, a Delay's until) is in [0, MaxInstantMs];
// every duration in an execution policy is at most MaxDurationMs. With
// both bounds no stored instant plus a stored duration can overflow.
const (
	// MaxInstantMs is 9999-12-31T23:59:59.999Z, the last instant RFC 3339
	// (and time.Time's JSON form) can write.
	MaxInstantMs int64 = 253_402_300_799_999
	// MaxDurationMs is 365 days.
	MaxDurationMs int64 = 365 * 24 * 60 * 60 * 1000
)

// ValidateInstant checks an instant in Unix milliseconds named field: 0
// (unset) or up to MaxInstantMs; a negative one is refused.
func ValidateInstant(field string, ms int64) error {
	if ms < 0 || ms > MaxInstantMs {
		return Validation(ErrInvalidInput, "%s: %d outside [0, %d] (Unix ms, at most 9999-12-31T23:59:59.999Z)", field, ms, MaxInstantMs)
	}
	return nil
}

// AddMs returns the instant t plus d milliseconds, saturating instead of
// wrapping: a sum beyond MaxInstantMs is MaxInstantMs (t itself if t is
// already later; a positive d never moves a time back), and one below
// math.MinInt64 is math.MinInt64. Every transition that adds a duration
// to a time uses it, so no stored deadline, expiry or ready time can
// overflow or turn negative.
func AddMs(t, d int64) int64 {
	switch {
	case d > 0 && t > MaxInstantMs-d:
		return max(t, MaxInstantMs)
	case d < 0 && t < math.MinInt64-d:
		return math.MinInt64
	}
	return t + d
}
