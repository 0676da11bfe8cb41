package cli

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/backend/instrument"
	"github.com/flowfabric-go/flowfabric/engine"
	"github.com/flowfabric-go/flowfabric/ffserver"
	"github.com/flowfabric-go/flowfabric/fftrace"
	"github.com/flowfabric-go/flowfabric/server"
)

// DefaultListenAddr is the --listen default.
const DefaultListenAddr = "127.0.0.1:8080"

// serverOptions are the flags of `flowfabric server`. Most write straight
// into the ffserver.Config the command runs.
type serverOptions struct {
	cfg         ffserver.Config
	autoMigrate bool
	corsOrigins string
	logLevel    string
	logFormat   string
	reconcilers bool
	// tracesExporter and otlpEndpoint override the OTEL_* environment
	// fftrace.ConfigFromEnv reads (they default to it).
	tracesExporter string
	otlpEndpoint   string
	tracing        bool // set by startTracing, for the startup line
}

func newServerCmd(env Env, info BuildInfo) *cobra.Command {
	o := serverOptions{}
	o.cfg.HTTP.Version = info.version()
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the HTTP API and the reconcilers",
		Long: `Run the FlowFabric server: the HTTP API under /v1, /healthz, /metrics, the
web dashboard at /ui/ (unless --disable-ui; with --api-token it asks for
the token on a login form), and the reconcilers (lease expiry, delayed
promotion, attempt timeouts, deadlines). Several servers may share one Postgres database; exactly one
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
--shutdown-grace, stops the reconcilers and closes the database.

Tracing (OpenTelemetry) is off unless configured the OpenTelemetry way:
set OTEL_EXPORTER_OTLP_ENDPOINT (or --otlp-endpoint), or
OTEL_TRACES_EXPORTER=otlp (or --traces-exporter otlp, default endpoint
http://localhost:4318). Spans go over OTLP/HTTP: one per request and per
backend operation, and the submitting request's trace is stored with each
execution (tag ff.traceparent) so a worker's handler joins it. The SDK's
own variables apply too (OTEL_SERVICE_NAME, OTEL_EXPORTER_OTLP_HEADERS,
OTEL_TRACES_SAMPLER, OTEL_SDK_DISABLED, ...).`,
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
	f.StringVar(&o.cfg.DatabaseURL, "database-url", "", "postgres://... URL, sqlite://path or a file path (default ./flowfabric.db)")
	bindEnv(f, "database-url", "FF_DATABASE_URL")
	f.StringVar(&o.cfg.DatabaseReadURL, "database-read-url", "",
		"postgres://... URL of a read replica of --database-url: list, describe and event-replay reads go there (they tolerate its lag); claims and writes never do")
	bindEnv(f, "database-read-url", "FF_DATABASE_READ_URL")
	f.StringVar(&o.cfg.Addr, "listen", DefaultListenAddr, "HTTP listen address (port 0 picks a free port)")
	bindEnv(f, "listen", "FF_LISTEN_ADDR")
	f.StringVar(&o.cfg.HTTP.APIToken, "api-token", "", "require \"Authorization: Bearer <token>\" on every route but /healthz (/metrics too, unless --metrics-public)")
	bindEnv(f, "api-token", "FF_API_TOKEN")
	f.StringVar(&o.cfg.WaitpointHMACSecret, "waitpoint-hmac-secret", "",
		"hex secret (64+ digits) that seeds the waitpoint signing key when the database holds none; required on Postgres for the first start")
	bindEnv(f, "waitpoint-hmac-secret", "FF_WAITPOINT_HMAC_SECRET")
	f.BoolVar(&o.autoMigrate, "auto-migrate", false, "apply pending schema migrations at start (default true for SQLite, false for Postgres)")
	bindEnv(f, "auto-migrate", "FF_AUTO_MIGRATE")
	f.StringVar(&o.corsOrigins, "cors-origins", "", "comma-separated browser origins allowed to call the API, or * (default none)")
	bindEnv(f, "cors-origins", "FF_CORS_ORIGINS")
	f.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	bindEnv(f, "log-level", "FF_LOG_LEVEL")
	f.StringVar(&o.logFormat, "log-format", "text", "text or json")
	bindEnv(f, "log-format", "FF_LOG_FORMAT")
	f.DurationVar(&o.cfg.ShutdownGrace, "shutdown-grace", ffserver.DefaultShutdownGrace, "how long to drain in-flight requests on shutdown")
	bindEnv(f, "shutdown-grace", "FF_SHUTDOWN_GRACE")
	f.DurationVar(&o.cfg.ClaimPollInterval, "claim-poll-interval", ffserver.DefaultClaimPollInterval,
		"fallback re-check of idle long-polling claims without a wake-up: one claim per group of waiters (same lanes and capabilities) per interval, not one per waiter")
	bindEnv(f, "claim-poll-interval", "FF_CLAIM_POLL_INTERVAL")
	f.IntVar(&o.cfg.HTTP.MaxLongPolls, "max-long-polls", server.DefaultMaxLongPolls,
		"long-polling claims (wait_ms > 0) waiting at once; one more is answered 429 resource_exhausted with retry_after_ms")
	bindEnv(f, "max-long-polls", "FF_MAX_LONG_POLLS")
	f.DurationVar(&o.cfg.HTTP.Timeouts.ReadHeader, "read-header-timeout", server.DefaultReadHeaderTimeout, "time to read a request's line and headers")
	bindEnv(f, "read-header-timeout", "FF_READ_HEADER_TIMEOUT")
	f.DurationVar(&o.cfg.HTTP.Timeouts.ReadBody, "read-body-timeout", server.DefaultReadBodyTimeout,
		"time to read a request body after its headers; a slower body is answered 408 request_timeout")
	bindEnv(f, "read-body-timeout", "FF_READ_BODY_TIMEOUT")
	f.DurationVar(&o.cfg.HTTP.Timeouts.Write, "write-timeout", server.DefaultWriteTimeout,
		"time to write a response once the request is read; a long-polling claim gets its wait_ms (at most 30 s) on top")
	bindEnv(f, "write-timeout", "FF_WRITE_TIMEOUT")
	f.DurationVar(&o.cfg.HTTP.Timeouts.Idle, "idle-timeout", server.DefaultIdleTimeout, "how long an idle keep-alive connection stays open")
	bindEnv(f, "idle-timeout", "FF_IDLE_TIMEOUT")
	f.BoolVar(&o.cfg.HTTP.MetricsPublic, "metrics-public", false,
		"serve /metrics without the API token (by default it needs the token when --api-token is set)")
	bindEnv(f, "metrics-public", "FF_METRICS_PUBLIC")
	f.BoolVar(&o.cfg.HTTP.DisableUI, "disable-ui", false, "do not serve the web dashboard at /ui/")
	bindEnv(f, "disable-ui", "FF_DISABLE_UI")
	f.StringVar(&o.cfg.HTTP.PublicURL, "public-url", "",
		"the address browsers use when a reverse proxy that rewrites Host stands in front (e.g. https://ff.example.com): "+
			"the dashboard accepts its forms from that origin, and its cookies are Secure when it is https")
	bindEnv(f, "public-url", "FF_PUBLIC_URL")
	f.IntVar(&o.cfg.MetricsMaxLanes, "metrics-max-lanes", instrument.DefaultMaxLaneLabels,
		"lanes labelled on their own in /metrics; lanes beyond it, and lane names nobody created, count as lane \"_other\"")
	bindEnv(f, "metrics-max-lanes", "FF_METRICS_MAX_LANES")
	f.BoolVar(&o.reconcilers, "reconcilers", true, "compete for reconciler leadership (false: serve the API only)")
	bindEnv(f, "reconcilers", "FF_RECONCILERS")
	for _, iv := range o.cfg.Engine.Intervals() {
		f.DurationVar(iv.Value, iv.Key, iv.Default, iv.Usage)
		bindEnv(f, iv.Key, "FF_"+strings.ToUpper(strings.ReplaceAll(iv.Key, "-", "_")))
	}
	f.DurationVar(&o.cfg.Engine.ScheduleGrace, "schedule-grace", ff.DefaultScheduleGrace,
		"how late a schedule tick may fire and still be on time; older ticks follow the schedule's catch-up policy")
	bindEnv(f, "schedule-grace", "FF_SCHEDULE_GRACE")
	f.DurationVar(&o.cfg.Engine.StreamRetention, "stream-retention", backend.DefaultStreamRetention,
		"how long the output frames of an ended attempt are kept (summaries stay)")
	bindEnv(f, "stream-retention", "FF_STREAM_RETENTION")
	f.IntVar(&o.cfg.StreamLimits.MaxFrameBytes, "stream-max-frame-bytes", ff.DefaultMaxFrameBytes, "largest output frame payload, in bytes")
	bindEnv(f, "stream-max-frame-bytes", "FF_STREAM_MAX_FRAME_BYTES")
	f.Int64Var(&o.cfg.StreamLimits.MaxFramesPerAttempt, "stream-max-frames", ff.DefaultMaxFramesPerAttempt, "most output frames one attempt may append")
	bindEnv(f, "stream-max-frames", "FF_STREAM_MAX_FRAMES")
	f.DurationVar(&o.cfg.Engine.EventRetention, "event-retention", engine.DefaultEventRetention,
		"how long outbox events are kept (GET /v1/events); older ones are swept; negative keeps them forever")
	bindEnv(f, "event-retention", "FF_EVENT_RETENTION")
	f.IntVar(&o.cfg.Engine.BatchSize, "reconciler-batch-size", engine.DefaultBatchSize, "items per reconciler sweep (at most 10000)")
	bindEnv(f, "reconciler-batch-size", "FF_RECONCILER_BATCH_SIZE")
	f.StringVar(&o.tracesExporter, "traces-exporter", "",
		"OpenTelemetry trace exporter: otlp or none (default: otlp when an OTLP endpoint is set, else tracing is off)")
	bindEnv(f, "traces-exporter", "OTEL_TRACES_EXPORTER")
	f.StringVar(&o.otlpEndpoint, "otlp-endpoint", "",
		"OTLP/HTTP collector base URL for traces, e.g. http://collector:4318 (spans go to /v1/traces); setting it turns tracing on")
	bindEnv(f, "otlp-endpoint", "OTEL_EXPORTER_OTLP_ENDPOINT")
	return cmd
}

// validateLimits refuses a non-positive cap or timeout (the server would
// silently replace it with its default).
func (o serverOptions) validateLimits() error {
	t := o.cfg.HTTP.Timeouts
	for _, c := range []struct {
		flag string
		v    int64
	}{
		{"--shutdown-grace", int64(o.cfg.ShutdownGrace)}, {"--claim-poll-interval", int64(o.cfg.ClaimPollInterval)},
		{"--metrics-max-lanes", int64(o.cfg.MetricsMaxLanes)}, {"--max-long-polls", int64(o.cfg.HTTP.MaxLongPolls)},
		{"--read-header-timeout", int64(t.ReadHeader)}, {"--read-body-timeout", int64(t.ReadBody)},
		{"--write-timeout", int64(t.Write)}, {"--idle-timeout", int64(t.Idle)},
		{"--stream-retention", int64(o.cfg.Engine.StreamRetention)}, {"--stream-max-frame-bytes", int64(o.cfg.StreamLimits.MaxFrameBytes)},
		{"--stream-max-frames", o.cfg.StreamLimits.MaxFramesPerAttempt},
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
	db, err := ffserver.ParseDatabaseURL(o.cfg.DatabaseURL)
	return err == nil && db.Kind == ffserver.KindSQLite
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

// config is the ffserver.Config the flags describe, validated: a
// mistake is a usage error (exit 2) naming the flag where it can.
func (o serverOptions) config(log *slog.Logger) (ffserver.Config, ffserver.Database, error) {
	db, err := ffserver.ParseDatabaseURL(o.cfg.DatabaseURL)
	if err != nil {
		return o.cfg, db, usageError{err}
	}
	if err := o.validateLimits(); err != nil {
		return o.cfg, db, err
	}
	cfg := o.cfg
	cfg.Logger, cfg.HTTP.CORSOrigins, cfg.DisableReconcilers = log, o.corsList(), !o.reconcilers
	cfg.Migrate = ffserver.MigrateNever
	if o.autoMigrate {
		cfg.Migrate = ffserver.MigrateAlways
	}
	if err := cfg.Validate(); err != nil {
		return cfg, db, usageError{err}
	}
	return cfg, db, nil
}

// runServer serves until ctx ends or SIGINT/SIGTERM arrives, then shuts
// down in ffserver's order: HTTP drain, reconcilers, database.
func runServer(ctx context.Context, env Env, o serverOptions) error {
	log, err := newLogger(env.Stderr, o.logLevel, o.logFormat)
	if err != nil {
		return err
	}
	cfg, db, err := o.config(log)
	if err != nil {
		return err
	}
	tp, err := (&o).startTracing(ctx, env.Getenv)
	if err != nil {
		return err
	}
	defer shutdownTracing(ctx, tp, log)
	cfg.TracerProvider = tp
	srv, err := ffserver.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() {
		if err := srv.Close(); err != nil {
			log.Warn("close database", "error", err)
		}
	}()
	sigCtx, stopSignals := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stopSignals()
	// Once shutdown begins, a second signal kills the process the default
	// way instead of waiting for the drain.
	context.AfterFunc(sigCtx, stopSignals)
	if err := srv.Start(ctx); err != nil {
		return err
	}
	logStartup(log, db, srv.Addr(), o)
	select {
	case <-sigCtx.Done():
	case <-srv.Done():
	}
	if err := srv.Stop(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	log.Info("flowfabric server stopped")
	return nil
}

// logStartup writes the one line that says what this process serves.
func logStartup(log *slog.Logger, db ffserver.Database, addr net.Addr, o serverOptions) {
	auth, metrics := "none", "public"
	if o.cfg.HTTP.APIToken != "" {
		auth = "bearer"
		if !o.cfg.HTTP.MetricsPublic {
			metrics = "bearer"
		}
	}
	attrs := []slog.Attr{
		slog.String("backend", db.Kind),
		slog.String("database", db.Where()),
		slog.String("addr", addr.String()),
		slog.String("auth", auth),
		slog.String("metrics_auth", metrics),
		slog.Int("max_long_polls", o.cfg.HTTP.MaxLongPolls),
		slog.Bool("auto_migrate", o.autoMigrate),
		slog.Bool("reconcilers", o.reconcilers),
		slog.Bool("tracing", o.tracing),
	}
	if o.cfg.DatabaseReadURL != "" {
		attrs = append(attrs, slog.String("database_read", ffserver.RedactURL(o.cfg.DatabaseReadURL)))
	}
	if db.Default {
		attrs = append(attrs, slog.String("note", "embedded SQLite default; set --database-url for Postgres"))
	}
	if o.cfg.HTTP.APIToken == "" {
		attrs = append(attrs, slog.String("warning", "no --api-token: the API accepts unauthenticated requests"))
	}
	log.LogAttrs(context.Background(), slog.LevelInfo, "flowfabric server started", attrs...)
}

// startTracing builds the tracer provider the OTEL_* environment and the
// tracing flags describe (the no-op provider when off); a value it cannot
// honour is a usage error.
func (o *serverOptions) startTracing(ctx context.Context, getenv func(string) string) (*fftrace.Provider, error) {
	tc := fftrace.ConfigFromEnv(getenv)
	tc.Exporter, tc.Endpoint = o.tracesExporter, o.otlpEndpoint // the flags default to the same variables
	if _, err := tc.Enabled(); err != nil {
		return nil, usageError{err}
	}
	tp, err := fftrace.Start(ctx, tc)
	if errors.Is(err, ff.ErrInvalidInput) {
		return nil, usageError{err}
	}
	if err != nil {
		return nil, err
	}
	o.tracing = tp.Enabled()
	return tp, nil
}

// shutdownTracing flushes the spans still buffered, after the server
// stopped, within a bounded time.
func shutdownTracing(ctx context.Context, tp *fftrace.Provider, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := tp.Shutdown(ctx); err != nil {
		log.Warn("flush traces", "error", err)
	}
}
