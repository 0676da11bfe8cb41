package server

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.opentelemetry.io/otel/trace"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/internal/wakeup"
	"github.com/flowfabric-go/flowfabric/server/ui"
)

// Config configures a Server. The zero value is usable: no auth, no CORS,
// slog.Default(), default body limits, timeouts and long-poll cap, and a
// private metrics registry.
type Config struct {
	// APIToken, when non-empty, requires "Authorization: Bearer <token>"
	// on every route except /healthz, and on /metrics unless
	// MetricsPublic.
	APIToken string
	// MetricsPublic serves /metrics without the token even when APIToken
	// is set (its series name lanes and error kinds).
	MetricsPublic bool
	// CORSOrigins lists the browser origins allowed to call the API; nil
	// allows none (no CORS headers), ["*"] allows any.
	CORSOrigins []string
	// Logger receives one line per request; nil means slog.Default().
	Logger *slog.Logger
	// MaxBodyBytes caps request bodies per tier; zero fields take defaults.
	MaxBodyBytes BodyLimits
	// Timeouts bound reading and writing requests; zero fields take
	// defaults.
	Timeouts Timeouts
	// MaxLongPolls caps the claims waiting at once (wait_ms > 0); one more
	// is answered 429 resource_exhausted. Zero means DefaultMaxLongPolls.
	// The stream followers waiting at once (long-polls and SSE
	// connections) have a cap of the same size, counted apart.
	MaxLongPolls int
	// Registry is served at /metrics and receives the HTTP metrics. Nil
	// creates a private registry with the Go and process collectors.
	// Register backend metrics (instrument.Wrap) in the same registry.
	Registry *prometheus.Registry
	// DisableUI turns the web dashboard at /ui/ off (package server/ui;
	// behind APIToken, with its own login form, when one is set).
	DisableUI bool
	// Version is the build version the dashboard shows.
	Version string
	// PublicURL is the address browsers reach the server at behind a
	// reverse proxy that rewrites the Host header (ui.Config.PublicURL):
	// the dashboard accepts its forms from that origin.
	PublicURL string
}

// BodyLimits are the request body caps, in bytes, by route tier.
type BodyLimits struct {
	// Create caps POST /v1/executions (the input may be 1 MiB).
	Create int64
	// Complete caps POST /v1/tasks/complete (the result may be 1 MiB).
	Complete int64
	// Batch caps complete-many and renew-many.
	Batch int64
	// Control caps every other route with a body.
	Control int64
}

// Default body limits: payload caps plus room for the envelope.
const (
	DefaultCreateLimit   = ff.MaxInputBytes + 64<<10
	DefaultCompleteLimit = ff.MaxResultBytes + 64<<10
	DefaultBatchLimit    = 16 << 20
	DefaultControlLimit  = 64 << 10
)

func (l BodyLimits) withDefaults() BodyLimits {
	def := func(v *int64, d int64) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.Create, DefaultCreateLimit)
	def(&l.Complete, DefaultCompleteLimit)
	def(&l.Batch, DefaultBatchLimit)
	def(&l.Control, DefaultControlLimit)
	return l
}

// Timeouts bound the phases of a request.
type Timeouts struct {
	// ReadHeader bounds reading the request line and headers (Serve
	// only; default 10 s).
	ReadHeader time.Duration
	// ReadBody bounds reading a request body, counted from the end of
	// the headers; a body still arriving after it is answered 408
	// request_timeout (default 30 s).
	ReadBody time.Duration
	// Write bounds writing the response, counted from the end of the
	// request body (or headers, without a body); a long-polling claim
	// gets its wait_ms on top (default 30 s).
	Write time.Duration
	// Idle bounds a keep-alive connection between requests (Serve only;
	// default 2 min).
	Idle time.Duration
}

// Default timeouts and long-poll cap.
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadBodyTimeout   = 30 * time.Second
	DefaultWriteTimeout      = 30 * time.Second
	DefaultIdleTimeout       = 2 * time.Minute
	DefaultMaxLongPolls      = 10_000
)

func (t Timeouts) withDefaults() Timeouts {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&t.ReadHeader, DefaultReadHeaderTimeout)
	def(&t.ReadBody, DefaultReadBodyTimeout)
	def(&t.Write, DefaultWriteTimeout)
	def(&t.Idle, DefaultIdleTimeout)
	return t
}

// Option tunes a Server beyond Config.
type Option func(*Server)

// WithClaimPollInterval sets how often the long-polling claims of one
// group (same lanes and capabilities) re-try without a wake-up: one claim
// per group per interval, whatever the number of waiters (default 1 s;
// spread further when more than 10 groups wait). Wake-ups are hints, so
// this probe is the safety net for work that becomes claimable without
// one.
func WithClaimPollInterval(d time.Duration) Option {
	return func(s *Server) {
		if d > 0 {
			s.claimPoll = d
		}
	}
}

// WithShutdownGrace sets how long Serve waits for in-flight requests to
// finish after its context ends (default 15 s).
func WithShutdownGrace(d time.Duration) Option {
	return func(s *Server) {
		if d > 0 {
			s.grace = d
		}
	}
}

// WithLeadership tells the dashboard whether this process leads the
// reconcilers (leading is called on every overview); without it the
// dashboard says they do not run here.
func WithLeadership(leading func() bool) Option {
	return func(s *Server) { s.leading = leading }
}

// Server is the HTTP API over one backend. It is an http.Handler; Serve
// and ListenAndServe run it with graceful shutdown.
type Server struct {
	b       backend.Backend
	log     *slog.Logger
	token   []byte // "Bearer <token>", nil when auth is off
	cors    corsPolicy
	limits  BodyLimits
	reg     *prometheus.Registry
	metrics *httpMetrics

	metricsPublic bool
	timeouts      Timeouts
	maxLongPolls  int
	polls         *wakeup.Waiters
	streams       *streamHub
	events        *eventFeed
	// hooks are test seams (export_test.go); nil in production.
	hooks hooks
	// tracer records request spans; nil when tracing is off.
	tracer trace.Tracer
	// dashboard serves /ui/; nil with Config.DisableUI.
	dashboard *ui.Dashboard
	leading   func() bool

	mux      *http.ServeMux
	routes   []*route
	byPatt   map[string]*route
	methods  []string // every method some route uses, for 405 detection
	metricsH http.Handler
	openapi  []byte

	claimPoll time.Duration
	grace     time.Duration

	// closing is closed when a graceful shutdown begins: long-polling
	// claims return at once so the drain is not held up by them.
	closing   chan struct{}
	closeOnce sync.Once
}

// New builds the server. It panics only on programming errors (a route
// table that does not register, a metric that cannot be created).
func New(cfg Config, b backend.Backend, opts ...Option) *Server {
	s := &Server{
		b: b, log: cfg.Logger, limits: cfg.MaxBodyBytes.withDefaults(), reg: cfg.Registry,
		cors: newCORSPolicy(cfg.CORSOrigins), claimPoll: time.Second, grace: 15 * time.Second,
		closing: make(chan struct{}), timeouts: cfg.Timeouts.withDefaults(), maxLongPolls: cfg.MaxLongPolls,
		metricsPublic: cfg.MetricsPublic || cfg.APIToken == "",
	}
	if s.maxLongPolls <= 0 {
		s.maxLongPolls = DefaultMaxLongPolls
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if cfg.APIToken != "" {
		s.token = []byte("Bearer " + cfg.APIToken)
	}
	if s.reg == nil {
		s.reg = prometheus.NewRegistry()
		s.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	for _, o := range opts {
		o(s)
	}
	s.metrics = newHTTPMetrics(s.reg)
	s.polls = wakeup.NewWaiters(wakeup.WaitersConfig{
		Subscribe: func(ctx context.Context, lanes []string) (<-chan struct{}, func()) {
			return b.SubscribeWork(ctx, backend.SubscribeWorkParams{Lanes: lanes})
		},
		Fallback: s.claimPoll, Max: s.maxLongPolls,
		Changed: func(n int) {
			s.metrics.longPolls.Set(float64(n))
			s.hooks.waiting(n)
		},
	})
	s.streams = newStreamHub(b, s.log, s.maxLongPolls, func(n int) { s.metrics.followers.Set(float64(n)) })
	s.events = newEventFeed(b, s.maxLongPolls, func(n int) { s.metrics.eventReaders.Set(float64(n)) })
	s.metricsH = metricsHandler(s.reg, s.log)
	if !cfg.DisableUI {
		s.dashboard = ui.New(ui.Config{Backend: b, Token: cfg.APIToken, Logger: s.log, Version: cfg.Version,
			Leading: s.leading, Closing: s.closing, WriteTimeout: s.timeouts.Write, PublicURL: cfg.PublicURL})
	}
	s.register(s.routeTable())
	s.openapi = mustOpenAPI(s.routes)
	return s
}

// RouteInfo describes one registered route.
type RouteInfo struct {
	Method  string
	Pattern string // ServeMux path pattern, e.g. /v1/executions/{id}
	Public  bool   // served without auth
}

// Routes lists every route the server registers, in table order.
func (s *Server) Routes() []RouteInfo {
	out := make([]RouteInfo, 0, len(s.routes))
	for _, rt := range s.routes {
		out = append(out, RouteInfo{Method: rt.method, Pattern: rt.path, Public: rt.public})
	}
	return out
}

func (s *Server) register(table []*route) {
	s.mux = http.NewServeMux()
	s.byPatt = map[string]*route{}
	seen := map[string]bool{}
	for _, rt := range table {
		pattern := rt.method + " " + rt.path
		s.mux.Handle(pattern, s.adapt(rt))
		s.byPatt[pattern] = rt
		s.routes = append(s.routes, rt)
		if !seen[rt.method] {
			seen[rt.method] = true
			s.methods = append(s.methods, rt.method)
		}
	}
}

// BeginShutdown starts a graceful shutdown of a server mounted on a
// program's own http.Server: long-polling claims waiting now, and any
// that arrive later, answer at once (204, nothing claimed), so the
// program's drain is not held up by them. Serve calls it itself. It is
// idempotent and does not refuse other requests.
func (s *Server) BeginShutdown() { s.closeOnce.Do(func() { close(s.closing) }) }
