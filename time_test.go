package flowfabric_test

import (
	"math"
	"strings"
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

func TestMsFromTimeSaturates(t *testing.T) {
	far := time.Unix(1<<62, 0) // beyond int64 milliseconds
	if got := ff.MsFromTime(far); got != math.MaxInt64 {
		t.Fatalf("far future: %d, want MaxInt64", got)
	}
	if got := ff.MsFromTime(time.Unix(-(1 << 62), 0)); got != math.MinInt64 {
		t.Fatalf("far past: %d, want MinInt64", got)
	}
	if got := ff.MsFromTime(ff.TimeFromMs(ff.MaxInstantMs)); got != ff.MaxInstantMs {
		t.Fatalf("max instant round trip: %d", got)
	}
	if got := ff.TimeFromMs(ff.MaxInstantMs).UTC().Format(time.RFC3339Nano); got != "9999-12-31T23:59:59.999Z" {
		t.Fatalf("max instant is %s", got)
	}
}

func TestValidateInstant(t *testing.T) {
	for _, ok := range []int64{0, 1, 1_700_000_000_000, ff.MaxInstantMs} {
		noErr(t, ff.ValidateInstant("delay_until_ms", ok))
	}
	for _, bad := range []int64{-1, math.MinInt64, ff.MaxInstantMs + 1, math.MaxInt64} {
		e := wantErr(t, ff.ValidateInstant("delay_until_ms", bad), ff.ClassValidation, ff.ErrInvalidInput)
		if !strings.Contains(e.Detail, "delay_until_ms") || !strings.Contains(e.Detail, "253402300799999") {
			t.Errorf("detail %q does not name the field and the limit", e.Detail)
		}
	}
}

func TestAddMsSaturates(t *testing.T) {
	tests := []struct{ t, d, want int64 }{
		{1000, 500, 1500},
		{1000, 0, 1000},
		{1000, -500, 500},
		{1000, math.MaxInt64, ff.MaxInstantMs},
		{ff.MaxInstantMs, 1, ff.MaxInstantMs},
		{ff.MaxInstantMs - 1, 1, ff.MaxInstantMs},
		{math.MaxInt64, 1, math.MaxInt64}, // never moved back
		{math.MinInt64, -1, math.MinInt64},
		{-5, math.MinInt64, math.MinInt64},
	}
	for _, tc := range tests {
		if got := ff.AddMs(tc.t, tc.d); got != tc.want {
			t.Errorf("AddMs(%d, %d) = %d, want %d", tc.t, tc.d, got, tc.want)
		}
	}
}
