package ffserver

import (
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.opentelemetry.io/otel/trace"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/clock"
	"github.com/flowfabric-go/flowfabric/engine"
	"github.com/flowfabric-go/flowfabric/server"
	"github.com/flowfabric-go/flowfabric/server/ui"
)

// MigrateMode says whether Open applies pending schema migrations.
type MigrateMode int

const (
	// MigrateAuto migrates SQLite (the zero-setup path, creating the file)
	// and refuses an old Postgres schema, where migrating is an operator
	// step (`flowfabric migrate up`).
	MigrateAuto MigrateMode = iota
	// MigrateAlways applies pending migrations on either store.
	MigrateAlways
	// MigrateNever refuses an old schema (or a missing SQLite file) on
	// either store.
	MigrateNever
)

// applies reports whether the mode migrates a store of kind.
func (m MigrateMode) applies(kind string) bool {
	switch m {
	case MigrateAlways:
		return true
	case MigrateNever:
		return false
	}
	return kind == KindSQLite
}

// Defaults for Config's zero fields.
const (
	DefaultShutdownGrace     = 15 * time.Second
	DefaultClaimPollInterval = time.Second

	// openTimeout bounds opening (and migrating) the store.
	openTimeout = time.Minute
	// reconcilerStopTimeout bounds stopping the reconcilers after the
	// drain, whatever the caller's context says: the store is closed only
	// after they return.
	reconcilerStopTimeout = 5 * time.Second
)

// Config configures a Server. Zero values take the documented defaults;
// the zero Config runs the engine on ./flowfabric.db with no HTTP
// listener (mount Handler yourself).
type Config struct {
	// Backend, when set, is the store, used as is: the program keeps
	// ownership (Close does not close it) and Migrate, PostgresMaxConns
	// and Clock are ignored. Otherwise DatabaseURL is opened.
	Backend backend.Backend
	// DatabaseURL selects the store (see ParseDatabaseURL): postgres://…,
	// sqlite://path, a file path, or "" for ./flowfabric.db.
	DatabaseURL string
	// DatabaseReadURL, when set, is a read replica of the Postgres
	// DatabaseURL (postgres://…, streaming replication): the reads that
	// tolerate lag (list and describe executions, attempts, lanes and
	// schedules, completion replay) go there; claims, writes, sweeps and
	// leadership never do. Postgres only.
	DatabaseReadURL string
	// Migrate says whether Open applies pending migrations (default
	// MigrateAuto: SQLite yes, Postgres no).
	Migrate MigrateMode
	// PostgresMaxConns sizes the Postgres pool (0: pgx's default, at
	// least 4).
	PostgresMaxConns int32
	// StreamLimits caps output streams: frame size, frames per attempt,
	// summary size (zero fields: ff's defaults; ignored with Backend).
	StreamLimits ff.StreamLimits
	// Clock is the store's time source; nil is real time. Reconciler
	// intervals stay in real time.
	Clock clock.Clock

	// Logger receives the server's logs; nil is slog.Default(). It is
	// also the default logger of HTTP, Engine and NewWorker.
	Logger *slog.Logger
	// Registry receives every metric and is served at /metrics; nil is a
	// private registry with the Go and process collectors.
	Registry *prometheus.Registry
	// MetricsMaxLanes caps the lanes labelled on their own in metrics
	// (0: instrument.DefaultMaxLaneLabels).
	MetricsMaxLanes int
	// TracerProvider, when set (and not the no-op provider), traces the
	// engine: a span per HTTP request, per backend operation and, for
	// workers made by NewWorker, per handler run, joined into one trace
	// per execution (package fftrace; fftrace.Start builds one from the
	// OTEL_* environment). Nil is off. The program shuts it down, after
	// Stop.
	TracerProvider trace.TracerProvider

	// Addr is the HTTP listen address ("127.0.0.1:8080"; port 0 picks a
	// free one, see Server.Addr). "" means no listener: mount Handler on
	// the program's own server.
	Addr string
	// HTTP configures the API (auth, CORS, body limits, timeouts,
	// long-poll cap). Its Logger defaults to Logger; its Registry is
	// always Registry, so /metrics serves every metric.
	HTTP server.Config
	// ClaimPollInterval is the fallback re-check of idle long-polling
	// claims (default 1 s; see server.WithClaimPollInterval).
	ClaimPollInterval time.Duration
	// ShutdownGrace bounds the HTTP drain, and the drain of workers made
	// by NewWorker that set no grace of their own (default 15 s).
	ShutdownGrace time.Duration

	// DisableReconcilers makes this process serve the API (and run its
	// workers) without competing for reconciler leadership.
	DisableReconcilers bool
	// Engine configures the reconcilers: intervals, batch size, leader
	// name. Its Logger defaults to Logger; its Observer, when set, sees
	// every sweep alongside the reconciler metrics in Registry.
	Engine engine.Config

	// Schedules are the periodic schedules the program declares: Open
	// creates each, replaces it when its definition changed (paused
	// state and counters kept) or leaves it alone, and logs declared
	// schedules the program no longer declares (they are kept; see
	// engine.DeclareSchedules). The reconcilers fire every stored
	// schedule, declared or created over the API.
	Schedules []backend.CreateScheduleParams

	// WaitpointHMACSecret (hex, at least 32 bytes; FF_WAITPOINT_HMAC_SECRET)
	// seeds the waitpoint signing key, as kid WaitpointHMACKid (default
	// "k1"), when the store holds none. A stored key always wins: change
	// keys with a rotation. On Postgres, Open refuses to start when the
	// store holds no key and this is empty; the embedded store generates
	// one on first boot, stores it and logs a warning that once.
	WaitpointHMACSecret string
	WaitpointHMACKid    string
}

// Validate reports a configuration Open would refuse, without opening
// anything. Its errors match ff.ErrInvalidInput (errors.Is).
func (c Config) Validate() error {
	if c.Backend != nil && c.DatabaseURL != "" {
		return invalidf("ffserver: set Backend or DatabaseURL, not both")
	}
	if c.Backend == nil {
		if _, err := ParseDatabaseURL(c.DatabaseURL); err != nil {
			return err
		}
	}
	if err := c.validateReadURL(); err != nil {
		return err
	}
	if c.Migrate < MigrateAuto || c.Migrate > MigrateNever {
		return invalidf("ffserver: unknown migrate mode %d", c.Migrate)
	}
	for _, n := range []struct {
		name string
		v    int64
	}{
		{"postgres max conns", int64(c.PostgresMaxConns)}, {"metrics max lanes", int64(c.MetricsMaxLanes)},
		{"claim poll interval", int64(c.ClaimPollInterval)}, {"shutdown grace", int64(c.ShutdownGrace)},
		{"max long polls", int64(c.HTTP.MaxLongPolls)},
	} {
		if n.v < 0 {
			return invalidf("ffserver: %s must not be negative", n.name)
		}
	}
	if err := c.Engine.Validate(); err != nil {
		return invalidf("%v", err)
	}
	if c.HTTP.PublicURL != "" {
		if _, err := ui.PublicOrigin(c.HTTP.PublicURL); err != nil {
			return invalidf("ffserver: %v", err)
		}
	}
	p := backend.SeedWaitpointKeyParams{Kid: c.WaitpointHMACKid, SecretHex: c.WaitpointHMACSecret}
	if _, err := p.Normalize(); err != nil {
		return invalidf("ffserver: waitpoint HMAC secret (FF_WAITPOINT_HMAC_SECRET): %v", err)
	}
	return nil
}

// withDefaults fills the zero fields Open needs filled.
func (c Config) withDefaults() Config {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Registry == nil {
		c.Registry = prometheus.NewRegistry()
		c.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	if c.ShutdownGrace == 0 {
		c.ShutdownGrace = DefaultShutdownGrace
	}
	if c.ClaimPollInterval == 0 {
		c.ClaimPollInterval = DefaultClaimPollInterval
	}
	if c.HTTP.Logger == nil {
		c.HTTP.Logger = c.Logger
	}
	c.HTTP.Registry = c.Registry
	if c.Engine.Logger == nil {
		c.Engine.Logger = c.Logger
	}
	return c
}
