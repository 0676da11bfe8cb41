package engine

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	ff "github.com/flowfabric-go/flowfabric"
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
	DefaultScheduleInterval          = time.Second
	// Frames of ended attempts are only deleted by it: it need not run
	// often.
	DefaultStreamRetentionInterval = time.Minute
	// DefaultEventRetentionInterval is how often the event retention
	// sweep runs; DefaultEventRetention how long events are kept.
	DefaultEventRetentionInterval = time.Minute
	DefaultEventRetention         = 7 * 24 * time.Hour
	DefaultFlowCancelInterval     = 250 * time.Millisecond
	DefaultFlowRepairInterval     = 15 * time.Second
	// Budgets and quotas: resets and window due times are events users
	// wait for, the repair and the dedup sweep are backstops.
	DefaultBudgetResetInterval  = time.Second
	DefaultQuotaUnblockInterval = 100 * time.Millisecond
	DefaultQuotaRepairInterval  = 5 * time.Second
	DefaultUsageDedupInterval   = time.Minute
	// DefaultSuspensionTimeoutInterval and DefaultPendingWaitpointInterval
	// pace the waitpoint sweeps.
	DefaultSuspensionTimeoutInterval = time.Second
	DefaultPendingWaitpointInterval  = 5 * time.Second

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

	// Schedules, when set, is the store of periodic schedules: the
	// schedule firer sweeps it every ScheduleInterval. nil disables it.
	Schedules        backend.Schedules
	ScheduleInterval time.Duration
	// Waitpoints, when set, is the store of suspensions and waitpoints:
	// the suspension timeout sweep runs every SuspensionTimeoutInterval,
	// the pending waitpoint expiry every PendingWaitpointInterval. nil
	// disables both.
	Waitpoints                backend.Waitpoints
	SuspensionTimeoutInterval time.Duration
	PendingWaitpointInterval  time.Duration
	// ScheduleGrace is how late a tick may fire and still be on time
	// (default ff.DefaultScheduleGrace, at most ff.MaxScheduleGrace);
	// older ticks follow their schedule's catch-up policy.
	ScheduleGrace time.Duration

	// Streams, when set, is the store of output streams: the retention
	// sweep deletes the frames of attempts that ended more than
	// StreamRetention ago (default backend.DefaultStreamRetention, 7 days)
	// every StreamRetentionInterval. nil disables it.
	Streams                 backend.Streams
	StreamRetention         time.Duration
	StreamRetentionInterval time.Duration

	// Events, when set, is the outbox: events older than EventRetention
	// (default DefaultEventRetention; negative keeps them forever) are
	// deleted every EventRetentionInterval. nil disables the sweep.
	Events                 backend.Events
	EventRetentionInterval time.Duration
	EventRetention         time.Duration
	// Flows, when set, is the store of flows: its cancel backlog is
	// worked every FlowCancelInterval and missed edge resolutions are
	// repaired every FlowRepairInterval. nil disables both.
	Flows              backend.Flows
	FlowCancelInterval time.Duration
	FlowRepairInterval time.Duration
	// Budgets, when set, is the store of budgets and quotas: its
	// reconcilers (reset at next_reset_at_ms, window unblock at its due
	// time, slot drift repair and unblock backstop, dedup key expiry)
	// run every interval below. nil disables them.
	Budgets              backend.Budgets
	BudgetResetInterval  time.Duration
	QuotaUnblockInterval time.Duration
	QuotaRepairInterval  time.Duration
	UsageDedupInterval   time.Duration
}

// Interval is one interval setting of a Config, described for command
// lines and documentation. The flowfabric binary makes each a flag
// --<Key> with the environment variable FF_<KEY> (dashes as
// underscores), so a reconciler added to Intervals is configurable
// everywhere with no other change.
type Interval struct {
	Key     string // "lease-expiry-interval"
	Usage   string // one line for --help
	Default time.Duration
	Value   *time.Duration // the Config field
}

// Intervals lists c's interval fields, each with its default. A new
// reconciler adds its field to Config, one entry here and one in New.
func (c *Config) Intervals() []Interval {
	return []Interval{
		{"lease-expiry-interval", "lease expiry sweep interval", DefaultLeaseExpiryInterval, &c.LeaseExpiryInterval},
		{"promoter-interval", "delayed promoter sweep interval", DefaultPromoterInterval, &c.PromoterInterval},
		{"attempt-timeout-interval", "attempt timeout sweep interval", DefaultAttemptTimeoutInterval, &c.AttemptTimeoutInterval},
		{"deadline-interval", "execution deadline sweep interval", DefaultDeadlineInterval, &c.DeadlineInterval},
		{"idempotency-expiry-interval", "expired idempotency keys sweep interval", DefaultIdempotencyExpiryInterval, &c.IdempotencyExpiryInterval},
		{"leader-retry-interval", "how often a follower retries reconciler leadership", DefaultLeaderRetryInterval, &c.LeaderRetryInterval},
		{"schedule-interval", "periodic schedule sweep interval (a tick fires at most this late while a server leads)", DefaultScheduleInterval, &c.ScheduleInterval},
		{"stream-retention-interval", "how often the frames of ended attempts past the stream retention are deleted", DefaultStreamRetentionInterval, &c.StreamRetentionInterval},
		{"event-retention-interval", "event retention sweep interval", DefaultEventRetentionInterval, &c.EventRetentionInterval},
		{"flow-cancel-interval", "flow cancel backlog sweep interval (asynchronous flow cancels)", DefaultFlowCancelInterval, &c.FlowCancelInterval},
		{"flow-repair-interval", "backstop sweep of flow edges whose upstream ended unresolved", DefaultFlowRepairInterval, &c.FlowRepairInterval},
		{"budget-reset-interval", "budget reset sweep interval (a due reset runs at most this late)", DefaultBudgetResetInterval, &c.BudgetResetInterval},
		{"quota-unblock-interval", "quota window unblock sweep interval", DefaultQuotaUnblockInterval, &c.QuotaUnblockInterval},
		{"quota-repair-interval", "quota slot drift repair and unblock backstop interval", DefaultQuotaRepairInterval, &c.QuotaRepairInterval},
		{"usage-dedup-interval", "expired usage dedup keys sweep interval", DefaultUsageDedupInterval, &c.UsageDedupInterval},
		{"suspension-timeout-interval", "suspension timeout sweep interval", DefaultSuspensionTimeoutInterval, &c.SuspensionTimeoutInterval},
		{"pending-waitpoint-interval", "pending waitpoint expiry sweep interval", DefaultPendingWaitpointInterval, &c.PendingWaitpointInterval},
	}
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
	for _, iv := range c.Intervals() {
		if *iv.Value == 0 {
			*iv.Value = iv.Default
		}
		if *iv.Value < minInterval {
			return c, fmt.Errorf("engine: %s %v is below the %v floor", strings.ReplaceAll(iv.Key, "-", " "), *iv.Value, minInterval)
		}
	}
	if c.ScheduleGrace == 0 {
		c.ScheduleGrace = ff.DefaultScheduleGrace
	}
	if c.ScheduleGrace < 0 || c.ScheduleGrace > ff.MaxScheduleGrace {
		return c, fmt.Errorf("engine: schedule grace %v outside (0, %v]", c.ScheduleGrace, ff.MaxScheduleGrace)
	}
	if c.StreamRetention == 0 {
		c.StreamRetention = backend.DefaultStreamRetention
	}
	if c.StreamRetention < 0 {
		return c, fmt.Errorf("engine: stream retention %v is negative", c.StreamRetention)
	}
	if c.EventRetention == 0 {
		c.EventRetention = DefaultEventRetention
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}
