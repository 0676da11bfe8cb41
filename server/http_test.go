package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
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

func TestAuth(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		e := newEnv(t, open, server.Config{APIToken: "s3cret"}, nil)
		e.token = ""
		for _, auth := range []string{"", "Bearer wrong", "bearer s3cret", "s3cret", "Bearer s3cret2"} {
			r := e.do("GET", "/v1/capabilities", nil, "Authorization", auth)
			require.Equal(t, http.StatusUnauthorized, r.status, "auth %q", auth)
			require.Equal(t, wire.ErrUnauthorized, r.apiError(t).Kind)
		}
		// Unknown routes do not reveal themselves without a token.
		r := e.get("/v1/nothing")
		require.Equal(t, http.StatusUnauthorized, r.status)
		// Health stays open; metrics (they name lanes and error kinds) are
		// behind the token when one is set.
		require.Equal(t, http.StatusOK, e.get("/healthz").status)
		r = e.get("/metrics")
		require.Equal(t, http.StatusUnauthorized, r.status)
		require.Equal(t, wire.ErrUnauthorized, r.apiError(t).Kind)

		e.token = "s3cret"
		require.Equal(t, http.StatusOK, e.get("/metrics").status)
		require.Equal(t, http.StatusOK, e.get("/v1/capabilities").status)
		e.create(map[string]any{})
		require.Equal(t, http.StatusNotFound, e.get("/v1/nothing").status)
	})
}

func TestCORS(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		e := newEnv(t, open, server.Config{APIToken: "tok", CORSOrigins: []string{"https://ui.example"}}, nil)
		r := e.do("OPTIONS", "/v1/executions", nil, "Origin", "https://ui.example",
			"Access-Control-Request-Method", "POST", "Authorization", "")
		require.Equal(t, http.StatusNoContent, r.status)
		require.Equal(t, "https://ui.example", r.header.Get("Access-Control-Allow-Origin"))
		require.Contains(t, r.header.Get("Access-Control-Allow-Headers"), "Authorization")

		r = e.do("GET", "/v1/capabilities", nil, "Origin", "https://ui.example")
		require.Equal(t, http.StatusOK, r.status)
		require.Equal(t, "https://ui.example", r.header.Get("Access-Control-Allow-Origin"))

		r = e.do("GET", "/v1/capabilities", nil, "Origin", "https://evil.example")
		require.Empty(t, r.header.Get("Access-Control-Allow-Origin"))
		r = e.do("OPTIONS", "/v1/executions", nil, "Origin", "https://evil.example", "Access-Control-Request-Method", "POST")
		require.Equal(t, http.StatusMethodNotAllowed, r.status)

		none := newEnv(t, open, server.Config{}, nil)
		r = none.do("GET", "/v1/capabilities", nil, "Origin", "https://ui.example")
		require.Empty(t, r.header.Get("Access-Control-Allow-Origin"))

		star := newEnv(t, open, server.Config{CORSOrigins: []string{"*"}}, nil)
		r = star.do("GET", "/v1/capabilities", nil, "Origin", "https://any.example")
		require.Equal(t, "*", r.header.Get("Access-Control-Allow-Origin"))
	})
}

func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		e := newEnv(t, open, server.Config{}, nil)
		r := e.get("/v1/openapi.json")
		require.Equal(t, http.StatusOK, r.status)
		var doc struct {
			OpenAPI string                               `json:"openapi"`
			Paths   map[string]map[string]map[string]any `json:"paths"`
			Comps   struct {
				Schemas map[string]any `json:"schemas"`
			} `json:"components"`
		}
		r.json(t, &doc)
		require.Equal(t, "3.1.0", doc.OpenAPI)

		routes := e.srv.Routes()
		require.GreaterOrEqual(t, len(routes), 21)
		documented := 0
		for _, p := range doc.Paths {
			documented += len(p)
		}
		require.Equal(t, len(routes), documented, "the document has exactly the registered routes")
		for _, rt := range routes {
			op, ok := doc.Paths[rt.Pattern][strings.ToLower(rt.Method)]
			require.True(t, ok, "%s %s missing from openapi.json", rt.Method, rt.Pattern)
			require.NotEmpty(t, op["operationId"])
			require.NotEmpty(t, op["summary"])
			require.Contains(t, op["responses"], "default")

			// And the route really is served: a request never gets the
			// router's own 404/405.
			path := strings.NewReplacer("{id}", escape(ff.NewExecutionID("x").String()), "{worker_id}", "w").Replace(rt.Pattern)
			got := e.do(rt.Method, path, "{}")
			if got.status == http.StatusNotFound || got.status == http.StatusMethodNotAllowed {
				kind := got.apiError(t).Kind
				require.NotEqual(t, wire.ErrRouteNotFound, kind, "%s %s", rt.Method, rt.Pattern)
				require.NotEqual(t, wire.ErrMethodNotAllowed, kind, "%s %s", rt.Method, rt.Pattern)
			}
		}

		// Every $ref resolves.
		var refs []string
		collectRefs(mustAny(t, r.body), &refs)
		require.NotEmpty(t, refs)
		for _, ref := range refs {
			name, ok := strings.CutPrefix(ref, "#/components/schemas/")
			if !ok {
				require.Equal(t, "#/components/responses/Error", ref)
				continue
			}
			require.Contains(t, doc.Comps.Schemas, name)
		}
		for _, name := range []string{"CreateExecutionRequest", "ClaimedTask", "ExecutionSnapshot", "ErrorBody"} {
			require.Contains(t, doc.Comps.Schemas, name)
		}
	})
}

func mustAny(t *testing.T, b []byte) any {
	var v any
	require.NoError(t, json.Unmarshal(b, &v))
	return v
}

func collectRefs(v any, out *[]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			if s, ok := c.(string); ok && k == "$ref" {
				*out = append(*out, s)
			}
			collectRefs(c, out)
		}
	case []any:
		for _, c := range x {
			collectRefs(c, out)
		}
	}
}

func TestMetricsMove(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		e := newEnv(t, open, server.Config{}, func(b backend.Backend, reg *prometheus.Registry) backend.Backend {
			return instrument.Wrap(b, reg)
		})
		policy := map[string]any{"retry_policy": map[string]any{"max_retries": 1, "backoff": map[string]any{"type": "fixed", "delay_ms": 1}}}
		e.create(map[string]any{"lane": "m"})
		e.create(map[string]any{"lane": "m", "policy": policy})
		e.create(map[string]any{"lane": "m"})
		tasks := e.claim("w1", "m", 3)
		require.Len(t, tasks, 3)
		require.Equal(t, http.StatusNoContent, e.post("/v1/tasks/complete", map[string]any{"handle": tasks[0].Handle}).status)
		require.Equal(t, http.StatusOK, e.post("/v1/tasks/fail", map[string]any{"handle": tasks[1].Handle, "reason": "x"}).status)
		require.Equal(t, http.StatusOK, e.post("/v1/tasks/fail", map[string]any{"handle": tasks[2].Handle, "reason": "y"}).status)
		e.get("/v1/nothing")
		e.create(map[string]any{"lane": "m"})

		m := e.scrape()
		require.Equal(t, 4.0, m[`ff_executions_created_total{lane="m"}`])
		require.Equal(t, 3.0, m[`ff_executions_claimed_total{lane="m"}`])
		require.Equal(t, 1.0, m[`ff_executions_completed_total{lane="m"}`])
		// Fail order follows claim order (FIFO): whichever task carried the
		// retry policy was retried, the other failed.
		require.Equal(t, 1.0, m[`ff_executions_retried_total{lane="m"}`])
		require.Equal(t, 1.0, m[`ff_executions_failed_total{lane="m"}`])
		require.Equal(t, 1.0, m[`ff_claim_duration_seconds_count{lane="m"}`])
		require.Equal(t, 4.0, m[`ff_http_requests_total{method="POST",route="/v1/executions",status="201"}`])
		require.Equal(t, 1.0, m[`ff_http_requests_total{method="GET",route="unmatched",status="404"}`])
		require.Positive(t, m[`ff_http_request_duration_seconds_count{method="POST",route="/v1/workers/{worker_id}/claim",status="200"}`])
		// Queue depth is read at scrape time: one delayed for its retry,
		// one waiting (terminal executions are not queued).
		require.Equal(t, 1.0, m[`ff_queue_depth{lane="m",public_state="delayed"}`])
		require.Equal(t, 1.0, m[`ff_queue_depth{lane="m",public_state="waiting"}`])
	})
}

func TestClaimLongPoll(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		// The poll fallback is far away: only a wake-up can end the wait
		// early.
		waiting := newGauge()
		e := newEnv(t, open, server.Config{}, nil, server.WithClaimPollInterval(time.Hour), server.WithTestHooks(waiting.set, nil, nil))

		// Nothing claimable and no wait: 204 at once.
		r := e.post("/v1/workers/w1/claim", map[string]any{"lanes": []string{"lp"}})
		require.Equal(t, http.StatusNoContent, r.status)
		require.Empty(t, r.body)

		got := make(chan reply, 1)
		go func() {
			// No require in this goroutine: report through the channel.
			resp, err := http.Post(e.ts.URL+"/v1/workers/w1/claim", "application/json",
				strings.NewReader(`{"lanes":["lp"],"wait_ms":20000}`))
			if err != nil {
				got <- reply{status: -1, body: []byte(err.Error())}
				return
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			got <- reply{status: resp.StatusCode, header: resp.Header, body: body}
		}()
		// Create once the claim is waiting (its subscription precedes its
		// first claim, so creating early is also fine).
		waiting.await(t, 1)
		id := e.create(map[string]any{"lane": "lp"})
		select {
		case r := <-got:
			require.Equal(t, http.StatusOK, r.status, "%s", r.body)
			var out wire.ClaimResponse
			r.json(t, &out)
			require.Len(t, out.Tasks, 1)
			require.Equal(t, id, out.Tasks[0].ExecutionID.String())
		case <-time.After(15 * time.Second):
			t.Fatal("long-poll claim was not woken by the create")
		}

		// A short wait with nothing to claim ends in 204.
		start := time.Now()
		r = e.post("/v1/workers/w1/claim", map[string]any{"lanes": []string{"lp"}, "wait_ms": 100})
		require.Equal(t, http.StatusNoContent, r.status)
		require.GreaterOrEqual(t, time.Since(start), 100*time.Millisecond)
	})
}

func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	st := openSQLite(t)
	waiting := newGauge()
	srv := server.New(server.Config{Logger: quietLogger()}, st.b, server.WithTestHooks(waiting.set, nil, nil),
		server.WithClaimPollInterval(time.Hour), server.WithShutdownGrace(5*time.Second))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	base := "http://" + ln.Addr().String()

	resp, err := http.Get(base + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	// A long-polling claim is in flight when shutdown starts; it is
	// released with 204 instead of holding the drain for 30 s.
	claimed := make(chan int, 1)
	go func() {
		resp, err := http.Post(base+"/v1/workers/w/claim", "application/json", strings.NewReader(`{"wait_ms":30000}`))
		if err != nil {
			claimed <- -1
			return
		}
		resp.Body.Close()
		claimed <- resp.StatusCode
	}()
	waiting.await(t, 1)
	start := time.Now()
	cancel()
	select {
	case code := <-claimed:
		require.Equal(t, http.StatusNoContent, code)
	case <-time.After(5 * time.Second):
		t.Fatal("long poll not released by shutdown")
	}
	require.NoError(t, <-served)
	require.Less(t, time.Since(start), 5*time.Second)

	// The listener is closed.
	_, err = http.Get(base + "/healthz")
	require.Error(t, err)
}
