package ffserver

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"

	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/backend/instrument"
	"github.com/flowfabric-go/flowfabric/backend/postgres"
	"github.com/flowfabric-go/flowfabric/engine"
	"github.com/flowfabric-go/flowfabric/fftrace"
	"github.com/flowfabric-go/flowfabric/server"
	"github.com/flowfabric-go/flowfabric/worker"
)

// phase is where a Server is in its one-way life.
type phase int

const (
	phaseOpen    phase = iota // built; nothing runs
	phaseStarted              // reconcilers, listener and workers run
	phaseStopped              // Stop began; nothing starts again
)

// Server is one FlowFabric engine inside a program: a store, its metrics,
// the reconcilers, the HTTP API and in-process workers. Build it with
// Open, run it with Start (or Run), stop it with Stop and release the
// store with Close. Its methods are safe for concurrent use.
type Server struct {
	cfg  Config
	log  *slog.Logger
	raw  backend.Backend // the store
	b    backend.Backend // raw, instrumented
	owns bool            // Open opened raw, so Close closes it
	api  *server.Server
	sup  *engine.Supervisor // nil with DisableReconcilers

	mu      sync.Mutex
	phase   phase
	workers []*worker.Worker
	// base is Start's context without its cancellation: the reconcilers
	// and workers run on it and are stopped by Stop, not by Start's ctx.
	base    context.Context
	running sync.WaitGroup // workers' Run calls

	http httpRun

	stopOnce  sync.Once
	stopErr   error
	closeOnce sync.Once
	closeErr  error
}

// Open opens (or adopts) the store, instruments it and builds the
// reconcilers and the HTTP API. It starts nothing: no goroutine runs and
// no port is bound until Start. Anything Open opened is closed again when
// it fails.
func Open(ctx context.Context, cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	s := &Server{cfg: cfg, log: cfg.Logger, http: newHTTPRun()}
	if err := s.openStore(ctx); err != nil {
		return nil, err
	}
	if err := s.assemble(); err != nil {
		s.closeStore()
		return nil, err
	}
	if err := s.declareSchedules(ctx); err != nil {
		s.closeStore()
		return nil, err
	}
	if err := s.seedWaitpointKey(ctx); err != nil {
		s.closeStore()
		return nil, err
	}
	return s, nil
}

// openStore adopts Config.Backend or opens DatabaseURL.
func (s *Server) openStore(ctx context.Context) error {
	if s.cfg.Backend != nil {
		s.raw = s.cfg.Backend
		return nil
	}
	db, err := ParseDatabaseURL(s.cfg.DatabaseURL)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, openTimeout)
	defer cancel()
	raw, err := db.Open(ctx, OpenOptions{Migrate: s.cfg.Migrate, Logger: s.log, Clock: s.cfg.Clock,
		PostgresMaxConns: s.cfg.PostgresMaxConns, PostgresReadURL: s.cfg.DatabaseReadURL, StreamLimits: s.cfg.StreamLimits})
	if err != nil {
		return err
	}
	s.raw, s.owns = raw, true
	return nil
}

// assemble builds everything over the store: the metrics decorator, the
// reconcilers' supervisor and the HTTP API, all sharing one registry.
func (s *Server) assemble() error {
	c := s.cfg
	s.b = instrument.Wrap(s.raw, c.Registry, instrument.WithMaxLaneLabels(c.MetricsMaxLanes))
	s.b = fftrace.Wrap(s.b, c.TracerProvider) // s.b itself when tracing is off
	if !c.DisableReconcilers {
		ec := c.Engine
		ec.Observer = withMetrics(instrument.NewReconcilerObserver(c.Registry), ec.Observer)
		ec.Schedules = s.scheduleStore()
		if s.b.Capabilities().Supports.Streams {
			ec.Streams = s.b
		}
		if s.b.Capabilities().Supports.Events {
			ec.Events = s.b
		}
		ec.Flows = s.flowStore()
		ec.Budgets = s.budgetStore()
		if s.b.Capabilities().Supports.Waitpoints {
			ec.Waitpoints = s.b
		}
		sup, err := engine.New(s.b, ec)
		if err != nil {
			return err
		}
		s.sup = sup
	}
	opts := []server.Option{server.WithShutdownGrace(c.ShutdownGrace), server.WithClaimPollInterval(c.ClaimPollInterval),
		server.WithTracerProvider(c.TracerProvider)}
	if s.sup != nil {
		opts = append(opts, server.WithLeadership(s.sup.Leading))
	}
	s.api = server.New(c.HTTP, s.b, opts...)
	return nil
}

// Backend is the instrumented store (and traced, with
// Config.TracerProvider): give it to code that creates executions and to
// workers, so their calls count in /metrics and appear in traces.
func (s *Server) Backend() backend.Backend { return s.b }

// Store is the store itself, without instrumentation.
func (s *Server) Store() backend.Backend { return s.raw }

// Postgres is the Postgres store, or nil when the store is another one.
func (s *Server) Postgres() *postgres.Backend {
	pg, _ := s.raw.(*postgres.Backend)
	return pg
}

// Handler is the HTTP API (/healthz, /metrics, /v1/…) to mount on the
// program's own server. Its routes are absolute, so mount it under a
// prefix with http.StripPrefix; auth, CORS and body limits apply inside
// it as when it owns the listener.
func (s *Server) Handler() http.Handler { return s.api }

// Supervisor is the reconcilers' supervisor (Leading tells whether this
// process sweeps), or nil with DisableReconcilers.
func (s *Server) Supervisor() *engine.Supervisor { return s.sup }

// Addr is the address the listener is bound to after Start, or nil
// without Config.Addr (or before Start).
func (s *Server) Addr() net.Addr { return s.http.addr() }

// Done is closed when serving on Config.Addr fails (the error is
// returned by Stop); a program that runs its own loop instead of Run
// selects on it next to its shutdown signal.
func (s *Server) Done() <-chan struct{} { return s.http.failed }

// closeStore closes the store if Open opened it.
func (s *Server) closeStore() error {
	if !s.owns {
		return nil
	}
	if err := s.raw.Close(); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	return nil
}
