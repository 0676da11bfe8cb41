package worker

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// fakeClock is a clock whose Sleep returns at once, moving the time
// forward by the wait and recording it: retry loops run through their
// backoffs without sleeping.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) bool {
	c.mu.Lock()
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	c.mu.Unlock()
	return ctx.Err() == nil
}

func (c *fakeClock) set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

func (c *fakeClock) waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

// logRecords is a slog handler that keeps every record.
type logRecords struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (l *logRecords) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecords) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	l.recs = append(l.recs, r.Clone())
	l.mu.Unlock()
	return nil
}
func (l *logRecords) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecords) WithGroup(string) slog.Handler      { return l }

// at returns the attributes of the records at level, one map each.
func (l *logRecords) at(level slog.Level) []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, r := range l.recs {
		if r.Level != level {
			continue
		}
		m := map[string]any{"msg": r.Message}
		r.Attrs(func(a slog.Attr) bool {
			m[a.Key] = a.Value.Any()
			return true
		})
		out = append(out, m)
	}
	return out
}

// scripted is a Transport whose lease-bound calls answer from a script.
// Unscripted methods panic (the embedded nil interface).
type scripted struct {
	Transport
	mu       sync.Mutex
	calls    map[string]int
	complete func(n int, p backend.CompleteParams) error // n counts calls per handle, from 1
	fail     func(n int) error
	renew    func(n int) error
	release  func(ps []backend.ReleaseClaimParams) []error
	state    ff.PublicState // what ReadExecutionState answers; "" = active
	perKey   map[string]int
	released []backend.ReleaseClaimParams
	failed   []backend.FailParams
}

func newScripted() *scripted { return &scripted{calls: map[string]int{}, perKey: map[string]int{}} }

// count records a call of op on handle h and returns how many there were.
func (s *scripted) count(op string, h ff.Handle) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[op]++
	s.perKey[op+"/"+h.Lease.ExecutionID.String()]++
	return s.perKey[op+"/"+h.Lease.ExecutionID.String()]
}

func (s *scripted) callsOf(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

func (s *scripted) Complete(_ context.Context, p backend.CompleteParams) error {
	return s.complete(s.count("complete", p.Handle), p)
}

func (s *scripted) CompleteMany(_ context.Context, ps []backend.CompleteParams) []error {
	s.mu.Lock()
	s.calls["complete_many"]++
	s.mu.Unlock()
	errs := make([]error, len(ps))
	for i, p := range ps {
		errs[i] = s.complete(s.count("complete", p.Handle), p)
	}
	return errs
}

func (s *scripted) Fail(_ context.Context, p backend.FailParams) (ff.FailOutcome, error) {
	s.mu.Lock()
	s.failed = append(s.failed, p)
	s.mu.Unlock()
	return ff.FailOutcome{}, s.fail(s.count("fail", p.Handle))
}

func (s *scripted) Delay(_ context.Context, p backend.DelayParams) error {
	return s.fail(s.count("delay", p.Handle))
}

func (s *scripted) Renew(_ context.Context, p backend.RenewParams) (backend.LeaseRenewal, error) {
	return backend.LeaseRenewal{}, s.renew(s.count("renew", p.Handle))
}

func (s *scripted) ReadExecutionState(context.Context, backend.ReadExecutionStateParams) (ff.PublicState, error) {
	if s.state != "" {
		return s.state, nil
	}
	return ff.PublicActive, nil
}

func (s *scripted) ReleaseClaims(_ context.Context, ps []backend.ReleaseClaimParams) []error {
	s.mu.Lock()
	s.calls["release"]++
	s.released = append(s.released, ps...)
	s.mu.Unlock()
	if s.release != nil {
		return s.release(ps)
	}
	return make([]error, len(ps))
}

// newTestWorker returns a worker over tr on a fake clock, with maximal
// jitter (every wait is its ceiling) and its logs kept in logs.
func newTestWorker(t *testing.T, tr Transport) (*Worker, *fakeClock, *logRecords) {
	t.Helper()
	logs := &logRecords{}
	w, err := New(tr, Config{WorkerID: "w", LeaseTTL: 30 * time.Second, Logger: slog.New(logs)})
	require.NoError(t, err)
	clk := newFakeClock()
	w.clock, w.rnd = clk, func() float64 { return 1 }
	w.ioCtx = context.Background()
	w.hardCtx = context.Background()
	return w, clk, logs
}

// leasedTask is a task of w whose lease ends at end.
func leasedTask(w *Worker, n int, end time.Time) *Task {
	id := ff.NewExecutionID("default")
	t := newTask(w, backend.ClaimedTask{ExecutionID: id, Kind: "k", AttemptIndex: uint32(n),
		Handle: ff.Handle{Lease: ff.Lease{ExecutionID: id}}})
	t.ctx, t.cancel = context.WithCancelCause(context.Background())
	t.setLeaseExpiry(end)
	return t
}

// transportErr is what the HTTP client returns while the server is down.
func transportErr() error {
	return ff.Transport("POST /v1/tasks/complete", context.DeadlineExceeded, true)
}
