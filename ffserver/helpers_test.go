package ffserver_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/backend/postgres"
	"github.com/flowfabric-go/flowfabric/backend/sqlite"
	"github.com/flowfabric-go/flowfabric/clock"
	"github.com/flowfabric-go/flowfabric/ffserver"
	"github.com/flowfabric-go/flowfabric/internal/pgtest"
)

// storeKind is one of the two stores every behaviour is tested on.
type storeKind struct {
	name string
	// url returns a fresh database for the test (a temporary SQLite file
	// or a Postgres schema dropped at cleanup).
	url func(t *testing.T) string
}

var kinds = []storeKind{
	{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "ff.db") }},
	{"postgres", func(t *testing.T) string { return pgtest.Schema(t) }},
}

// eachStore runs f as parallel subtests, one per store.
func eachStore(t *testing.T, f func(t *testing.T, k storeKind)) {
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			f(t, k)
		})
	}
}

// openStore opens a migrated store of kind k on a fresh database, driven
// by c, and closes it when the test ends.
func openStore(t *testing.T, k storeKind, c clock.Clock) backend.Backend {
	t.Helper()
	var b backend.Backend
	var err error
	if k.name == "sqlite" {
		b, err = sqlite.Open(t.Context(), sqlite.Options{Path: k.url(t), Clock: c, AutoMigrate: true})
	} else {
		b, err = postgres.Open(t.Context(), postgres.Options{URL: k.url(t), Clock: c, AutoMigrate: true})
	}
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// testSecret seeds the waitpoint signing key of test servers (a Postgres
// server refuses to start without one).
var testSecret = strings.Repeat("5e", 32)

// openServer opens a server on cfg and closes it when the test ends.
func openServer(t *testing.T, cfg ffserver.Config) *ffserver.Server {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quiet()
	}
	if cfg.WaitpointHMACSecret == "" {
		cfg.WaitpointHMACSecret = testSecret
	}
	srv, err := ffserver.Open(t.Context(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

// recorder passes every call through to a real store and notes the
// calls that mark the shutdown order, with signals a test can wait on
// instead of sleeping.
type recorder struct {
	backend.Backend
	pollLane string

	mu     sync.Mutex
	events []string

	leading    chan struct{} // closed when leadership was first acquired
	leadOnce   sync.Once
	subscribed chan struct{} // receives when pollLane is subscribed
	expired    chan int      // receives each sweep that expired leases
	closed     bool
}

func newRecorder(b backend.Backend, pollLane string) *recorder {
	return &recorder{Backend: b, pollLane: pollLane, leading: make(chan struct{}),
		subscribed: make(chan struct{}, 1), expired: make(chan int, 16)}
}

func (r *recorder) note(e string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

// requireOrder asserts that each event happened, the first of each in
// the order given.
func (r *recorder) requireOrder(t *testing.T, events ...string) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	last := -1
	for _, e := range events {
		i := slices.Index(r.events, e)
		require.Greater(t, i, last, "%q out of order in %v", e, r.events)
		last = i
	}
}

func (r *recorder) Complete(ctx context.Context, p backend.CompleteParams) error {
	err := r.Backend.Complete(ctx, p)
	r.note("complete")
	return err
}

func (r *recorder) CompleteMany(ctx context.Context, ps []backend.CompleteParams) []error {
	errs := r.Backend.CompleteMany(ctx, ps)
	r.note("complete")
	return errs
}

func (r *recorder) ExpireLeases(ctx context.Context, p backend.SweepParams) (int, error) {
	n, err := r.Backend.ExpireLeases(ctx, p)
	if n > 0 {
		r.note("lease expired")
		select {
		case r.expired <- n:
		default:
		}
	}
	return n, err
}

func (r *recorder) TryAcquireLeader(ctx context.Context, p backend.LeaderParams) (backend.LeaderLease, error) {
	l, err := r.Backend.TryAcquireLeader(ctx, p)
	if err != nil || l == nil {
		return l, err
	}
	r.leadOnce.Do(func() { close(r.leading) })
	return &recordedLease{LeaderLease: l, r: r}, nil
}

func (r *recorder) SubscribeWork(ctx context.Context, p backend.SubscribeWorkParams) (<-chan struct{}, func()) {
	ch, cancel := r.Backend.SubscribeWork(ctx, p)
	if slices.Equal(p.Lanes, []string{r.pollLane}) {
		select {
		case r.subscribed <- struct{}{}:
		default:
		}
	}
	return ch, cancel
}

func (r *recorder) Close() error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	return r.Backend.Close()
}

func (r *recorder) wasClosed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

// recordedLease notes when the reconcilers give leadership back, which
// the supervisor does only after every reconciler has returned.
type recordedLease struct {
	backend.LeaderLease
	r *recorder
}

func (l *recordedLease) Release(ctx context.Context) error {
	l.r.note("reconcilers stopped")
	return l.LeaderLease.Release(ctx)
}
