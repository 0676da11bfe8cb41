package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/worker"
)

// restart starts a new server on p's database and address, after p was
// killed: the worker's client keeps its URL.
func (p *serverProc) restart(t *testing.T, db database, extra ...string) *serverProc {
	t.Helper()
	addr := strings.TrimPrefix(p.URL, "http://")
	return startServer(t, db, append(extra, "--listen", addr)...)
}

// ledger records, per execution, the handler runs and the completion
// reports as the worker's transport saw them; tests wait on its changes.
type ledger struct {
	mu        sync.Mutex
	runs      map[ff.ExecutionID]int
	failed    map[ff.ExecutionID]int // completion tries refused by the transport
	completed map[ff.ExecutionID]bool
	held      map[ff.ExecutionID]bool // handlers waiting at the closed gate
	changed   chan struct{}           // closed and replaced at every change
}

func newLedger() *ledger {
	return &ledger{runs: map[ff.ExecutionID]int{}, failed: map[ff.ExecutionID]int{},
		completed: map[ff.ExecutionID]bool{}, held: map[ff.ExecutionID]bool{}, changed: make(chan struct{})}
}

// update applies fn under the lock and announces the change.
func (l *ledger) update(fn func()) {
	l.mu.Lock()
	fn()
	close(l.changed)
	l.changed = make(chan struct{})
	l.mu.Unlock()
}

// waitUntil waits until cond (called under the lock) holds, or d passes;
// it reports whether cond held.
func (l *ledger) waitUntil(d time.Duration, cond func() bool) bool {
	timeout := time.NewTimer(d)
	defer timeout.Stop()
	for {
		l.mu.Lock()
		ok, changed := cond(), l.changed
		l.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-changed:
		case <-timeout.C:
			return false
		}
	}
}

// recording is the worker's transport (the HTTP client), noting each
// completion entry's outcome in the ledger.
type recording struct {
	worker.Transport
	l *ledger
}

func (r *recording) note(h ff.Handle, err error) {
	id := h.Lease.ExecutionID
	r.l.update(func() {
		if err == nil {
			r.l.completed[id] = true
		} else {
			r.l.failed[id]++
		}
	})
}

func (r *recording) Complete(ctx context.Context, p backend.CompleteParams) error {
	err := r.Transport.Complete(ctx, p)
	r.note(p.Handle, err)
	return err
}

func (r *recording) CompleteMany(ctx context.Context, ps []backend.CompleteParams) []error {
	errs := r.Transport.CompleteMany(ctx, ps)
	for i, p := range ps {
		var err error
		if i < len(errs) {
			err = errs[i]
		}
		r.note(p.Handle, err)
	}
	return errs
}

// gate holds handlers while closed, noting the held executions in its
// ledger.
type gate struct {
	l    *ledger
	mu   sync.Mutex
	open chan struct{}
}

func newGate(l *ledger) *gate {
	g := &gate{l: l, open: make(chan struct{})}
	close(g.open)
	return g
}

func (g *gate) close() {
	g.mu.Lock()
	g.open = make(chan struct{})
	g.mu.Unlock()
	g.l.update(func() { g.l.held = map[ff.ExecutionID]bool{} })
}

func (g *gate) release() {
	g.mu.Lock()
	close(g.open)
	g.mu.Unlock()
}

// pass waits while the gate is closed.
func (g *gate) pass(ctx context.Context, id ff.ExecutionID) {
	g.mu.Lock()
	open := g.open
	g.mu.Unlock()
	select {
	case <-open:
		return
	default:
	}
	g.l.update(func() { g.l.held[id] = true })
	select {
	case <-open:
	case <-ctx.Done():
	}
}

// testLog sends the worker's warnings and errors to the test log, except
// the failed claims of an outage (one every poll).
func testLog(t *testing.T) *slog.Logger {
	h := slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})
	return slog.New(quietClaims{h})
}

type quietClaims struct{ slog.Handler }

func (q quietClaims) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "worker: claim failed" {
		return nil
	}
	return q.Handler.Handle(ctx, r)
}

func (q quietClaims) WithAttrs(as []slog.Attr) slog.Handler {
	return quietClaims{q.Handler.WithAttrs(as)}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// TestWorkerRidesOutServerRestarts: a worker drains executions while its
// server is killed (SIGKILL) and restarted twice. Each time, the server
// dies while the worker holds a full set of running handlers, which then
// finish while it is down, so their completions must wait for the next
// server. Every execution ends completed exactly once: no completion is
// dropped, and no handler runs again for an attempt whose handler had
// already finished. (The old SDK gave up on a completion after four tries,
// about 350 ms, so each restart dropped the held completions: they were
// reclaimed after their lease and ran a second time.)
func TestWorkerRidesOutServerRestarts(t *testing.T) {
	eachBackend(t, func(t *testing.T, db database) {
		const (
			n           = 240
			concurrency = 8
			restarts    = 2
			// minTries is the completion tries each held execution must
			// see during an outage: more than the old SDK's four.
			minTries = 6
		)
		srv := startServer(t, db, "--api-token", token)
		c := newClient(srv.URL, token)
		ids := make([]ff.ExecutionID, n)
		for i := range ids {
			res, err := c.CreateExecution(context.Background(), backend.CreateExecutionParams{
				Kind: "count", Lane: "restarts", Input: fmt.Appendf(nil, `{"i":%d}`, i)})
			require.NoError(t, err)
			ids[i] = res.ExecutionID
		}

		l := newLedger()
		g := newGate(l)
		w, err := worker.New(&recording{Transport: c, l: l}, worker.Config{WorkerID: "survivor", Lanes: []string{"restarts"},
			Concurrency: concurrency, LeaseTTL: 10 * time.Second, PollBackoffMax: 100 * time.Millisecond,
			Logger: testLog(t)})
		require.NoError(t, err)
		w.Register("count", func(ctx context.Context, tk *worker.Task) (any, error) {
			l.update(func() { l.runs[tk.ExecutionID]++ })
			g.pass(ctx, tk.ExecutionID)
			return map[string]uint32{"attempt": tk.AttemptIndex}, nil
		})
		done := make(chan error, 1)
		go func() { done <- w.Run(context.Background()) }()
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = w.Stop(ctx)
			<-done
		})

		for r := 1; r <= restarts; r++ {
			// Let a share of the work complete, then hold a full set of
			// handlers and kill the server under them.
			require.True(t, l.waitUntil(20*time.Second, func() bool { return len(l.completed) >= r*n/(restarts+1) }),
				"progress before restart %d", r)
			g.close()
			var held []ff.ExecutionID
			require.True(t, l.waitUntil(20*time.Second, func() bool {
				held = held[:0]
				for id := range l.held {
					held = append(held, id)
				}
				return len(held) == concurrency
			}), "a full set of handlers held before restart %d", r)
			srv.kill()
			g.release()
			// The held handlers finish while the server is down; their
			// completions must keep trying past the old four-try limit.
			kept := l.waitUntil(10*time.Second, func() bool {
				for _, id := range held {
					if l.failed[id] < minTries && !l.completed[id] {
						return false
					}
				}
				return true
			})
			l.mu.Lock()
			tries := map[string]int{}
			for _, id := range held {
				tries[id.String()] = l.failed[id]
			}
			l.mu.Unlock()
			require.True(t, kept, "restart %d: completions of the held handlers stopped trying: %v", r, tries)
			srv = srv.restart(t, db, "--api-token", token)
		}

		require.True(t, l.waitUntil(30*time.Second, func() bool { return len(l.completed) == n }), "every execution completed")
		for _, id := range ids {
			snap, err := c.DescribeExecution(context.Background(), backend.DescribeExecutionParams{ExecutionID: id})
			require.NoError(t, err)
			require.Equal(t, ff.PublicCompleted, snap.PublicState, "%s", id)
		}
		l.mu.Lock()
		for _, id := range ids {
			require.Equal(t, 1, l.runs[id], "execution %s: its handler ran %d times", id, l.runs[id])
		}
		l.mu.Unlock()
		require.Zero(t, w.Stats().ReportsAbandoned)
		require.Zero(t, w.Stats().RenewalsAbandoned)
	})
}
