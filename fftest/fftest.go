package fftest

import (
	"context"
	"encoding/hex"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/backend/postgres"
	"github.com/flowfabric-go/flowfabric/client"
	"github.com/flowfabric-go/flowfabric/clock"
	"github.com/flowfabric-go/flowfabric/engine"
	"github.com/flowfabric-go/flowfabric/ffserver"
	"github.com/flowfabric-go/flowfabric/internal/pgtest"
	"github.com/flowfabric-go/flowfabric/worker"
)

// realInterval is every reconciler's interval under WithRealClock.
const realInterval = 20 * time.Millisecond

// Engine is one engine under test. Its methods fail the test on any
// error, and must be called from the test's goroutine (Create and the
// readers excepted, which are safe anywhere).
type Engine struct {
	t    testing.TB
	opts options
	srv  *ffserver.Server
	fake *clock.Fake        // nil under WithRealClock
	sup  *engine.Supervisor // swept by hand in fake-clock mode
	hs   *httptest.Server   // with WithHTTP
	cl   *client.Client     // with WithHTTP
	url  string             // the store's URL or path
	log  *slog.Logger
	sig  signal          // wakes WaitFor
	ctx  context.Context // ends with the test
	stop context.CancelFunc

	mu      sync.Mutex
	workers []*running
}

// New starts an engine for the test and registers its cleanup: workers
// stopped, HTTP server closed, server stopped, store closed, Postgres
// schema dropped. It fails the test on any error.
func New(t testing.TB, opts ...Option) *Engine {
	t.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	e := &Engine{t: t, opts: o}
	e.ctx, e.stop = context.WithCancel(context.Background())
	e.url = e.database()
	cfg := e.serverConfig()
	srv, err := ffserver.Open(e.ctx, cfg)
	if err != nil {
		t.Fatalf("fftest: open engine: %v", err)
	}
	e.srv = srv
	t.Cleanup(e.cleanup)
	if err := e.start(); err != nil {
		t.Fatalf("fftest: start engine: %v", err)
	}
	return e
}

// database returns the store's URL: a Postgres schema, or a SQLite file
// in the test's temporary directory.
func (e *Engine) database() string {
	switch {
	case e.opts.pgURL != "":
		return pgtest.SchemaAt(e.t, e.opts.pgURL)
	case e.opts.pgFromEnv:
		return pgtest.Schema(e.t)
	}
	return filepath.Join(e.t.TempDir(), "ff.db")
}

func (e *Engine) serverConfig() ffserver.Config {
	log := e.opts.logger
	if log == nil {
		log = slog.New(newTestHandler(e.t))
	}
	e.log = log
	ec := e.opts.engine
	cfg := ffserver.Config{DatabaseURL: e.url, Migrate: ffserver.MigrateAlways, Logger: log,
		Schedules: e.opts.schedules, ShutdownGrace: 5 * time.Second, ClaimPollInterval: 50 * time.Millisecond,
		// A fresh signing key per test engine (Postgres refuses to start
		// without one; a stored key wins).
		WaitpointHMACSecret: hex.EncodeToString(ff.NewSecret())}
	if e.opts.realClock {
		for _, iv := range ec.Intervals() {
			if *iv.Value == 0 {
				*iv.Value = realInterval
			}
		}
	} else {
		e.fake = clock.NewFake(Epoch)
		cfg.Clock, cfg.DisableReconcilers = e.fake, true
	}
	cfg.Engine = ec
	return cfg
}

// start runs what the mode needs: the supervisor swept by hand (fake
// clock) or the server's background reconcilers (real clock), and the
// HTTP test server.
func (e *Engine) start() error {
	if e.fake != nil {
		ec := e.opts.engine
		ec.Logger = e.log
		sp := e.srv.Backend().Capabilities().Supports
		if sp.Schedules {
			ec.Schedules = e.srv.Backend()
		}
		if sp.BudgetAdmin && sp.QuotaAdmin {
			ec.Budgets = e.srv.Backend()
		}
		if e.srv.Backend().Capabilities().Supports.Waitpoints {
			ec.Waitpoints = e.srv.Backend()
		}
		sup, err := engine.New(e.srv.Backend(), ec)
		if err != nil {
			return err
		}
		e.sup = sup
	} else if err := e.srv.Start(e.ctx); err != nil {
		return err
	}
	if e.opts.http {
		e.hs = httptest.NewServer(e.srv.Handler())
		e.cl = client.New(e.hs.URL, client.WithHTTPClient(e.hs.Client()))
	}
	return nil
}

// cleanup stops everything in order; the store's schema (Postgres) is
// dropped by its own cleanup, registered earlier, so it runs after.
func (e *Engine) cleanup() {
	e.stopWorkers()
	if e.hs != nil {
		e.srv.Handler().(interface{ BeginShutdown() }).BeginShutdown()
		e.hs.Close()
	}
	if err := e.srv.Close(); err != nil {
		e.t.Errorf("fftest: close engine: %v", err)
	}
	e.stop()
	e.sig.close()
}

// EachStore runs f as parallel subtests "sqlite" and "postgres" (the
// latter on Postgres from the environment, as WithPostgresFromEnv).
func EachStore(t *testing.T, f func(t *testing.T, e *Engine), opts ...Option) {
	t.Helper()
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			o := opts
			if name == "postgres" {
				o = append(append([]Option{}, opts...), WithPostgresFromEnv())
			}
			f(t, New(t, o...))
		})
	}
}

// Backend is the engine's (instrumented) store: create executions and
// build workers over it.
func (e *Engine) Backend() backend.Backend { return e.srv.Backend() }

// Postgres is the Postgres store, or nil on SQLite.
func (e *Engine) Postgres() *postgres.Backend { return e.srv.Postgres() }

// DatabaseURL is the store's URL: a Postgres URL scoped to the test's
// schema, or the SQLite file's path.
func (e *Engine) DatabaseURL() string { return e.url }

// Server is the ffserver.Server under test.
func (e *Engine) Server() *ffserver.Server { return e.srv }

// URL is the HTTP API's base URL (WithHTTP; "" otherwise).
func (e *Engine) URL() string {
	if e.hs == nil {
		return ""
	}
	return e.hs.URL
}

// Client is a client of the HTTP API (WithHTTP; nil otherwise).
func (e *Engine) Client() *client.Client { return e.cl }

// Context ends when the test's cleanup begins stopping the engine.
func (e *Engine) Context() context.Context { return e.ctx }

// Create creates an execution (kind "test" when empty) and returns its
// id; it fails the test on error.
func (e *Engine) Create(p backend.CreateExecutionParams) ff.ExecutionID {
	e.t.Helper()
	if p.Kind == "" {
		p.Kind = "test"
	}
	res, err := e.Backend().CreateExecution(e.ctx, p)
	if err != nil {
		e.t.Fatalf("fftest: create %s: %v", p.Kind, err)
	}
	e.sig.notify()
	return res.ExecutionID
}

// The readers, so an *Engine is a Reader.

func (e *Engine) DescribeExecution(ctx context.Context, p backend.DescribeExecutionParams) (backend.ExecutionSnapshot, error) {
	return e.Backend().DescribeExecution(ctx, p)
}

func (e *Engine) GetExecutionResult(ctx context.Context, p backend.GetExecutionResultParams) ([]byte, error) {
	return e.Backend().GetExecutionResult(ctx, p)
}

func (e *Engine) ListAttempts(ctx context.Context, p backend.ListAttemptsParams) ([]ff.Attempt, error) {
	return e.Backend().ListAttempts(ctx, p)
}

func (e *Engine) ListExecutions(ctx context.Context, p backend.ListExecutionsParams) (backend.ExecutionPage, error) {
	return e.Backend().ListExecutions(ctx, p)
}

func (e *Engine) GetSchedule(ctx context.Context, p backend.GetScheduleParams) (ff.Schedule, error) {
	return e.Backend().GetSchedule(ctx, p)
}

var _ worker.Transport = backend.Backend(nil)
