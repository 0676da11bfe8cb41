package bench

import (
	"fmt"
	"io"
	"log/slog"
	"math"
	"regexp"
	"time"

	"github.com/flowfabric-go/flowfabric/engine"
	"github.com/flowfabric-go/flowfabric/internal/bench/workload"
)

// Modes.
const (
	ModeDrain  = string(workload.ModeDrain)
	ModeSteady = string(workload.ModeSteady)
	ModeCaps   = "caps"
	ModeCrash  = "crash"
	// ModeChain and ModeFlowCancel measure flows (issue 11).
	ModeChain      = "chain"
	ModeFlowCancel = "flow-cancel"
	ModeQuota      = "quota"
	// ModeSignal: claim, suspend, an outside signal, resumed claim,
	// complete; it reports the resume latency (signal.go).
	ModeSignal = "signal"
)

// Defaults.
const (
	DefaultSchema   = "flowfabric_bench"
	DefaultCapSets  = 10
	DefaultLeaseTTL = 2 * time.Second
	// Chain and flow-cancel defaults.
	DefaultFlows       = 1000
	DefaultChainLength = 10
	DefaultMembers     = 100
	// Lane and Kind of every bench execution.
	Lane     = "bench"
	Kind     = "bench.noop"
	WorkerID = "bench"
)

// Config configures Run. Exactly one of PostgresURL and SQLitePath is set.
type Config struct {
	// PostgresURL is the server to use; the bench works in Schema.
	PostgresURL string
	// SQLitePath is the database file to use.
	SQLitePath string
	// Schema is the dedicated Postgres schema (default flowfabric_bench).
	Schema string
	// SchemaReset starts from an empty database: the Postgres schema is
	// dropped and re-created, the SQLite file deleted and re-created
	// (only if it holds nothing but bench lanes). Without it the
	// database must hold no execution.
	SchemaReset bool

	Mode    string
	Jobs    int
	Workers int
	// Rate and Duration drive steady mode (see workload.Options).
	Rate     float64
	Duration time.Duration
	// ClaimBatch is the worker SDK's claim batch (0: the SDK default,
	// min(workers, 200)).
	ClaimBatch int
	// Completers is the worker SDK's completion reports in flight (0:
	// the SDK default).
	Completers        int
	InsertConcurrency int
	// MaxConns sizes the Postgres pool (0: the backend default).
	MaxConns int32
	// Reconcilers runs the engine's reconcilers in-process (as the
	// server does); crash mode needs them.
	Reconcilers bool
	Engine      engine.Config
	// CapSets is the number of capability sets in caps mode.
	CapSets int
	// BestEffort makes stream mode append best-effort frames (on
	// Postgres: committed without waiting for the WAL flush).
	BestEffort bool
	// Flows and ChainLength shape chain mode (Flows chains of
	// ChainLength members); Flows and Members shape flow-cancel mode.
	Flows       int
	ChainLength int
	Members     int
	// QuotaConcurrency is the concurrency cap in quota mode.
	QuotaConcurrency int
	// LeaseTTL is the crashed worker's lease in crash mode.
	LeaseTTL time.Duration
	Timeout  time.Duration
	// Progress receives progress lines when set.
	Progress io.Writer
	Logger   *slog.Logger
}

var schemaName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// Validate checks c and applies defaults; Run calls it too.
func (c *Config) Validate() error {
	if (c.PostgresURL == "") == (c.SQLitePath == "") {
		return fmt.Errorf("bench: set exactly one of a Postgres URL and a SQLite path")
	}
	if c.Schema == "" {
		c.Schema = DefaultSchema
	}
	if !schemaName.MatchString(c.Schema) || c.Schema == "public" {
		return fmt.Errorf("schema %q: want a dedicated lower-case identifier such as %s (never public)", c.Schema, DefaultSchema)
	}
	switch c.Mode {
	case "":
		c.Mode = ModeDrain
	case ModeDrain, ModeSteady, ModeCaps, ModeCrash, ModeSignal, ModeChain, ModeFlowCancel, ModeQuota, ModeStream:
	default:
		return fmt.Errorf("mode %q: want drain, steady, caps, crash, signal, chain, flow-cancel, quota or stream", c.Mode)
	}
	if err := c.flowDefaults(); err != nil {
		return err
	}
	if c.Mode == ModeQuota {
		if err := c.validateQuota(); err != nil {
			return err
		}
	}
	if c.Jobs <= 0 {
		return fmt.Errorf("jobs %d: must be positive", c.Jobs)
	}
	if c.Workers <= 0 {
		return fmt.Errorf("workers %d: must be positive", c.Workers)
	}
	if c.ClaimBatch < 0 {
		return fmt.Errorf("batch %d: must not be negative", c.ClaimBatch)
	}
	if c.Completers < 0 {
		return fmt.Errorf("completers %d: must not be negative", c.Completers)
	}
	if c.CapSets == 0 {
		c.CapSets = DefaultCapSets
	}
	if c.Mode == ModeCaps && (c.CapSets < 1 || c.Workers < c.CapSets) {
		return fmt.Errorf("caps mode: %d workers cannot cover %d capability sets (want workers >= cap sets >= 1)", c.Workers, c.CapSets)
	}
	if c.LeaseTTL == 0 {
		c.LeaseTTL = DefaultLeaseTTL
	}
	if c.Engine.LeaseExpiryInterval == 0 {
		c.Engine.LeaseExpiryInterval = engine.DefaultLeaseExpiryInterval
	}
	if c.Mode == ModeCrash && !c.Reconcilers {
		return fmt.Errorf("crash mode needs the reconcilers: expired leases are reclaimed only after the lease-expiry sweep")
	}
	if c.Timeout == 0 {
		c.Timeout = workload.DefaultTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// validateQuota applies quota mode's defaults and checks its bounds.
func (c *Config) validateQuota() error {
	if c.QuotaConcurrency == 0 {
		c.QuotaConcurrency = DefaultQuotaConcurrency
	}
	if c.Duration == 0 {
		c.Duration = DefaultQuotaDuration
	}
	switch {
	case c.Rate < 1 || c.Rate != math.Trunc(c.Rate):
		return fmt.Errorf("quota mode: --rate %v: want a whole number of admissions per second", c.Rate)
	case c.QuotaConcurrency < 1 || c.Workers < 2*c.QuotaConcurrency:
		return fmt.Errorf("quota mode: want --quota-concurrency >= 1 and --workers >= 2x it (so the cap, not the workers, limits)")
	case c.Duration < 2*time.Second:
		return fmt.Errorf("quota mode: --duration %v: want at least 2s", c.Duration)
	case !c.Reconcilers:
		return fmt.Errorf("quota mode needs the reconcilers: a full window's executions are unblocked by its sweep")
	}
	c.Engine.QuotaUnblockInterval = quotaUnblockInterval
	return nil
}

// workloadOptions are the shared workload's options for c.
func (c *Config) workloadOptions() workload.Options {
	mode := workload.Mode(c.Mode)
	if c.Mode == ModeCaps {
		mode = workload.ModeDrain
	}
	return workload.Options{
		Mode: mode, Jobs: c.Jobs, Workers: c.Workers, Rate: c.Rate, Duration: c.Duration,
		InsertConcurrency: c.InsertConcurrency, Timeout: c.Timeout, Progress: c.Progress,
	}
}

// flowDefaults applies and checks the chain and flow-cancel shape.
func (c *Config) flowDefaults() error {
	if c.Flows == 0 {
		c.Flows = DefaultFlows
	}
	if c.ChainLength == 0 {
		c.ChainLength = DefaultChainLength
	}
	if c.Members == 0 {
		c.Members = DefaultMembers
	}
	if c.Flows < 1 || c.ChainLength < 1 || c.ChainLength > 1000 || c.Members < 1 || c.Members > 1000 {
		return fmt.Errorf("flows %d, chain length %d, members %d: want flows >= 1 and 1 <= chain length, members <= 1000",
			c.Flows, c.ChainLength, c.Members)
	}
	return nil
}
