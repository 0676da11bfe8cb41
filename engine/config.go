package engine

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/flowfabric-go/flowfabric/backend"
)

// Defaults for Config's zero fields.
const (
	DefaultLeaderName             = "flowfabric-reconcilers"
	DefaultBatchSize              = backend.DefaultSweepLimit
	DefaultLeaseExpiryInterval    = time.Second
	DefaultPromoterInterval       = 250 * time.Millisecond
	DefaultAttemptTimeoutInterval = 2 * time.Second
	DefaultDeadlineInterval       = 5 * time.Second
	// Expired idempotency keys are already unused for creates; the sweep
	// only frees their index entries, so it need not run often.
	DefaultIdempotencyExpiryInterval = 30 * time.Second
	DefaultLeaderRetryInterval       = time.Second

	// minInterval is the floor of every interval: a sweep loop never
	// spins faster than this except to drain a full batch.
	minInterval = 10 * time.Millisecond
)

// Config configures a Supervisor. Zero values take the defaults above.
type Config struct {
	// LeaderName is the leader lease the supervisor competes for.
	LeaderName string
	// BatchSize bounds one sweep, in [1, backend.MaxSweepLimit]; a sweep
	// that changes a full batch runs again at once.
	BatchSize int

	LeaseExpiryInterval    time.Duration
	PromoterInterval       time.Duration
	AttemptTimeoutInterval time.Duration
	DeadlineInterval       time.Duration
	// IdempotencyExpiryInterval is how often expired idempotency keys
	// are cleared.
	IdempotencyExpiryInterval time.Duration
	// LeaderRetryInterval is how often a follower retries acquisition.
	LeaderRetryInterval time.Duration

	Logger   *slog.Logger
	Observer Observer // optional
}

// Validate reports a configuration New would refuse, without a backend.
func (c Config) Validate() error {
	_, err := c.withDefaults()
	return err
}

func (c Config) withDefaults() (Config, error) {
	if c.LeaderName == "" {
		c.LeaderName = DefaultLeaderName
	}
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.BatchSize < 0 || c.BatchSize > backend.MaxSweepLimit {
		return c, fmt.Errorf("engine: batch size %d outside [1, %d]", c.BatchSize, backend.MaxSweepLimit)
	}
	durations := []struct {
		name string
		p    *time.Duration
		def  time.Duration
	}{
		{"lease expiry interval", &c.LeaseExpiryInterval, DefaultLeaseExpiryInterval},
		{"promoter interval", &c.PromoterInterval, DefaultPromoterInterval},
		{"attempt timeout interval", &c.AttemptTimeoutInterval, DefaultAttemptTimeoutInterval},
		{"deadline interval", &c.DeadlineInterval, DefaultDeadlineInterval},
		{"idempotency expiry interval", &c.IdempotencyExpiryInterval, DefaultIdempotencyExpiryInterval},
		{"leader retry interval", &c.LeaderRetryInterval, DefaultLeaderRetryInterval},
	}
	for _, d := range durations {
		if *d.p == 0 {
			*d.p = d.def
		}
		if *d.p < minInterval {
			return c, fmt.Errorf("engine: %s %v is below the %v floor", d.name, *d.p, minInterval)
		}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}
