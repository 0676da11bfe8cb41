package worker

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/trace"

	ff "github.com/flowfabric-go/flowfabric"
)

// Defaults applied by Config for fields left zero.
const (
	ConcurrencyDefault    = 10
	LeaseTTLDefault       = 30 * time.Second
	ClaimBatchMax         = 200 // the default ClaimBatch is min(Concurrency, ClaimBatchMax)
	CompletersDefault     = 2
	PollIntervalDefault   = 200 * time.Millisecond
	PollBackoffMin        = 50 * time.Millisecond
	PollBackoffMaxDefault = time.Second
	ShutdownGraceDefault  = 30 * time.Second
	// StreamFlushDefault is how long a frame written to Task.Stream may
	// wait for others to share its append.
	StreamFlushDefault = 10 * time.Millisecond
	LaneDefault        = "default"
)

// Config configures a Worker. Only WorkerID is required.
type Config struct {
	// WorkerID names the worker pool; it is stable across restarts and
	// shared by every process of the pool.
	WorkerID string
	// InstanceID names this process; the default is WorkerID plus a
	// random suffix, unique per New.
	InstanceID string
	// Lanes are the lanes claimed from; the default is ["default"].
	Lanes []string
	// Capabilities are the tokens this worker offers; an execution is
	// claimed only when its required capabilities are a subset.
	Capabilities []string
	// Concurrency is the maximum number of handlers running at once
	// (default 10).
	Concurrency int
	// LeaseTTL is the lease requested at claim; it is renewed every
	// LeaseTTL/3 while the handler runs (default 30s).
	LeaseTTL time.Duration
	// ClaimBatch is the most tasks one claim call asks for (default
	// min(Concurrency, 200)). A claim never asks for more than the free
	// concurrency slots.
	ClaimBatch int
	// Claimers is how many claim calls may be in flight at once (default
	// 1). More overlap claim round trips when the database is remote and
	// the handlers are short; locally one claimer is fastest.
	Claimers int
	// Completers is how many completion reports (Complete or
	// CompleteMany calls) may be in flight at once (default
	// CompletersDefault). The ones beyond the first report only while a
	// call has been in flight for 2 ms, batching what finished meanwhile:
	// a slow report (a flow upstream's completion promotes its
	// downstreams in the same statement, several times the cost of a
	// plain one) does not hold back the results behind it, and fast ones
	// keep one completer and its larger batches.
	Completers int
	// PollInterval is how often an idle worker re-claims when the
	// transport delivers wake-ups (a fallback for lost hints; default
	// 200ms). Without wake-ups an idle worker polls with a backoff from
	// 50ms doubling up to PollBackoffMax, reset whenever it finds work.
	PollInterval time.Duration
	// PollBackoffMax caps the idle polling backoff without wake-ups
	// (default 1s).
	PollBackoffMax time.Duration
	// ShutdownGrace bounds how long a graceful stop waits for running
	// handlers before cancelling their contexts (default 30s).
	ShutdownGrace time.Duration
	// StreamFlush is how long a frame written to Task.Stream may wait
	// for more frames to batch with (default 10ms).
	StreamFlush time.Duration
	// Logger receives the worker's logs; the default discards them.
	Logger *slog.Logger
	// TracerProvider, when set (and not the no-op provider), records a
	// span per handler run, a child of the trace the execution carries
	// (package fftrace), and a child span per outcome report, sent as the
	// report request's traceparent. Nil leaves tracing off.
	TracerProvider trace.TracerProvider
}

// withDefaults returns c with zero fields defaulted, validated.
func (c Config) withDefaults() (Config, error) {
	if err := ff.ValidateIdentifier("worker_id", c.WorkerID); err != nil {
		return c, err
	}
	if c.InstanceID == "" {
		c.InstanceID = c.WorkerID + "-" + randomSuffix()
	}
	if err := ff.ValidateIdentifier("instance_id", c.InstanceID); err != nil {
		return c, err
	}
	if len(c.Lanes) == 0 {
		c.Lanes = []string{LaneDefault}
	}
	for _, l := range c.Lanes {
		if err := ff.ValidateLane(l); err != nil {
			return c, err
		}
	}
	caps, err := ff.NormalizeCapabilities("worker", c.Capabilities)
	if err != nil {
		return c, err
	}
	c.Capabilities = caps
	if c.Concurrency == 0 {
		c.Concurrency = ConcurrencyDefault
	}
	if c.Concurrency < 0 {
		return c, ff.Validation(ff.ErrInvalidInput, "concurrency %d: must be positive", c.Concurrency)
	}
	if c.LeaseTTL == 0 {
		c.LeaseTTL = LeaseTTLDefault
	}
	if ms := c.LeaseTTL.Milliseconds(); ms < ff.MinLeaseTTLMs || ms > ff.MaxLeaseTTLMs {
		return c, ff.Validation(ff.ErrInvalidInput, "lease ttl %s outside [%dms, %dms]", c.LeaseTTL, ff.MinLeaseTTLMs, ff.MaxLeaseTTLMs)
	}
	if c.ClaimBatch == 0 {
		c.ClaimBatch = min(c.Concurrency, ClaimBatchMax)
	}
	if c.ClaimBatch < 0 || c.ClaimBatch > ff.MaxClaimBatch {
		return c, ff.Validation(ff.ErrInvalidInput, "claim batch %d outside [1, %d]", c.ClaimBatch, ff.MaxClaimBatch)
	}
	c.ClaimBatch = min(c.ClaimBatch, c.Concurrency)
	if c.Claimers == 0 {
		c.Claimers = 1
	}
	if c.Claimers < 0 || c.Claimers > 16 {
		return c, ff.Validation(ff.ErrInvalidInput, "claimers %d outside [1, 16]", c.Claimers)
	}
	if c.Completers == 0 {
		c.Completers = CompletersDefault
	}
	if c.Completers < 0 || c.Completers > 16 {
		return c, ff.Validation(ff.ErrInvalidInput, "completers %d outside [1, 16]", c.Completers)
	}
	if c.PollInterval <= 0 {
		c.PollInterval = PollIntervalDefault
	}
	if c.PollBackoffMax <= 0 {
		c.PollBackoffMax = PollBackoffMaxDefault
	}
	if c.ShutdownGrace <= 0 {
		c.ShutdownGrace = ShutdownGraceDefault
	}
	if c.StreamFlush <= 0 {
		c.StreamFlush = StreamFlushDefault
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

func randomSuffix() string {
	var b [6]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}
