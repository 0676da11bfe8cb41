package server_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/backend/instrument"
	"github.com/flowfabric-go/flowfabric/server"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

// gauge follows a value reported by a hook and lets a test wait for it.
type gauge struct {
	mu      sync.Mutex
	n       int
	changed chan struct{}
}

func newGauge() *gauge { return &gauge{changed: make(chan struct{})} }

func (g *gauge) set(n int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n = n
	close(g.changed)
	g.changed = make(chan struct{})
}

func (g *gauge) get() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.n
}

// await blocks until the value is want (10 s at most).
func (g *gauge) await(t *testing.T, want int) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		g.mu.Lock()
		n, ch := g.n, g.changed
		g.mu.Unlock()
		if n == want {
			return
		}
		select {
		case <-ch:
		case <-timeout:
			t.Fatalf("waiting long-polls: %d, want %d", n, want)
		}
	}
}

// countClaims counts the Claim calls reaching the (real) backend.
type countClaims struct {
	backend.Backend
	n atomic.Int64
}

func (c *countClaims) Claim(ctx context.Context, p backend.ClaimParams) ([]backend.ClaimedTask, error) {
	c.n.Add(1)
	return c.Backend.Claim(ctx, p)
}

// poll sends a claim in the background; its reply arrives on the
// channel (status -1 when the request failed, e.g. was cancelled).
func (e *env) poll(ctx context.Context, body string) <-chan reply {
	got := make(chan reply, 1)
	e.pollTo(ctx, body, got)
	return got
}

// pollTo is poll sending the reply to got.
func (e *env) pollTo(ctx context.Context, body string, got chan<- reply) {
	go func() {
		req, err := http.NewRequestWithContext(ctx, "POST", e.ts.URL+"/v1/workers/w1/claim", strings.NewReader(body))
		if err != nil {
			got <- reply{status: -1, body: []byte(err.Error())}
			return
		}
		req.Header.Set("Content-Type", "application/json")
		if e.token != "" {
			req.Header.Set("Authorization", "Bearer "+e.token)
		}
		resp, err := e.ts.Client().Do(req)
		if err != nil {
			got <- reply{status: -1, body: []byte(err.Error())}
			return
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		got <- reply{status: resp.StatusCode, header: resp.Header, body: data}
	}()
}

func recv(t *testing.T, ch <-chan reply) reply {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(15 * time.Second):
		t.Fatal("no reply")
		return reply{}
	}
}

// logSink keeps every record; each one is also announced on recs.
type logSink struct {
	mu   sync.Mutex
	all  []slog.Record
	recs chan slog.Record
}

func newLogSink() *logSink { return &logSink{recs: make(chan slog.Record, 1024)} }

func (l *logSink) Enabled(context.Context, slog.Level) bool { return true }
func (l *logSink) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logSink) WithGroup(string) slog.Handler            { return l }
func (l *logSink) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	l.all = append(l.all, r.Clone())
	l.mu.Unlock()
	select {
	case l.recs <- r.Clone():
	default:
	}
	return nil
}

// await returns the first record (past or future) with message msg.
func (l *logSink) await(t *testing.T, msg string) slog.Record {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case r := <-l.recs:
			if r.Message == msg {
				return r
			}
		case <-timeout:
			t.Fatalf("no log record %q", msg)
		}
	}
}

func (l *logSink) atLeast(level slog.Level) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, r := range l.all {
		if r.Level >= level {
			out = append(out, r.Message)
		}
	}
	return out
}

func attr(r slog.Record, key string) string {
	var v string
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == key {
			v = a.Value.String()
			return false
		}
		return true
	})
	return v
}

func instrumented(b backend.Backend, reg *prometheus.Registry) backend.Backend {
	return instrument.Wrap(b, reg)
}

// Issue 9 item 5: claims on lane names nobody created add no series.
func TestMetricsIgnoreUnknownClaimLanes(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		e := newEnv(t, open, server.Config{}, instrumented)
		e.create(map[string]any{"lane": "known"})
		e.claimOne("known")
		e.claim("w1", "never-created-0", 1)
		e.get("/metrics") // its own series appear after the first scrape
		before := len(e.get("/metrics").body)
		for i := range 300 {
			r := e.post("/v1/workers/w1/claim", map[string]any{"lanes": []string{fmt.Sprintf("never-created-%d", i)}})
			require.Equal(t, http.StatusNoContent, r.status)
		}
		after := e.get("/metrics").body
		require.NotContains(t, string(after), "never-created")
		require.Less(t, len(after)-before, 1024, "300 claims on new lane names grew /metrics")
		m := e.scrape()
		require.Equal(t, 301.0, m[`ff_claim_duration_seconds_count{lane="_other"}`])
		require.Equal(t, 1.0, m[`ff_claim_duration_seconds_count{lane="known"}`])
	})
}

// Issue 9 item 6: idle long-polls of one group cost one claim, not one
// each, and a wake-up hands new work to one of them at once.
func TestLongPollsShareOneClaim(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		var counted *countClaims
		waiting := newGauge()
		e := newEnv(t, open, server.Config{}, func(b backend.Backend, _ *prometheus.Registry) backend.Backend {
			counted = &countClaims{Backend: b}
			return counted
		}, server.WithClaimPollInterval(time.Hour), server.WithTestHooks(waiting.set, nil, nil))

		const n = 100
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		replies := make(chan reply, n)
		for range n {
			e.pollTo(ctx, `{"lanes":["idle","other"],"wait_ms":30000}`, replies)
		}
		waiting.await(t, n)
		require.LessOrEqual(t, counted.n.Load(), int64(2), "idle long-polls each claimed")

		// One create wakes one waiter, which gets the work within
		// milliseconds (the fallback probe is an hour away).
		start := time.Now()
		id := e.create(map[string]any{"lane": "idle"})
		won := recv(t, replies)
		latency := time.Since(start)
		require.Equal(t, http.StatusOK, won.status, "%s", won.body)
		var out wire.ClaimResponse
		won.json(t, &out)
		require.Equal(t, id, out.Tasks[0].ExecutionID.String())
		t.Logf("wake-up latency (create sent → claim answered): %s", latency)
		require.Less(t, latency, 2*time.Second)
		// The winner's full claim handed two more turns on; nobody else
		// claimed.
		waiting.await(t, n-1)
		require.LessOrEqual(t, counted.n.Load(), int64(5))

		cancel()
		for range n - 1 {
			require.Equal(t, -1, recv(t, replies).status)
		}
		waiting.await(t, 0)
	})
}

// The shared fallback probe claims once per interval for the group, and
// finds work that came without a wake-up.
func TestLongPollFallbackProbe(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		var counted *countClaims
		waiting := newGauge()
		e := newEnv(t, open, server.Config{}, func(b backend.Backend, _ *prometheus.Registry) backend.Backend {
			counted = &countClaims{Backend: b}
			return counted
		}, server.WithClaimPollInterval(20*time.Millisecond), server.WithTestHooks(waiting.set, nil, nil))
		const n = 50
		replies := make([]<-chan reply, n)
		for i := range replies {
			replies[i] = e.poll(t.Context(), `{"lanes":["probe"],"wait_ms":1000}`)
		}
		for _, ch := range replies {
			require.Equal(t, http.StatusNoContent, recv(t, ch).status)
		}
		// ~1 s of waiting at 20 ms: about 50 probes for the group, where
		// a poll per waiter would be 2 500.
		claims := counted.n.Load()
		t.Logf("claims by %d long-polls over 1 s with a 20 ms fallback: %d", n, claims)
		require.Less(t, claims, int64(150))
		waiting.await(t, 0)
	})
}

// Issue 9 item 7: beyond the cap, a long-poll is refused 429 with a
// retry hint; a claim that does not wait is still served.
func TestLongPollCap(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		waiting := newGauge()
		e := newEnv(t, open, server.Config{MaxLongPolls: 2}, instrumented,
			server.WithClaimPollInterval(time.Hour), server.WithTestHooks(waiting.set, nil, nil))
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		a := e.poll(ctx, `{"lanes":["cap"],"wait_ms":30000}`)
		b := e.poll(ctx, `{"lanes":["cap2"],"wait_ms":30000}`)
		waiting.await(t, 2)
		require.Equal(t, 2.0, e.scrape()["ff_http_long_polls_waiting"])

		r := e.post("/v1/workers/w1/claim", map[string]any{"lanes": []string{"cap"}, "wait_ms": 1000})
		require.Equal(t, http.StatusTooManyRequests, r.status, "%s", r.body)
		body := r.apiError(t)
		require.Equal(t, ff.ErrResourceExhausted, body.Kind)
		require.True(t, body.Retryable)
		require.Positive(t, body.RetryAfterMs)
		require.Equal(t, "1", r.header.Get("Retry-After"))

		r = e.post("/v1/workers/w1/claim", map[string]any{"lanes": []string{"cap"}})
		require.Equal(t, http.StatusNoContent, r.status)

		cancel()
		require.Equal(t, -1, recv(t, a).status)
		require.Equal(t, -1, recv(t, b).status)
		waiting.await(t, 0)
	})
}

// Issue 9 item 7: a body that does not arrive in time is 408
// request_timeout, not a 500 after two minutes.
func TestSlowBodyIs408(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		e := newEnv(t, open, server.Config{Timeouts: server.Timeouts{ReadBody: 200 * time.Millisecond}}, nil)
		conn, err := net.Dial("tcp", e.ts.Listener.Addr().String())
		require.NoError(t, err)
		defer conn.Close()
		require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
		_, err = io.WriteString(conn, "POST /v1/tasks/fail HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"+
			"Content-Length: 100\r\n\r\n{\"handle\":")
		require.NoError(t, err)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		require.NoError(t, err)
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		require.Equal(t, http.StatusRequestTimeout, resp.StatusCode, "%s", data)
		require.Contains(t, string(data), `"kind":"request_timeout"`)
	})
}

// The body deadline is lifted once the body is in, and the write
// deadline counts the wait: a long-poll outlives both.
func TestLongPollOutlivesReadAndWriteTimeouts(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		e := newEnv(t, open, server.Config{Timeouts: server.Timeouts{ReadBody: 50 * time.Millisecond, Write: 50 * time.Millisecond}}, nil)
		start := time.Now()
		r := e.post("/v1/workers/w1/claim", map[string]any{"lanes": []string{"t"}, "wait_ms": 400})
		require.Equal(t, http.StatusNoContent, r.status, "%s", r.body)
		require.GreaterOrEqual(t, time.Since(start), 400*time.Millisecond)
		// The connection stays usable for the next request.
		require.Equal(t, http.StatusOK, e.get("/v1/capabilities").status)
	})
}

// slowCreate holds a create until its caller goes away, as a create stuck
// behind a lock would be; entered receives when one is held.
type slowCreate struct {
	backend.Backend
	entered chan struct{}
}

func (s slowCreate) CreateExecution(ctx context.Context, p backend.CreateExecutionParams) (backend.CreateExecutionResult, error) {
	s.entered <- struct{}{}
	<-ctx.Done()
	return s.Backend.CreateExecution(ctx, p)
}

// Issue 9 item 7: a client that goes away (a long-poll abandoned, a
// create cancelled) is a client abort in the log and metrics (499 at
// info), not a server ERROR with 504/500.
func TestClientAbortIsNotAServerError(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		logs := newLogSink()
		waiting := newGauge()
		entered := make(chan struct{}, 1)
		e := newEnv(t, open, server.Config{Logger: slog.New(logs)}, func(b backend.Backend, reg *prometheus.Registry) backend.Backend {
			return slowCreate{instrument.Wrap(b, reg), entered}
		}, server.WithTestHooks(waiting.set, nil, nil))

		ctx, cancel := context.WithCancel(t.Context())
		ch := e.poll(ctx, `{"lanes":["gone"],"wait_ms":30000}`)
		waiting.await(t, 1)
		cancel()
		require.Equal(t, -1, recv(t, ch).status)
		rec := logs.await(t, "http request abandoned by the client")
		require.Equal(t, slog.LevelInfo, rec.Level)
		require.Equal(t, "499", attr(rec, "status"))

		ctx, cancel = context.WithCancel(t.Context())
		req, err := http.NewRequestWithContext(ctx, "POST", e.ts.URL+"/v1/executions", strings.NewReader(`{"kind":"k"}`))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		done := make(chan error, 1)
		go func() {
			resp, err := e.ts.Client().Do(req)
			if err == nil {
				resp.Body.Close()
			}
			done <- err
		}()
		<-entered // the create is in the store: now the client gives up
		cancel()
		require.Error(t, <-done)
		rec = logs.await(t, "http request abandoned by the client")
		require.Equal(t, "/v1/executions", attr(rec, "route"))

		require.Empty(t, logs.atLeast(slog.LevelWarn), "a client abort logged as a server problem")
		m := e.scrape()
		require.Equal(t, 1.0, m[`ff_http_requests_total{method="POST",route="/v1/workers/{worker_id}/claim",status="499"}`])
	})
}

// Issue 9 item 8: a claim whose reply could not be delivered gives its
// leases back at once: the execution is claimable again, the same
// attempt resumes and no reclaim is counted.
func TestUndeliveredClaimIsReleased(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		claimed := make(chan struct{}, 1)
		delivered := make(chan error, 1)
		var once atomic.Bool
		onClaimed := func(ctx context.Context) {
			if once.Swap(true) {
				return // only the first claim loses its client
			}
			claimed <- struct{}{}
			select {
			case <-ctx.Done():
			case <-time.After(10 * time.Second):
			}
		}
		onDelivered := func(err error) {
			select {
			case delivered <- err:
			default:
			}
		}
		logs := newLogSink()
		e := newEnv(t, open, server.Config{Logger: slog.New(logs)}, nil, server.WithTestHooks(nil, onClaimed, onDelivered))
		id := e.create(map[string]any{"lane": "lost"})

		ctx, cancel := context.WithCancel(t.Context())
		ch := e.poll(ctx, `{"lanes":["lost"],"wait_ms":5000}`)
		<-claimed
		cancel() // the worker goes away after the claim committed
		require.Equal(t, -1, recv(t, ch).status)
		require.Error(t, <-delivered)
		rec := logs.await(t, "claim reply not delivered: leases released")
		require.Equal(t, "1", attr(rec, "released"))

		// Claimable at once, not after the 30 s lease: the same attempt,
		// resumed, with no reclaim counted.
		task := e.claimOne("lost")
		require.Equal(t, id, task.ExecutionID.String())
		require.Equal(t, uint32(0), task.AttemptIndex)
		require.NoError(t, <-delivered)
		var snap wire.ExecutionSnapshot
		e.get(execPath(id, "")).json(t, &snap)
		require.Equal(t, 0, snap.ReclaimCount)
		require.Equal(t, 1, int(snap.AttemptCount))
	})
}

// Issue 9 item 8: POST /v1/tasks/release gives back leases a worker
// claimed but never started; each handle fails alone.
func TestReleaseRoute(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		e := newEnv(t, open, server.Config{}, nil)
		a := e.create(map[string]any{"lane": "rel"})
		b := e.create(map[string]any{"lane": "rel"})
		tasks := e.claim("w1", "rel", 2)
		require.Len(t, tasks, 2)
		held := map[string]wire.ClaimedTask{tasks[0].ExecutionID.String(): tasks[0], tasks[1].ExecutionID.String(): tasks[1]}

		r := e.post("/v1/tasks/release", wire.ReleaseRequest{Handles: []string{held[a].Handle, "nonsense", held[a].Handle}})
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		var out wire.ReleaseResponse
		r.json(t, &out)
		require.Len(t, out.Results, 3)
		require.Nil(t, out.Results[0].Error)
		require.Equal(t, ff.ErrInvalidHandle, out.Results[1].Error.Kind)
		require.NotNil(t, out.Results[2].Error, "a repeated release")

		again := e.claimOne("rel")
		require.Equal(t, a, again.ExecutionID.String())
		require.Equal(t, held[a].AttemptID, again.AttemptID)
		var snap wire.ExecutionSnapshot
		e.get(execPath(a, "")).json(t, &snap)
		require.Equal(t, 0, snap.ReclaimCount)
		// The other lease was not touched.
		require.Equal(t, http.StatusOK, e.post("/v1/tasks/renew", map[string]any{"handle": held[b].Handle}).status)

		r = e.post("/v1/tasks/release", map[string]any{"handles": make([]string, wire.MaxBatchItems+1)})
		require.Equal(t, http.StatusBadRequest, r.status)
	})
}

// failingPing is a store whose database cannot be reached; the error
// names the database the way a driver does.
type failingPing struct{ backend.Backend }

func (failingPing) Ping(context.Context) error {
	return ff.Transport("ping", fmt.Errorf(`failed to connect to user=ff_admin database=ff_prod host=db.internal: refused`), true)
}

// Issue 9 item 10: /healthz says "database unreachable" and logs why.
func TestHealthzHidesDatabaseDetails(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		logs := newLogSink()
		e := newEnv(t, open, server.Config{Logger: slog.New(logs)}, func(b backend.Backend, _ *prometheus.Registry) backend.Backend {
			return failingPing{b}
		})
		r := e.get("/healthz")
		require.Equal(t, http.StatusServiceUnavailable, r.status)
		body := r.apiError(t)
		require.Equal(t, "database unreachable", body.Error)
		require.True(t, body.Retryable)
		for _, secret := range []string{"ff_admin", "ff_prod", "db.internal"} {
			require.NotContains(t, string(r.body), secret)
		}
		rec := logs.await(t, "health check: database unreachable")
		require.Contains(t, attr(rec, "error"), "db.internal")
	})
}

// Issue 9 item 11: an error body echoes at most 64 bytes (wire.MaxEchoBytes, as the domain) of an input
// value, cut on a character boundary.
func TestErrorEchoIsBounded(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		e := newEnv(t, open, server.Config{}, nil)
		huge := "{fp:1}:" + strings.Repeat("a", 100_000)
		r := e.get("/v1/executions/" + escape(huge))
		require.Equal(t, http.StatusBadRequest, r.status)
		require.Less(t, len(r.body), 600, "%d bytes", len(r.body))
		msg := r.apiError(t).Error
		require.Contains(t, msg, `"{fp:1}:aaaa`)
		require.Contains(t, msg, `…"`)

		// Multi-byte characters are never split.
		wide := strings.Repeat("é", 50_000)
		r = e.post("/v1/executions", map[string]any{"kind": "k", "execution_id": wide})
		require.Equal(t, http.StatusBadRequest, r.status)
		msg = r.apiError(t).Error
		require.NotContains(t, msg, "\uFFFD")
		require.Contains(t, msg, `éé…"`)
		require.Less(t, len(msg), wire.MaxEchoBytes+100)

		// A huge unknown field name and a huge path are bounded too.
		r = e.post("/v1/tasks/fail", `{"`+strings.Repeat("x", 50_000)+`":1}`)
		require.Equal(t, http.StatusBadRequest, r.status)
		require.Less(t, len(r.body), 600)
		r = e.get("/v1/" + strings.Repeat("p", 100_000))
		require.Equal(t, http.StatusNotFound, r.status)
		require.Less(t, len(r.body), 600)
	})
}

// Issue 9 item 9: FF_METRICS_PUBLIC (Config.MetricsPublic) opens
// /metrics again when a token is set.
func TestMetricsPublicOptOut(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		e := newEnv(t, open, server.Config{APIToken: "tok", MetricsPublic: true}, nil)
		e.token = ""
		require.Equal(t, http.StatusOK, e.get("/metrics").status)
		require.Equal(t, http.StatusUnauthorized, e.get("/v1/capabilities").status)
	})
}

// Issue 10 item 5: a field the route does not declare is refused with 400
// naming it, at the top level and inside the policy, instead of being
// dropped (a fail with "error" for "reason" lost the reason).
func TestUnknownFieldsRefused(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		e := newEnv(t, open, server.Config{}, nil)
		e.create(map[string]any{"lane": "strict"})
		task := e.claimOne("strict")

		r := e.post("/v1/tasks/fail", map[string]any{"handle": task.Handle, "error": "disk full"})
		require.Equal(t, http.StatusBadRequest, r.status, "%s", r.body)
		body := r.apiError(t)
		require.Equal(t, ff.ErrInvalidInput, body.Kind)
		require.Contains(t, body.Error, `unknown field "error"`)
		// Nothing happened: the lease is still held and the right field works.
		r = e.post("/v1/tasks/fail", map[string]any{"handle": task.Handle, "reason": "disk full"})
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)

		r = e.post("/v1/executions", map[string]any{"kind": "k", "some_future_field": []int{1}})
		require.Equal(t, http.StatusBadRequest, r.status)
		require.Contains(t, r.apiError(t).Error, `unknown field "some_future_field"`)

		r = e.post("/v1/executions", map[string]any{"kind": "k", "policy": map[string]any{
			"retry_policy": map[string]any{"max_retries": 1, "backof": map[string]any{"type": "fixed"}}}})
		require.Equal(t, http.StatusBadRequest, r.status)
		body = r.apiError(t)
		require.Equal(t, ff.ErrInvalidPolicy, body.Kind)
		require.Contains(t, body.Error, `unknown field "policy.retry_policy.backof"`)

		r = e.post("/v1/workers/w1/claim", map[string]any{"lane": "strict"}) // "lanes"
		require.Equal(t, http.StatusBadRequest, r.status)
		require.Contains(t, r.apiError(t).Error, `unknown field "lane"`)
		r = e.post("/v1/tasks/complete-many", map[string]any{"items": []map[string]any{{"handle": task.Handle, "reslt": 1}}})
		require.Equal(t, http.StatusBadRequest, r.status)
		require.Contains(t, r.apiError(t).Error, `unknown field "reslt"`)
	})
}
