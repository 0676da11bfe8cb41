package worker_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/worker"
)

// outage is a transport whose reports (complete, fail) fail as a
// restarting server's would, with a transport error, for the first
// `calls` of them; everything else goes through.
type outage struct {
	worker.Transport
	left   atomic.Int64 // failed reports still to come
	failed atomic.Int64
}

func newOutage(tr worker.Transport, calls int64) *outage {
	o := &outage{Transport: tr}
	o.left.Store(calls)
	return o
}

func (o *outage) down() bool {
	if o.left.Add(-1) >= 0 {
		o.failed.Add(1)
		return true
	}
	return false
}

func errDown() error {
	return ff.Transport("POST /v1/tasks/complete", errors.New("connect: connection refused"), true)
}

func (o *outage) Complete(ctx context.Context, p backend.CompleteParams) error {
	if o.down() {
		return errDown()
	}
	return o.Transport.Complete(ctx, p)
}

func (o *outage) CompleteMany(ctx context.Context, ps []backend.CompleteParams) []error {
	if o.down() {
		errs := make([]error, len(ps))
		for i := range errs {
			errs[i] = errDown()
		}
		return errs
	}
	return o.Transport.CompleteMany(ctx, ps)
}

func (o *outage) Fail(ctx context.Context, p backend.FailParams) (ff.FailOutcome, error) {
	if o.down() {
		return ff.FailOutcome{}, errDown()
	}
	return o.Transport.Fail(ctx, p)
}

// TestReportsRideOutAnOutage: a completion and a failure report that meet
// an outage of ten failed calls (the old SDK gave up after four, about
// 350 ms, and the work ran again) are retried until the engine answers:
// each execution ends once, its handler having run once.
func TestReportsRideOutAnOutage(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"complete", "fail"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			forEachBackend(t, func(t *testing.T, b backend.Backend) {
				o := newOutage(b, 10)
				var runs atomic.Int32
				w := startWorker(t, o, worker.Config{Concurrency: 1}, func(w *worker.Worker) {
					worker.SkipRetryWaits(w)
					w.Register("job", func(context.Context, *worker.Task) (any, error) {
						runs.Add(1)
						if kind == "fail" {
							return nil, worker.Permanent(errors.New("no"))
						}
						return "ok", nil
					})
				})
				id := submit(t, b, "job", nil, retryPolicy(3))
				want := ff.PublicCompleted
				if kind == "fail" {
					want = ff.PublicFailed
				}
				waitState(t, b, id, want)
				require.EqualValues(t, 10, o.failed.Load(), "the outage happened")
				require.EqualValues(t, 1, runs.Load(), "the handler ran once")
				attempts, err := b.ListAttempts(t.Context(), backend.ListAttemptsParams{ExecutionID: id})
				require.NoError(t, err)
				require.Len(t, attempts, 1, "no reclaim: the report got through under the first lease")
				require.Zero(t, w.Stats().ReportsAbandoned)
			})
		})
	}
}
