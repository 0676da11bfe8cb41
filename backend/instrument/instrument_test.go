package instrument_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/backend/instrument"
	"github.com/flowfabric-go/flowfabric/backend/sqlite"
	"github.com/flowfabric-go/flowfabric/internal/clock"
)

func openSQLite(t *testing.T) (backend.Backend, *clock.Fake) {
	fake := clock.NewFake(time.UnixMilli(1_700_000_000_000))
	b, err := sqlite.Open(context.Background(), sqlite.Options{
		Path: filepath.Join(t.TempDir(), "ff.db"), Clock: fake, AutoMigrate: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	return b, fake
}

// values gathers reg into "name{k=v,...}" → value (counters, gauges,
// and histogram sample counts as name_count).
func values(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			sort.Strings(labels)
			key := mf.GetName() + "{" + strings.Join(labels, ",") + "}"
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				out[key] = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				out[key] = m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				out[mf.GetName()+"_count{"+strings.Join(labels, ",")+"}"] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

func TestWrapCountsLifecycleByLane(t *testing.T) {
	t.Parallel()
	raw, _ := openSQLite(t)
	reg := prometheus.NewRegistry()
	b := instrument.Wrap(raw, reg)
	ctx := t.Context()

	retry := &ff.ExecutionPolicy{Retry: &ff.RetryPolicy{MaxRetries: 3, Backoff: ff.BackoffStrategy{Type: "fixed", DelayMs: 10}}}
	for _, p := range []backend.CreateExecutionParams{
		{Kind: "k", Lane: "a", IdempotencyKey: "once"},
		{Kind: "k", Lane: "a", IdempotencyKey: "once"}, // duplicate: not counted
		{Kind: "k", Lane: "a", Policy: retry},
		{Kind: "k", Lane: "a"},
		{Kind: "k"}, // default lane
	} {
		_, err := b.CreateExecution(ctx, p)
		require.NoError(t, err)
	}
	_, err := b.CreateExecution(ctx, backend.CreateExecutionParams{Lane: "a"}) // no kind
	require.Error(t, err)

	tasks, err := b.Claim(ctx, backend.ClaimParams{WorkerID: "w", Lanes: []string{"a"}, Max: 10})
	require.NoError(t, err)
	require.Len(t, tasks, 3)
	_, err = b.Claim(ctx, backend.ClaimParams{WorkerID: "w", Lanes: []string{"a", "default"}, Max: 10})
	require.NoError(t, err)

	require.NoError(t, b.Complete(ctx, backend.CompleteParams{Handle: tasks[0].Handle}))
	out, err := b.Fail(ctx, backend.FailParams{Handle: tasks[1].Handle, Reason: "retry me"})
	require.NoError(t, err)
	require.True(t, out.RetryScheduled)
	out, err = b.Fail(ctx, backend.FailParams{Handle: tasks[2].Handle, Reason: "done", Classification: ff.FailurePermanent})
	require.NoError(t, err)
	require.False(t, out.RetryScheduled)
	// A stale write is an error, counted by kind, not a completion.
	errs := b.CompleteMany(ctx, []backend.CompleteParams{{Handle: tasks[2].Handle}})
	require.Error(t, errs[0])

	v := values(t, reg)
	require.Equal(t, 3.0, v["ff_executions_created_total{lane=a}"])
	require.Equal(t, 1.0, v["ff_executions_created_total{lane=default}"])
	require.Equal(t, 3.0, v["ff_executions_claimed_total{lane=a}"])
	require.Equal(t, 1.0, v["ff_executions_claimed_total{lane=default}"])
	require.Equal(t, 1.0, v["ff_executions_completed_total{lane=a}"])
	require.Equal(t, 1.0, v["ff_executions_retried_total{lane=a}"])
	require.Equal(t, 1.0, v["ff_executions_failed_total{lane=a}"])
	require.Equal(t, 1.0, v["ff_claim_duration_seconds_count{lane=a}"])
	require.Equal(t, 1.0, v["ff_claim_duration_seconds_count{lane=_multi}"])
	require.Equal(t, 1.0, v["ff_backend_errors_total{kind=invalid_input,op=create_execution}"])
	require.Equal(t, 1.0, sumPrefix(v, "ff_backend_errors_total{kind=", "op=complete_many}"))

	// Queue depth at gather time: the retried one is delayed; a, default
	// have nothing else queued (the default-lane one is active).
	require.Equal(t, 1.0, v["ff_queue_depth{lane=a,public_state=delayed}"])
	require.Equal(t, 1.0, v["ff_queue_depth{lane=default,public_state=active}"])
	require.Equal(t, 0.0, v["ff_queue_depth_scrape_errors_total{}"])

	// Pass-through methods reach the wrapped backend.
	st, err := b.ReadExecutionState(ctx, backend.ReadExecutionStateParams{ExecutionID: tasks[0].ExecutionID})
	require.NoError(t, err)
	require.Equal(t, ff.PublicCompleted, st)
	require.Same(t, raw, b.(*instrument.Backend).Unwrap())
}

func sumPrefix(v map[string]float64, prefix, suffix string) float64 {
	var n float64
	for k, x := range v {
		if strings.HasPrefix(k, prefix) && strings.HasSuffix(k, suffix) {
			n += x
		}
	}
	return n
}

// brokenLanes fails ListLanes, as a store outage would.
type brokenLanes struct{ backend.Backend }

func (brokenLanes) ListLanes(context.Context, backend.ListLanesParams) (backend.LanePage, error) {
	return backend.LanePage{}, ff.Transport("list lanes", errors.New("down"), true)
}

func TestQueueDepthScrapeErrorIsCounted(t *testing.T) {
	t.Parallel()
	raw, _ := openSQLite(t)
	reg := prometheus.NewRegistry()
	instrument.Wrap(brokenLanes{raw}, reg)
	values(t, reg)
	v := values(t, reg)
	require.Equal(t, 2.0, v["ff_queue_depth_scrape_errors_total{}"])
}

func TestWrapTwiceSharesRegistry(t *testing.T) {
	t.Parallel()
	raw, _ := openSQLite(t)
	reg := prometheus.NewRegistry()
	b1 := instrument.Wrap(raw, reg)
	b2 := instrument.Wrap(raw, reg)
	ctx := t.Context()
	for _, b := range []backend.Backend{b1, b2} {
		_, err := b.CreateExecution(ctx, backend.CreateExecutionParams{Kind: "k"})
		require.NoError(t, err)
	}
	require.Equal(t, 2.0, values(t, reg)["ff_executions_created_total{lane=default}"])
}

func TestReconcilerObserver(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	o := instrument.NewReconcilerObserver(reg)
	o.Observe("lease_expiry", 3, nil, 5*time.Millisecond)
	o.Observe("lease_expiry", 0, nil, time.Millisecond)
	o.Observe("delayed_promoter", 0, errors.New("db down"), time.Millisecond)
	o.ObserveLeader(true)

	v := values(t, reg)
	require.Equal(t, 2.0, v["ff_reconciler_runs_total{reconciler=lease_expiry}"])
	require.Equal(t, 3.0, v["ff_reconciler_items_total{reconciler=lease_expiry}"])
	require.Equal(t, 0.0, v["ff_reconciler_errors_total{reconciler=lease_expiry}"])
	require.Equal(t, 1.0, v["ff_reconciler_errors_total{reconciler=delayed_promoter}"])
	require.Equal(t, 0.0, v["ff_reconciler_items_total{reconciler=delayed_promoter}"])
	require.Equal(t, 2.0, v["ff_reconciler_duration_seconds_count{reconciler=lease_expiry}"])
	require.Equal(t, 1.0, v["ff_reconciler_leader{}"])
	o.ObserveLeader(false)
	require.Equal(t, 0.0, values(t, reg)["ff_reconciler_leader{}"])

	// A nil observer is a no-op.
	var none *instrument.ReconcilerObserver
	none.Observe("x", 1, nil, 0)
	none.ObserveLeader(true)
}

// Claims on lane names nobody created add no series: they are counted
// under the other bucket, however many names a client invents.
func TestUnknownClaimLanesShareOneSeries(t *testing.T) {
	t.Parallel()
	raw, _ := openSQLite(t)
	reg := prometheus.NewRegistry()
	b := instrument.Wrap(raw, reg)
	ctx := t.Context()
	_, err := b.CreateExecution(ctx, backend.CreateExecutionParams{Kind: "k", Lane: "real"})
	require.NoError(t, err)
	for i := range 200 {
		_, err := b.Claim(ctx, backend.ClaimParams{WorkerID: "w", Lanes: []string{fmt.Sprintf("made-up-%d", i)}})
		require.NoError(t, err)
	}
	_, err = b.Claim(ctx, backend.ClaimParams{WorkerID: "w", Lanes: []string{"real"}})
	require.NoError(t, err)

	v := values(t, reg)
	require.Equal(t, 200.0, v["ff_claim_duration_seconds_count{lane=_other}"])
	require.Equal(t, 1.0, v["ff_claim_duration_seconds_count{lane=real}"])
	for k := range v {
		require.NotContains(t, k, "made-up", "a series for a lane nobody created")
	}
}

// Beyond the cap, lanes that exist are summed under the other bucket, in
// the counters and in the queue depth alike.
func TestLaneLabelCap(t *testing.T) {
	t.Parallel()
	raw, _ := openSQLite(t)
	reg := prometheus.NewRegistry()
	b := instrument.Wrap(raw, reg, instrument.WithMaxLaneLabels(3))
	ctx := t.Context()
	for _, lane := range []string{"a", "b", "c", "d", "e", "a"} {
		_, err := b.CreateExecution(ctx, backend.CreateExecutionParams{Kind: "k", Lane: lane})
		require.NoError(t, err)
	}
	v := values(t, reg)
	require.Equal(t, 2.0, v["ff_executions_created_total{lane=a}"])
	require.Equal(t, 1.0, v["ff_executions_created_total{lane=c}"])
	require.Equal(t, 2.0, v["ff_executions_created_total{lane=_other}"])
	require.Equal(t, 2.0, v["ff_queue_depth{lane=a,public_state=waiting}"])
	require.Equal(t, 2.0, v["ff_queue_depth{lane=_other,public_state=waiting}"])
	require.NotContains(t, v, "ff_queue_depth{lane=d,public_state=waiting}")
	require.NotContains(t, v, "ff_executions_created_total{lane=e}")
}
