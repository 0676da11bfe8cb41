package fftest

import (
	"log/slog"
	"time"

	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/engine"
)

// Epoch is where the fake clock starts.
var Epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Option configures New.
type Option func(*options)

type options struct {
	pgURL     string
	pgFromEnv bool
	realClock bool
	http      bool
	remote    bool
	logger    *slog.Logger
	engine    engine.Config
	schedules []backend.CreateScheduleParams
}

// WithPostgres runs the engine on a fresh schema of the Postgres server
// at url (dropped when the test ends) instead of SQLite.
func WithPostgres(url string) Option { return func(o *options) { o.pgURL = url } }

// WithPostgresFromEnv runs the engine on Postgres at FF_TEST_DATABASE_URL
// (default postgres://postgres@127.0.0.1:5432/test): the test is skipped
// when no server answers, and fails instead with
// FF_TEST_REQUIRE_POSTGRES=1.
func WithPostgresFromEnv() Option { return func(o *options) { o.pgFromEnv = true } }

// WithRealClock runs on real time, with the reconcilers in the
// background (20 ms intervals); Advance and Sweep are then refused.
func WithRealClock() Option { return func(o *options) { o.realClock = true } }

// WithHTTP also serves the API on a loopback test server (URL, Client).
func WithHTTP() Option { return func(o *options) { o.http = true } }

// WithRemoteWorkers makes NewWorker build workers over the HTTP client,
// as a worker process would run (implies WithHTTP).
func WithRemoteWorkers() Option { return func(o *options) { o.http, o.remote = true, true } }

// WithLogger sends the engine's logs to l (default: warnings and errors
// to t.Log).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithEngine sets the reconcilers' configuration (batch size, schedule
// grace; intervals matter only with WithRealClock).
func WithEngine(c engine.Config) Option { return func(o *options) { o.engine = c } }

// WithSchedules declares schedules at startup, as ffserver.Config does.
func WithSchedules(ps ...backend.CreateScheduleParams) Option {
	return func(o *options) { o.schedules = append(o.schedules, ps...) }
}
