package worker_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/backend/postgres"
	"github.com/flowfabric-go/flowfabric/backend/sqlite"
	"github.com/flowfabric-go/flowfabric/internal/clock"
	"github.com/flowfabric-go/flowfabric/internal/pgtest"
	"github.com/flowfabric-go/flowfabric/worker"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// waitTimeout bounds every wait for an asynchronous outcome; the machine
// is small and shared, so it is generous.
const waitTimeout = 20 * time.Second

// forEachBackend runs fn on a fresh SQLite file and a fresh Postgres
// schema, in parallel.
func forEachBackend(t *testing.T, fn func(t *testing.T, b backend.Backend)) {
	t.Helper()
	openers := []struct {
		name string
		open func(t *testing.T) backend.Backend
	}{{"sqlite", openSQLite}, {"postgres", openPostgres}}
	for _, o := range openers {
		t.Run(o.name, func(t *testing.T) {
			t.Parallel()
			fn(t, watch(o.open(t)))
		})
	}
}

func openSQLite(t *testing.T) backend.Backend {
	b, err := sqlite.Open(t.Context(), sqlite.Options{
		Path: filepath.Join(t.TempDir(), "ff.db"), AutoMigrate: true, Clock: clock.Real{},
	})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, b.Close()) })
	return b
}

func openPostgres(t *testing.T) backend.Backend {
	b, err := postgres.Open(t.Context(), postgres.Options{URL: pgtest.Schema(t), AutoMigrate: true})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, b.Close()) })
	return b
}

// testLogger sends warnings and errors to the test log (everything with
// FF_TEST_LOG=debug).
func testLogger(t *testing.T) *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv("FF_TEST_LOG") == "debug" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: level}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// startWorker builds a worker over tr, lets register add handlers, and
// runs it until the test ends.
func startWorker(t *testing.T, tr worker.Transport, cfg worker.Config, register func(w *worker.Worker)) *worker.Worker {
	t.Helper()
	if cfg.WorkerID == "" {
		cfg.WorkerID = "test-worker"
	}
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	w, err := worker.New(tr, cfg)
	require.NoError(t, err)
	register(w)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-errc:
			require.NoError(t, err)
		case <-time.After(waitTimeout):
			t.Error("worker Run did not return")
		}
	})
	return w
}

// submit creates an execution of kind with input (marshalled to JSON).
func submit(t *testing.T, b backend.Backend, kind string, input any, policy *ff.ExecutionPolicy) ff.ExecutionID {
	t.Helper()
	raw, err := json.Marshal(input)
	require.NoError(t, err)
	res, err := b.CreateExecution(t.Context(), backend.CreateExecutionParams{Kind: kind, Input: raw, Policy: policy})
	require.NoError(t, err)
	return res.ExecutionID
}

// retryPolicy retries up to n times with no backoff, so a retry is
// claimable at once (no delayed promotion needed).
func retryPolicy(n int) *ff.ExecutionPolicy {
	return &ff.ExecutionPolicy{Retry: &ff.RetryPolicy{MaxRetries: n, Backoff: ff.BackoffStrategy{Type: "fixed", DelayMs: 0}}}
}

// waitState waits until id is in state want. It reads the state again
// each time the backend announces a change (b comes from forEachBackend),
// so it never sleeps; waitTimeout only bounds a test that went wrong.
func waitState(t *testing.T, b backend.Backend, id ff.ExecutionID, want ff.PublicState) {
	t.Helper()
	w, ok := b.(*watched)
	require.True(t, ok, "waitState needs a backend from forEachBackend")
	timeout := time.NewTimer(waitTimeout)
	defer timeout.Stop()
	for {
		changed := w.changes.next() // taken before the read: no change is missed
		st, err := b.ReadExecutionState(t.Context(), backend.ReadExecutionStateParams{ExecutionID: id})
		require.NoError(t, err)
		if st == want {
			return
		}
		select {
		case <-changed:
		case <-timeout.C:
			t.Fatalf("execution %s: state %s, want %s", id, st, want)
		}
	}
}

// maintain runs the reconcilers' sweeps (lease expiry, delayed promotion)
// every few milliseconds until the test ends.
func maintain(t *testing.T, b backend.Backend) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			_, _ = b.ExpireLeases(ctx, backend.SweepParams{Limit: 100})
			_, _ = b.PromoteDelayed(ctx, backend.SweepParams{Limit: 100})
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

// signal is a channel closed once; its zero value is ready to use.
type signal struct {
	once sync.Once
	ch   chan struct{}
	done atomic.Bool
}

func newSignal() *signal { return &signal{} }

func (s *signal) c() chan struct{} {
	s.once.Do(func() { s.ch = make(chan struct{}) })
	return s.ch
}

func (s *signal) fire() {
	if s.done.CompareAndSwap(false, true) {
		close(s.c())
	}
}

func (s *signal) wait(t *testing.T) {
	t.Helper()
	select {
	case <-s.c():
	case <-time.After(waitTimeout):
		t.Fatal("timed out waiting for a signal")
	}
}

// pollingTransport hides the backend's SubscribeWork (so the worker polls)
// and counts completions and renewals.
type pollingTransport struct {
	worker.Transport
	completed    atomic.Int64
	completeMany atomic.Int64
	renew        atomic.Int64
	renewMany    atomic.Int64
}

func (p *pollingTransport) Renew(ctx context.Context, r backend.RenewParams) (backend.LeaseRenewal, error) {
	p.renew.Add(1)
	return p.Transport.Renew(ctx, r)
}

func (p *pollingTransport) RenewMany(ctx context.Context, rs []backend.RenewParams) []backend.RenewResult {
	p.renewMany.Add(1)
	return p.Transport.RenewMany(ctx, rs)
}

func (p *pollingTransport) Complete(ctx context.Context, c backend.CompleteParams) error {
	p.completed.Add(1)
	return p.Transport.Complete(ctx, c)
}

func (p *pollingTransport) CompleteMany(ctx context.Context, cs []backend.CompleteParams) []error {
	p.completeMany.Add(1)
	p.completed.Add(int64(len(cs)))
	return p.Transport.CompleteMany(ctx, cs)
}

// causeBox records a handler context's cancellation cause (or another
// error) once, and signals it.
type causeBox struct {
	v   atomic.Pointer[error]
	set signal
}

func (c *causeBox) put(err error) {
	if c.v.CompareAndSwap(nil, &err) {
		c.set.fire()
	}
}

func (c *causeBox) get() error {
	if p := c.v.Load(); p != nil {
		return *p
	}
	return nil
}

// wait waits until an error was put and returns it.
func (c *causeBox) wait(t *testing.T) error {
	t.Helper()
	c.set.wait(t)
	return c.get()
}

// counter counts events and lets a test wait for a count.
type counter struct {
	n       atomic.Int64
	changes *changes
}

func newCounter() *counter { return &counter{changes: newChanges()} }

func (c *counter) add(d int64) {
	c.n.Add(d)
	c.changes.notify()
}

func (c *counter) load() int64 { return c.n.Load() }

// waitFor waits until the count is at least n.
func (c *counter) waitFor(t *testing.T, n int64) {
	t.Helper()
	timeout := time.NewTimer(waitTimeout)
	defer timeout.Stop()
	for {
		changed := c.changes.next()
		if c.n.Load() >= n {
			return
		}
		select {
		case <-changed:
		case <-timeout.C:
			t.Fatalf("count %d, want %d", c.n.Load(), n)
		}
	}
}
