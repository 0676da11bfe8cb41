// Package instrument adds Prometheus metrics to a backend.Backend without
// touching it: Wrap returns a decorator that counts lifecycle operations
// by lane and observes claim latency, and registers a collector that
// reports queue depth by lane and public state at scrape time.
// ReconcilerObserver counts reconciler sweeps for the engine. Start with
// [Wrap]; package ffserver applies it for you.
//
// The lane label is bounded: a lane is labelled on its own only once it
// is known to exist (an execution was created on it, a claim handed out a
// task from it, or the queue-depth scrape listed it), and only for the
// first WithMaxLaneLabels lanes (default 100); every other lane, including
// any lane name a claim sent that nobody created, is counted under
// OtherLane ("_other"). So /metrics grows with the lanes in use, never
// with the lane names clients send.
//
// Metrics (all prefixed ff_):
//
//	ff_executions_created_total{lane}          new executions (idempotent duplicates excluded)
//	ff_executions_claimed_total{lane}          attempts handed to workers by Claim
//	ff_executions_completed_total{lane}        acknowledged completions (a replayed complete counts again)
//	ff_executions_failed_total{lane}           Fail calls that ended the execution
//	ff_executions_retried_total{lane}          Fail calls that scheduled a retry
//	ff_claim_duration_seconds{lane}            Claim latency; lane is "_multi" for multi-lane claims, "_other" for a lane not labelled
//	ff_backend_errors_total{op,kind}           errors returned by the instrumented operations
//	ff_queue_depth{lane,public_state}          executions per lane and public state (scrape time)
//	ff_queue_depth_scrape_errors_total         failed queue-depth scrapes
//	ff_reconciler_runs_total{reconciler}       reconciler sweeps
//	ff_reconciler_errors_total{reconciler}     failed sweeps
//	ff_reconciler_items_total{reconciler}      items changed by sweeps
//	ff_reconciler_duration_seconds{reconciler} sweep latency
//	ff_reconciler_leader                       1 while this process leads the reconcilers
//	ff_schedule_ticks_total{outcome}           schedule ticks by outcome: fired, duplicate (already created), skipped
//	ff_schedule_fire_lag_seconds               per sweep that fired ticks, how late its oldest tick fired
//	ff_events_written_total                    outbox rows ever written, by every process (scrape time)
//	ff_events_read_total{type}                 events handed to readers
//	ff_events_read_lag_seconds                 per non-empty read, the age of the newest event it returned
//	ff_operator_actions_total{action}          operator actions that changed something
//	ff_suspensions_total{outcome}              Suspend calls: suspended, already_satisfied
//	ff_signals_total{effect}                   accepted signals by effect (duplicate for a repeated key)
//	ff_stream_frames_appended_total{tier}      output frames appended: durable, best_effort
//	ff_stream_purged_total                     streams whose frames the retention sweep deleted
//
// The server adds ff_stream_followers (stream reads following a stream).
package instrument

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// multiLane labels a claim over more than one lane, keeping the claim
// histogram's cardinality at one series per lane.
const multiLane = "_multi"

// Backend is the instrumented decorator. Every method not overridden here
// passes straight through to the wrapped backend.
type Backend struct {
	backend.Backend
	m       *lifecycleMetrics
	sched   *scheduleMetrics
	ev      *eventMetrics
	flows   *flowMetrics
	streams *streamMetrics
	wp      *waitpointMetrics
	budget  *budgetMetrics
	lanes   *laneLabels
}

var _ backend.Backend = (*Backend)(nil)

// Option tunes Wrap.
type Option func(*options)

type options struct{ maxLanes int }

// WithMaxLaneLabels caps the lanes labelled on their own (default
// DefaultMaxLaneLabels); n <= 0 keeps the default.
func WithMaxLaneLabels(n int) Option {
	return func(o *options) { o.maxLanes = n }
}

// Wrap instruments b and registers its metrics (and the queue-depth
// collector) in reg. Wrapping twice on one registry shares the counters
// (each wrapper keeps its own cap of lane labels).
func Wrap(b backend.Backend, reg prometheus.Registerer, opts ...Option) backend.Backend {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	lanes := newLaneLabels(o.maxLanes)
	m := newLifecycleMetrics(reg)
	registerCollector(reg, newQueueDepthCollector(b, lanes))
	registerCollector(reg, newFlowStatsCollector(b))
	if s := b.Capabilities().Supports; s.BudgetAdmin && s.QuotaAdmin {
		registerCollector(reg, newAdmissionCollector(b))
	}
	return &Backend{Backend: b, m: m, sched: newScheduleMetrics(reg), ev: newEventMetrics(reg, b), flows: newFlowMetrics(reg),
		streams: newStreamMetrics(reg), wp: newWaitpointMetrics(reg), budget: newBudgetMetrics(reg, o.maxLanes), lanes: lanes}
}

// registerCollector registers c once per registry.
func registerCollector(reg prometheus.Registerer, c prometheus.Collector) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if !errors.As(err, &are) {
			panic(err)
		}
	}
}

// Unwrap returns the wrapped backend.
func (b *Backend) Unwrap() backend.Backend { return b.Backend }

func laneOr(l string) string {
	if l == "" {
		return "default"
	}
	return l
}

func (b *Backend) CreateExecution(ctx context.Context, p backend.CreateExecutionParams) (backend.CreateExecutionResult, error) {
	res, err := b.Backend.CreateExecution(ctx, p)
	if err != nil {
		b.m.fail("create_execution", err)
		return res, err
	}
	if !res.Duplicate {
		b.m.created.WithLabelValues(b.lanes.exists(laneOr(p.Lane))).Inc()
	}
	return res, nil
}

func (b *Backend) Claim(ctx context.Context, p backend.ClaimParams) ([]backend.ClaimedTask, error) {
	start := time.Now()
	tasks, err := b.Backend.Claim(ctx, p)
	lane := multiLane
	switch len(p.Lanes) {
	case 0:
		lane = b.lanes.label("default")
	case 1:
		lane = b.lanes.label(p.Lanes[0])
	}
	b.m.claimDuration.WithLabelValues(lane).Observe(time.Since(start).Seconds())
	if err != nil {
		b.m.fail("claim", err)
		return tasks, err
	}
	for _, t := range tasks {
		b.m.claimed.WithLabelValues(b.lanes.exists(t.Lane)).Inc()
	}
	return tasks, nil
}

func (b *Backend) Complete(ctx context.Context, p backend.CompleteParams) error {
	err := b.Backend.Complete(ctx, p)
	if err != nil {
		b.m.fail("complete", err)
		return err
	}
	b.m.completed.WithLabelValues(b.lanes.label(p.Handle.Lease.Lane)).Inc()
	return nil
}

func (b *Backend) CompleteMany(ctx context.Context, ps []backend.CompleteParams) []error {
	errs := b.Backend.CompleteMany(ctx, ps)
	for i, p := range ps {
		var err error
		if i < len(errs) {
			err = errs[i]
		}
		if err != nil {
			b.m.fail("complete_many", err)
			continue
		}
		b.m.completed.WithLabelValues(b.lanes.label(p.Handle.Lease.Lane)).Inc()
	}
	return errs
}

func (b *Backend) Fail(ctx context.Context, p backend.FailParams) (ff.FailOutcome, error) {
	out, err := b.Backend.Fail(ctx, p)
	if err != nil {
		b.m.fail("fail", err)
		return out, err
	}
	if out.RetryScheduled {
		b.m.retried.WithLabelValues(b.lanes.label(p.Handle.Lease.Lane)).Inc()
	} else {
		b.m.failed.WithLabelValues(b.lanes.label(p.Handle.Lease.Lane)).Inc()
	}
	return out, nil
}
