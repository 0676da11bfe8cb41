package flowfabric

import (
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
)

// cronParser accepts the five standard fields and the @yearly … @hourly
// descriptors. Seconds are not a field: ticks fall on whole minutes.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// starBit is robfig's marker of a field written as "*" (spec.go).
const starBit = 1 << 63

// maxCronCache bounds the parsed-spec cache; past it the cache starts over.
const maxCronCache = 1024

// cronCache holds parsed specs by (expression, zone): sweeps compute
// ticks often and parsing allocates.
var cronCache struct {
	sync.Mutex
	m map[string]*cron.SpecSchedule
}

// parseCron parses expr in the zone tz ("" = UTC). It refuses what the
// schedule model expresses otherwise: @every (use Every) and a TZ= or
// CRON_TZ= prefix (use Timezone).
func parseCron(expr, tz string) (*cron.SpecSchedule, error) {
	key := expr + "\x00" + tz
	cronCache.Lock()
	s, ok := cronCache.m[key]
	cronCache.Unlock()
	if ok {
		return s, nil
	}
	trimmed := strings.TrimSpace(expr)
	switch {
	case strings.HasPrefix(trimmed, "@every"):
		return nil, Validation(ErrInvalidInput, "cron %q: @every is not a cron spec; set every instead", clip(expr))
	case strings.HasPrefix(trimmed, "TZ=") || strings.HasPrefix(trimmed, "CRON_TZ="):
		return nil, Validation(ErrInvalidInput, "cron %q: set timezone instead of a TZ= prefix", clip(expr))
	}
	loc, err := loadZone(tz)
	if err != nil {
		return nil, err
	}
	parsed, err := cronParser.Parse(trimmed)
	if err != nil {
		return nil, Validation(ErrInvalidInput, "cron %q: %v", clip(expr), err)
	}
	spec, ok := parsed.(*cron.SpecSchedule)
	if !ok {
		return nil, Validation(ErrInvalidInput, "cron %q: unsupported form", clip(expr))
	}
	spec.Location = loc
	cronCache.Lock()
	if cronCache.m == nil || len(cronCache.m) >= maxCronCache {
		cronCache.m = map[string]*cron.SpecSchedule{}
	}
	cronCache.m[key] = spec
	cronCache.Unlock()
	return spec, nil
}

// loadZone loads an IANA zone; "" is UTC.
func loadZone(tz string) (*time.Location, error) {
	if tz == "" {
		return time.UTC, nil
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, Validation(ErrInvalidInput, "timezone %q: %v", clip(tz), err)
	}
	return loc, nil
}

// cronNext is the first tick of spec strictly after afterMs, or false
// when robfig finds none within five years.
//
// DST: a wall time that does not exist on a spring-forward day is skipped
// that day (robfig's rule). A spec with a fixed hour fires once on a
// fall-back night: the second occurrence of a repeated wall time is
// skipped. A spec whose hour is "*" fires every real hour.
func cronNext(spec *cron.SpecSchedule, afterMs int64) (int64, bool) {
	t := time.UnixMilli(afterMs).In(spec.Location)
	for range 4 {
		next := spec.Next(t)
		if next.IsZero() {
			return 0, false
		}
		if spec.Hour&starBit != 0 || !repeatedWallTime(next) {
			return next.UnixMilli(), true
		}
		t = next
	}
	return 0, false
}

// repeatedWallTime reports whether t's local wall clock (to the minute)
// already occurred earlier: t lies in the second pass of a fall-back hour.
func repeatedWallTime(t time.Time) bool {
	for _, d := range []time.Duration{30 * time.Minute, time.Hour, 2 * time.Hour} {
		e := t.Add(-d)
		if e.Year() == t.Year() && e.YearDay() == t.YearDay() && e.Hour() == t.Hour() && e.Minute() == t.Minute() {
			return true
		}
	}
	return false
}
