package sqlite

import (
	"context"
	"database/sql"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/clock"
	"github.com/flowfabric-go/flowfabric/internal/wakeup"
)

const (
	driverName = "sqlite"
	// busyTimeoutMs is how long a connection waits for a lock held by
	// another connection (the writer, a checkpoint, another process)
	// before SQLITE_BUSY.
	busyTimeoutMs = "5000"
	// readerConns bounds the read pool; WAL readers do not block the
	// writer nor each other.
	readerConns = 4
)

// Options configure Open.
type Options struct {
	// Path is the database file ("flowfabric.db", "/var/lib/ff/x.db" or
	// "sqlite://x.db").
	Path string
	// Clock is the time source of every transition; nil is the real
	// clock.
	Clock clock.Clock
	// AutoMigrate applies pending migrations (and creates the file) at
	// Open. When false, a missing file or an older schema is an error
	// that names `flowfabric migrate up`.
	AutoMigrate bool
	// Logger receives migration and open messages; nil discards them.
	Logger *slog.Logger
	// StreamLimits caps output streams (zero fields: the defaults).
	StreamLimits ff.StreamLimits
}

// Backend is the embedded SQLite implementation of backend.Backend. It is
// safe for concurrent use.
// Most budget and quota operations of backend.Budgets, and every
// operation of backend.Waitpoints, are promoted from embedded
// implementations shared by every store (godoc does not list them here).
type Backend struct {
	path  string
	clock clock.Clock
	log   *slog.Logger

	// w is the writer: exactly one connection, every transaction BEGIN
	// IMMEDIATE. r is the query_only reader pool.
	w, r  *sql.DB
	stmts map[string]*sql.Stmt // writer statements, prepared at Open

	hub       *wakeup.Hub
	caps      *capCache
	lanes     sync.Map // lane name -> struct{}: lanes known to be registered
	leader    leaders
	closed    atomic.Bool
	admission backend.AdmissionCounter
	budgetOps
	waitpointOps
	limits ff.StreamLimits
}

var _ backend.Backend = (*Backend)(nil)

// Open opens (and with AutoMigrate creates or migrates) the database at
// o.Path. It refuses, without modifying anything: a file that is not a
// FlowFabric database, a schema newer than this binary, an older schema
// or a missing file when AutoMigrate is off, and a path it cannot write.
func Open(ctx context.Context, o Options) (*Backend, error) {
	abs, err := resolvePath(o.Path)
	if err != nil {
		return nil, err
	}
	log := loggerOr(o.Logger)
	f, err := inspectFile(abs, true)
	if err != nil {
		return nil, err
	}
	latest := LatestVersion()
	if !f.exists && !o.AutoMigrate {
		return nil, schemaError(ErrSchemaTooOld, "sqlite: database %s does not exist; create it with `%s` (or enable auto-migration)", abs, migrateCommand(abs))
	}
	if f.exists {
		var st schemaState
		if err := probeSchema(ctx, abs, &st); err != nil {
			return nil, err
		}
		if cur := st.current(); cur < latest && !o.AutoMigrate {
			return nil, schemaError(ErrSchemaTooOld, "sqlite: database %s has schema version %d, this binary needs %d; run `%s`", abs, cur, latest, migrateCommand(abs))
		}
	}
	b := &Backend{path: abs, clock: o.Clock, log: log, hub: wakeup.New(), caps: newCapCache(),
		limits: o.StreamLimits.WithDefaults()}
	b.budgetOps = b.newBudgetOps()
	b.waitpointOps = b.newWaitpointOps()
	if b.clock == nil {
		b.clock = clock.Real{}
	}
	if err := b.openPools(ctx, o.AutoMigrate); err != nil {
		_ = b.closePools()
		return nil, err
	}
	log.Debug("sqlite: opened", "path", abs, "schema_version", latest)
	return b, nil
}

func (b *Backend) openPools(ctx context.Context, migrate bool) error {
	var err error
	if b.w, err = openWriter(ctx, b.path); err != nil {
		return err
	}
	if migrate {
		if _, err := migrateDB(ctx, b.w, b.path, b.log); err != nil {
			return err
		}
	}
	if b.stmts, err = prepareAll(ctx, b.w, writerQueries()); err != nil {
		return err
	}
	if b.r, err = openReader(ctx, b.path); err != nil {
		return err
	}
	return b.caps.reload(ctx, b.r)
}

// openWriter opens the one-connection writer pool.
//
// Durability: WAL with synchronous=NORMAL. A commit appends to the WAL
// through the OS before it returns, so it survives the process being
// killed at any point (the durability test proves it with SIGKILL); only
// an OS crash or power loss may roll back the last commits, and even then
// the database stays consistent. FULL would add an fsync per commit for
// that last case; the embedded default trades it for throughput.
func openWriter(ctx context.Context, abs string) (*sql.DB, error) {
	db, err := sql.Open(driverName, dsn(abs,
		"_pragma=busy_timeout("+busyTimeoutMs+")",
		"_pragma=journal_mode(WAL)",
		"_pragma=synchronous(NORMAL)",
		"_pragma=foreign_keys(1)",
		"_txlock=immediate",
	))
	if err != nil {
		return nil, driverError("sqlite: open writer", err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	var mode string
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		db.Close()
		return nil, driverError("sqlite: open writer "+abs, err)
	}
	if !strings.EqualFold(mode, "wal") {
		db.Close()
		return nil, openError(nil, "sqlite: %s: journal_mode is %q, WAL is required (is the file system local?)", abs, mode)
	}
	return db, nil
}

// openReader opens the query_only reader pool.
func openReader(ctx context.Context, abs string) (*sql.DB, error) {
	db, err := sql.Open(driverName, dsn(abs,
		"_pragma=busy_timeout("+busyTimeoutMs+")",
		"_pragma=query_only(1)",
	))
	if err != nil {
		return nil, driverError("sqlite: open reader", err)
	}
	db.SetMaxOpenConns(readerConns)
	db.SetMaxIdleConns(readerConns)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, driverError("sqlite: open reader "+abs, err)
	}
	return db, nil
}

func prepareAll(ctx context.Context, db *sql.DB, queries []string) (map[string]*sql.Stmt, error) {
	out := make(map[string]*sql.Stmt, len(queries))
	for _, q := range queries {
		if _, dup := out[q]; dup {
			continue
		}
		st, err := db.PrepareContext(ctx, q)
		if err != nil {
			return nil, driverError("sqlite: prepare "+firstLine(q), err)
		}
		out[q] = st
	}
	return out, nil
}

func firstLine(q string) string {
	q = strings.TrimSpace(q)
	if i := strings.IndexByte(q, '\n'); i > 0 {
		return q[:i]
	}
	return q
}

func loggerOr(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}

// Path returns the absolute path of the database file.
func (b *Backend) Path() string { return b.path }

// Label names the backend family.
func (b *Backend) Label() string { return "sqlite" }

// Capabilities reports the first-wave feature set.
func (b *Backend) Capabilities() backend.Capabilities {
	s := backend.CoreSupports()
	s.Schedules = true
	s.Streams = true
	s.ChangePriority, s.ReplayExecution, s.RevokeLease = true, true, true
	s.Events, s.LaneControl = true, true
	s.Flows = true
	s.BudgetAdmin, s.QuotaAdmin = true, true
	s.Waitpoints = true
	return backend.Capabilities{Family: "sqlite", Version: "0.1.0", Supports: s}
}

// Ping checks that both pools can reach the file.
func (b *Backend) Ping(ctx context.Context) error {
	if b.closed.Load() {
		return ff.Transport("sqlite: ping", ErrClosed, false)
	}
	if err := b.r.PingContext(ctx); err != nil {
		return driverError("sqlite: ping reader", err)
	}
	if _, err := b.r.ExecContext(ctx, "SELECT 1"); err != nil {
		return driverError("sqlite: ping reader", err)
	}
	if err := b.w.PingContext(ctx); err != nil {
		return driverError("sqlite: ping writer", err)
	}
	return nil
}

// SubscribeWork wakes the caller (coalesced) when work may have become
// claimable on one of lanes in this process.
func (b *Backend) SubscribeWork(ctx context.Context, p backend.SubscribeWorkParams) (<-chan struct{}, func()) {
	lanes := p.Lanes
	if len(lanes) == 0 {
		lanes = []string{"default"}
	}
	return b.hub.Subscribe(ctx, lanes)
}

// Close ends leadership, waits for in-flight statements and closes both
// pools. It is idempotent.
func (b *Backend) Close() error {
	if b.closed.Swap(true) {
		return nil
	}
	b.leader.releaseAll()
	return b.closePools()
}

func (b *Backend) closePools() error {
	var first error
	for _, st := range b.stmts {
		_ = st.Close()
	}
	for _, db := range []*sql.DB{b.r, b.w} {
		if db == nil {
			continue
		}
		if err := db.Close(); err != nil && first == nil {
			first = driverError("sqlite: close", err)
		}
	}
	return first
}

// writerQueries are the statements write transactions run, prepared once
// on the writer connection at Open.
func writerQueries() []string {
	return []string{
		qLoadByID, qLoadBySeq, qInsertExecution, qUpdateExecution, qInsertPayload,
		qInsertAttempt, qUpdateAttempt, qStoreResult, qInsertEvent,
		qFindIdempotent, qIDExists, qRegisterLane, qFindCapSet, qInsertCapSet,
		qClaimHeads, qLoadForClaim,
		qDueLeases, qDueAttempts, qDueDeadlines, qDueDelayed,
		qEnsureStream, qBumpStream, qInsertFrame,
	}
}
