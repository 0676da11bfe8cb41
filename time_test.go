package flowfabric_test

import (
	"testing"
	"time"

	ff "github.com/flowfabric-go/flowfabric"
)

func TestTimeMsConversion(t *testing.T) {
	if !ff.TimeFromMs(0).IsZero() || ff.MsFromTime(time.Time{}) != 0 {
		t.Fatal("0 and the zero Time must map to each other")
	}
	for _, ms := range []int64{1, -1, 1_700_000_000_123} {
		if got := ff.MsFromTime(ff.TimeFromMs(ms)); got != ms {
			t.Fatalf("round trip of %d gave %d", ms, got)
		}
	}
	fine := time.UnixMilli(1_700_000_000_123).Add(999 * time.Microsecond)
	if got := ff.MsFromTime(fine); got != 1_700_000_000_123 {
		t.Fatalf("sub-millisecond time: %d, want truncation", got)
	}
}
