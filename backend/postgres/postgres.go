package postgres

import (
	"context"
	"log/slog"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/clock"
	"github.com/flowfabric-go/flowfabric/internal/wakeup"
)

// Options configure Open.
type Options struct {
	// URL is a libpq-style connection string (postgres://...).
	URL string
	// Clock, when set, is the time source for every statement (tests).
	// When nil the database clock is authoritative.
	Clock clock.Clock
	// AutoMigrate applies pending migrations at Open. Otherwise Open
	// refuses a schema that is not at this build's version.
	AutoMigrate bool
	// MaxConns sizes the pool (default: pgx's default, at least 4).
	MaxConns int32
	// ReadURL, when set, is a read replica of URL (streaming replication)
	// that serves the reads tolerating lag; see readroute.go for which.
	// Its pool is sized like the primary's (MaxConns, or pool_max_conns
	// in ReadURL).
	ReadURL string
	Logger  *slog.Logger
	// StreamLimits caps output streams (zero fields: the defaults).
	StreamLimits ff.StreamLimits
}

// Backend is the Postgres implementation of backend.Backend.
// Most budget and quota operations of backend.Budgets, and every
// operation of backend.Waitpoints, are promoted from embedded
// implementations shared by every store (godoc does not list them here).
type Backend struct {
	pool   *pgxpool.Pool
	read   *pgxpool.Pool // reads that tolerate lag; nil without Options.ReadURL
	clock  clock.Clock
	log    *slog.Logger
	hub    *wakeup.Hub
	notify *notifier
	limits ff.StreamLimits

	capMu   sync.RWMutex
	capSigs map[string]int32    // signature -> interned id (immutable rows)
	lanes   map[string]struct{} // lanes known to be registered

	admission backend.AdmissionCounter
	budgetOps
	waitpointOps

	closeOnce sync.Once
}

var _ backend.Backend = (*Backend)(nil)

// Open connects, checks (or migrates) the schema and returns the backend.
func Open(ctx context.Context, opts Options) (*Backend, error) {
	cfg, err := pgxpool.ParseConfig(opts.URL)
	if err != nil {
		return nil, ff.Validation(ff.ErrInvalidInput, "database url: %v", err)
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	} else if cfg.MaxConns < 4 {
		cfg.MaxConns = 4
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "flowfabric"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, ff.Transport("connect", err, true)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, ff.Transport("connect", err, true)
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	b := &Backend{
		pool:    pool,
		clock:   opts.Clock,
		log:     log,
		hub:     wakeup.New(),
		capSigs: map[string]int32{"": 0},
		lanes:   map[string]struct{}{},
		limits:  opts.StreamLimits.WithDefaults(),
	}
	b.budgetOps = b.newBudgetOps()
	b.waitpointOps = b.newWaitpointOps()
	if opts.AutoMigrate {
		if applied, err := migrateUp(ctx, pool); err != nil {
			pool.Close()
			return nil, err
		} else if len(applied) > 0 {
			log.Info("applied migrations", "versions", applied)
		}
	}
	if err := checkSchema(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	if opts.ReadURL != "" {
		if b.read, err = openReadPool(ctx, opts.ReadURL, opts.MaxConns); err != nil {
			pool.Close()
			return nil, err
		}
	}
	b.notify = newNotifier(pool, b.hub, log)
	return b, nil
}

// Pool exposes the connection pool (for tests and tooling).
func (b *Backend) Pool() *pgxpool.Pool { return b.pool }

// Migrate applies pending migrations and returns the versions applied.
func (b *Backend) Migrate(ctx context.Context) ([]int, error) { return migrateUp(ctx, b.pool) }

// MigrationStatus lists the known migrations and whether each is applied.
func (b *Backend) MigrationStatus(ctx context.Context) ([]MigrationState, error) {
	return migrationStatus(ctx, b.pool)
}

// MigrateURL applies pending migrations to the database at url without
// the schema check of Open (for `flowfabric migrate up`).
func MigrateURL(ctx context.Context, url string) ([]int, error) {
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return nil, ff.Validation(ff.ErrInvalidInput, "database url: %v", err)
	}
	defer pool.Close()
	return migrateUp(ctx, pool)
}

// MigrationStatusURL reports migration status of the database at url.
func MigrationStatusURL(ctx context.Context, url string) ([]MigrationState, error) {
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return nil, ff.Validation(ff.ErrInvalidInput, "database url: %v", err)
	}
	defer pool.Close()
	return migrationStatus(ctx, pool)
}

// Label names the backend.
func (b *Backend) Label() string { return "postgres" }

// Capabilities reports what this backend implements.
func (b *Backend) Capabilities() backend.Capabilities {
	s := backend.CoreSupports()
	s.Schedules = true
	s.Streams = true
	s.ChangePriority, s.ReplayExecution, s.RevokeLease = true, true, true
	s.Events, s.LaneControl = true, true
	s.Flows = true
	s.BudgetAdmin, s.QuotaAdmin = true, true
	s.Waitpoints = true
	return backend.Capabilities{Family: "postgres", Version: "0.1.0", Supports: s}
}

// Ping checks the database answers.
func (b *Backend) Ping(ctx context.Context) error {
	if err := b.pool.Ping(ctx); err != nil {
		return ff.Transport("ping", err, true)
	}
	return nil
}

// Close stops the notifier and closes the pool.
func (b *Backend) Close() error {
	b.closeOnce.Do(func() {
		b.notify.close()
		b.pool.Close()
		if b.read != nil {
			b.read.Close()
		}
	})
	return nil
}

// nowArg is the statement's time argument: the injected clock in ms, or
// nil so that SQL falls back to ff_now_ms().
func (b *Backend) nowArg() any {
	if b.clock == nil {
		return nil
	}
	return b.clock.Now().UnixMilli()
}

// SubscribeWork implements backend.Maintenance: wake-ups come from this
// process's commits and, through LISTEN, from every other process's.
func (b *Backend) SubscribeWork(ctx context.Context, p backend.SubscribeWorkParams) (<-chan struct{}, func()) {
	b.notify.ensureListening()
	return b.hub.Subscribe(ctx, lanesOrDefault(p.Lanes))
}

// lanesOrDefault is lanes, or the default lane for none.
func lanesOrDefault(lanes []string) []string {
	if len(lanes) == 0 {
		return []string{"default"}
	}
	return lanes
}

// wake signals, after commit, that work may be claimable on lanes; a
// lane listed several times (one per row of a sweep) is signalled once.
func (b *Backend) wake(lanes ...string) {
	seen := make(map[string]struct{}, len(lanes))
	for _, l := range lanes {
		if _, dup := seen[l]; dup {
			continue
		}
		seen[l] = struct{}{}
		b.hub.Notify(l)
		b.notify.publish(l)
	}
}

func opErr(op string, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := ff.AsError(err); ok {
		return err
	}
	return mapPgError(op, err)
}
