package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/flowfabric-go/flowfabric/backend/instrument"
	"github.com/flowfabric-go/flowfabric/engine"
	"github.com/flowfabric-go/flowfabric/server"
)

// Server defaults.
const (
	DefaultListenAddr    = "127.0.0.1:8080"
	defaultShutdownGrace = 15 * time.Second
	openTimeout          = time.Minute
	// stopTimeout bounds stopping the reconcilers after the HTTP drain.
	stopTimeout = 5 * time.Second
)

// serverOptions are the flags of `flowfabric server`.
type serverOptions struct {
	databaseURL   string
	listen        string
	apiToken      string
	autoMigrate   bool
	corsOrigins   string
	logLevel      string
	logFormat     string
	shutdownGrace time.Duration
	claimPoll     time.Duration
	metricsLanes  int
	metricsPublic bool
	maxLongPolls  int
	timeouts      server.Timeouts
	reconcilers   bool
	engine        engine.Config
}

func newServerCmd(env Env) *cobra.Command {
	var o serverOptions
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the HTTP API and the reconcilers",
		Long: `Run the FlowFabric server: the HTTP API under /v1, /healthz, /metrics, and
the reconcilers (lease expiry, delayed promotion, attempt timeouts,
deadlines). Several servers may share one Postgres database; exactly one
of them runs the reconcilers at a time and another takes over if it dies.

With --api-token every route but /healthz needs "Authorization: Bearer
<token>", /metrics included (give Prometheus the token, or set
--metrics-public). Request bodies must arrive within --read-body-timeout
(else 408); at most --max-long-polls claims wait at once (else 429); idle
long-polls share one wake-up subscription per group and one fallback
claim per --claim-poll-interval, so they cost the database almost nothing.

With no --database-url the embedded SQLite file ./flowfabric.db is used
and created on first start. Postgres schemas are not migrated unless
--auto-migrate is given: run "flowfabric migrate up" first.

SIGINT or SIGTERM stops accepting requests, drains in-flight ones within
--shutdown-grace, stops the reconcilers and closes the database.`,
		Example: `  flowfabric server
  flowfabric server --listen 0.0.0.0:8080 --api-token "$TOKEN" \
      --database-url postgres://ff:secret@db:5432/ff
  FF_DATABASE_URL=/var/lib/flowfabric/ff.db FF_LOG_FORMAT=json flowfabric server`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("auto-migrate") {
				o.autoMigrate = o.databaseKindDefault()
			}
			return runServer(cmd.Context(), env, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.databaseURL, "database-url", "", "postgres://... URL, sqlite://path or a file path (default ./flowfabric.db)")
	bindEnv(f, "database-url", "FF_DATABASE_URL")
	f.StringVar(&o.listen, "listen", DefaultListenAddr, "HTTP listen address (port 0 picks a free port)")
	bindEnv(f, "listen", "FF_LISTEN_ADDR")
	f.StringVar(&o.apiToken, "api-token", "", "require \"Authorization: Bearer <token>\" on every route but /healthz (/metrics too, unless --metrics-public)")
	bindEnv(f, "api-token", "FF_API_TOKEN")
	f.BoolVar(&o.autoMigrate, "auto-migrate", false, "apply pending schema migrations at start (default true for SQLite, false for Postgres)")
	bindEnv(f, "auto-migrate", "FF_AUTO_MIGRATE")
	f.StringVar(&o.corsOrigins, "cors-origins", "", "comma-separated browser origins allowed to call the API, or * (default none)")
	bindEnv(f, "cors-origins", "FF_CORS_ORIGINS")
	f.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	bindEnv(f, "log-level", "FF_LOG_LEVEL")
	f.StringVar(&o.logFormat, "log-format", "text", "text or json")
	bindEnv(f, "log-format", "FF_LOG_FORMAT")
	f.DurationVar(&o.shutdownGrace, "shutdown-grace", defaultShutdownGrace, "how long to drain in-flight requests on shutdown")
	bindEnv(f, "shutdown-grace", "FF_SHUTDOWN_GRACE")
	f.DurationVar(&o.claimPoll, "claim-poll-interval", time.Second,
		"fallback re-check of idle long-polling claims without a wake-up: one claim per group of waiters (same lanes and capabilities) per interval, not one per waiter")
	bindEnv(f, "claim-poll-interval", "FF_CLAIM_POLL_INTERVAL")
	f.IntVar(&o.maxLongPolls, "max-long-polls", server.DefaultMaxLongPolls,
		"long-polling claims (wait_ms > 0) waiting at once; one more is answered 429 resource_exhausted with retry_after_ms")
	bindEnv(f, "max-long-polls", "FF_MAX_LONG_POLLS")
	f.DurationVar(&o.timeouts.ReadHeader, "read-header-timeout", server.DefaultReadHeaderTimeout, "time to read a request's line and headers")
	bindEnv(f, "read-header-timeout", "FF_READ_HEADER_TIMEOUT")
	f.DurationVar(&o.timeouts.ReadBody, "read-body-timeout", server.DefaultReadBodyTimeout,
		"time to read a request body after its headers; a slower body is answered 408 request_timeout")
	bindEnv(f, "read-body-timeout", "FF_READ_BODY_TIMEOUT")
	f.DurationVar(&o.timeouts.Write, "write-timeout", server.DefaultWriteTimeout,
		"time to write a response once the request is read; a long-polling claim gets its wait_ms (at most 30 s) on top")
	bindEnv(f, "write-timeout", "FF_WRITE_TIMEOUT")
	f.DurationVar(&o.timeouts.Idle, "idle-timeout", server.DefaultIdleTimeout, "how long an idle keep-alive connection stays open")
	bindEnv(f, "idle-timeout", "FF_IDLE_TIMEOUT")
	f.BoolVar(&o.metricsPublic, "metrics-public", false,
		"serve /metrics without the API token (by default it needs the token when --api-token is set)")
	bindEnv(f, "metrics-public", "FF_METRICS_PUBLIC")
	f.IntVar(&o.metricsLanes, "metrics-max-lanes", instrument.DefaultMaxLaneLabels,
		"lanes labelled on their own in /metrics; lanes beyond it, and lane names nobody created, count as lane \"_other\"")
	bindEnv(f, "metrics-max-lanes", "FF_METRICS_MAX_LANES")
	f.BoolVar(&o.reconcilers, "reconcilers", true, "compete for reconciler leadership (false: serve the API only)")
	bindEnv(f, "reconcilers", "FF_RECONCILERS")
	f.DurationVar(&o.engine.LeaseExpiryInterval, "lease-expiry-interval", engine.DefaultLeaseExpiryInterval, "lease expiry sweep interval")
	bindEnv(f, "lease-expiry-interval", "FF_LEASE_EXPIRY_INTERVAL")
	f.DurationVar(&o.engine.PromoterInterval, "promoter-interval", engine.DefaultPromoterInterval, "delayed promoter sweep interval")
	bindEnv(f, "promoter-interval", "FF_PROMOTER_INTERVAL")
	f.DurationVar(&o.engine.AttemptTimeoutInterval, "attempt-timeout-interval", engine.DefaultAttemptTimeoutInterval, "attempt timeout sweep interval")
	bindEnv(f, "attempt-timeout-interval", "FF_ATTEMPT_TIMEOUT_INTERVAL")
	f.DurationVar(&o.engine.DeadlineInterval, "deadline-interval", engine.DefaultDeadlineInterval, "execution deadline sweep interval")
	bindEnv(f, "deadline-interval", "FF_DEADLINE_INTERVAL")
	f.DurationVar(&o.engine.IdempotencyExpiryInterval, "idempotency-expiry-interval", engine.DefaultIdempotencyExpiryInterval, "expired idempotency keys sweep interval")
	bindEnv(f, "idempotency-expiry-interval", "FF_IDEMPOTENCY_EXPIRY_INTERVAL")
	f.DurationVar(&o.engine.LeaderRetryInterval, "leader-retry-interval", engine.DefaultLeaderRetryInterval, "how often a follower retries reconciler leadership")
	bindEnv(f, "leader-retry-interval", "FF_LEADER_RETRY_INTERVAL")
	f.IntVar(&o.engine.BatchSize, "reconciler-batch-size", engine.DefaultBatchSize, "items per reconciler sweep (at most 10000)")
	bindEnv(f, "reconciler-batch-size", "FF_RECONCILER_BATCH_SIZE")
	return cmd
}

// validateLimits refuses a non-positive cap or timeout (the server would
// silently replace it with its default).
func (o serverOptions) validateLimits() error {
	for _, c := range []struct {
		flag string
		v    int64
	}{
		{"--metrics-max-lanes", int64(o.metricsLanes)}, {"--max-long-polls", int64(o.maxLongPolls)},
		{"--read-header-timeout", int64(o.timeouts.ReadHeader)}, {"--read-body-timeout", int64(o.timeouts.ReadBody)},
		{"--write-timeout", int64(o.timeouts.Write)}, {"--idle-timeout", int64(o.timeouts.Idle)},
	} {
		if c.v <= 0 {
			return usagef("%s must be positive", c.flag)
		}
	}
	return nil
}

// databaseKindDefault is the --auto-migrate default: on for SQLite (the
// zero-setup path), off for Postgres (migrations are an operator step).
func (o serverOptions) databaseKindDefault() bool {
	db, err := ParseDatabase(o.databaseURL)
	return err == nil && db.Kind == KindSQLite
}

func (o serverOptions) corsList() []string {
	var out []string
	for _, s := range strings.Split(o.corsOrigins, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// runServer serves until ctx ends or SIGINT/SIGTERM arrives, then shuts
// down in order: HTTP drain, reconcilers, database.
func runServer(ctx context.Context, env Env, o serverOptions) error {
	log, err := newLogger(env.Stderr, o.logLevel, o.logFormat)
	if err != nil {
		return err
	}
	db, err := ParseDatabase(o.databaseURL)
	if err != nil {
		return usageError{err}
	}
	if o.shutdownGrace <= 0 {
		return usagef("--shutdown-grace must be positive")
	}
	if o.claimPoll <= 0 {
		return usagef("--claim-poll-interval must be positive")
	}
	if err := o.validateLimits(); err != nil {
		return err
	}
	if err := o.engine.Validate(); err != nil {
		return usageError{err}
	}
	o.engine.Logger = log

	openCtx, cancelOpen := context.WithTimeout(ctx, openTimeout)
	raw, err := db.Open(openCtx, OpenOptions{AutoMigrate: o.autoMigrate, Logger: log})
	cancelOpen()
	if err != nil {
		return err
	}
	defer func() {
		if err := raw.Close(); err != nil {
			log.Warn("close database", "error", err)
		}
	}()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	b := instrument.Wrap(raw, reg, instrument.WithMaxLaneLabels(o.metricsLanes))
	o.engine.Observer = instrument.NewReconcilerObserver(reg)

	var sup *engine.Supervisor
	if o.reconcilers {
		if sup, err = engine.New(b, o.engine); err != nil {
			return err
		}
	}
	srv := server.New(server.Config{APIToken: o.apiToken, MetricsPublic: o.metricsPublic, CORSOrigins: o.corsList(),
		Logger: log, Registry: reg, MaxLongPolls: o.maxLongPolls, Timeouts: o.timeouts}, b,
		server.WithShutdownGrace(o.shutdownGrace), server.WithClaimPollInterval(o.claimPoll))

	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.listen, err)
	}
	sigCtx, stopSignals := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stopSignals()
	// Once shutdown begins, a second signal kills the process the default
	// way instead of waiting for the drain.
	context.AfterFunc(sigCtx, stopSignals)
	// The reconcilers run on ctx, not sigCtx: on a signal they keep
	// running while in-flight requests drain, and are stopped after.
	if sup != nil {
		if err := sup.Start(ctx); err != nil {
			_ = ln.Close()
			return err
		}
	}
	logStartup(log, db, ln.Addr(), o)

	serveErr := srv.Serve(sigCtx, ln)
	if sup != nil {
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopTimeout)
		if err := sup.Stop(stopCtx); err != nil {
			log.Warn("reconcilers did not stop in time", "error", err)
		}
		cancel()
	}
	if serveErr != nil && !errors.Is(serveErr, context.Canceled) {
		return serveErr
	}
	log.Info("flowfabric server stopped")
	return nil
}

// logStartup writes the one line that says what this process serves.
func logStartup(log *slog.Logger, db Database, addr net.Addr, o serverOptions) {
	auth, metrics := "none", "public"
	if o.apiToken != "" {
		auth = "bearer"
		if !o.metricsPublic {
			metrics = "bearer"
		}
	}
	attrs := []slog.Attr{
		slog.String("backend", db.Kind),
		slog.String("database", db.Where()),
		slog.String("addr", addr.String()),
		slog.String("auth", auth),
		slog.String("metrics_auth", metrics),
		slog.Int("max_long_polls", o.maxLongPolls),
		slog.Bool("auto_migrate", o.autoMigrate),
		slog.Bool("reconcilers", o.reconcilers),
	}
	if db.Default {
		attrs = append(attrs, slog.String("note", "embedded SQLite default; set --database-url for Postgres"))
	}
	if o.apiToken == "" {
		attrs = append(attrs, slog.String("warning", "no --api-token: the API accepts unauthenticated requests"))
	}
	log.LogAttrs(context.Background(), slog.LevelInfo, "flowfabric server started", attrs...)
}
