package workload

import (
	"fmt"
	"io"
	"time"
)

// Mode is how jobs are fed to the workers.
type Mode string

// Modes.
const (
	// ModeDrain inserts every job first (timed on its own, reported as
	// the insert rate), then starts the workers and works the backlog off.
	ModeDrain Mode = "drain"
	// ModeSteady starts the workers, then inserts at Options.Rate jobs/s
	// until Jobs were inserted or Duration elapsed.
	ModeSteady Mode = "steady"
)

// Defaults shared by both harnesses' flags.
const (
	DefaultJobs              = 20000
	DefaultWorkers           = 16
	DefaultRate              = 500
	DefaultInsertConcurrency = 8
	DefaultTimeout           = 10 * time.Minute
	// ProgressInterval is how often a progress line is written.
	ProgressInterval = 2 * time.Second
)

// Options configure Run.
type Options struct {
	Mode Mode
	// Jobs is how many jobs to insert (steady: at most; Duration may stop
	// inserting earlier).
	Jobs int
	// Workers is the concurrency the system was configured with; it is
	// only reported.
	Workers int
	// Rate is the steady-mode insert rate in jobs/s.
	Rate float64
	// Duration bounds steady-mode inserting (0 = until Jobs inserted).
	Duration time.Duration
	// InsertConcurrency is how many goroutines call Insert at once, one
	// job per call.
	InsertConcurrency int
	// Timeout bounds the whole run.
	Timeout time.Duration
	// Progress, when set, receives a progress line every
	// ProgressInterval.
	Progress io.Writer
}

// Validate checks o and fills zero fields with defaults.
func (o *Options) Validate() error {
	switch o.Mode {
	case "":
		o.Mode = ModeDrain
	case ModeDrain, ModeSteady:
	default:
		return fmt.Errorf("mode %q: want drain or steady", o.Mode)
	}
	if o.Jobs <= 0 {
		return fmt.Errorf("jobs %d: must be positive", o.Jobs)
	}
	if o.Mode == ModeSteady && o.Rate <= 0 {
		return fmt.Errorf("rate %g: must be positive in steady mode", o.Rate)
	}
	if o.Duration < 0 {
		return fmt.Errorf("duration %s: must not be negative", o.Duration)
	}
	if o.InsertConcurrency == 0 {
		o.InsertConcurrency = DefaultInsertConcurrency
	}
	if o.InsertConcurrency < 0 {
		return fmt.Errorf("insert concurrency %d: must be positive", o.InsertConcurrency)
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	return nil
}
