package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/server"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

func TestErrorResponses(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		e := newEnv(t, open, server.Config{MaxBodyBytes: server.BodyLimits{Control: 1024}}, nil)
		unknown := ff.NewExecutionID("default").String()
		big := `{"handle":"` + strings.Repeat("x", 2000) + `"}`
		cases := []struct {
			name      string
			method    string
			path      string
			body      any
			headers   []string
			status    int
			kind      ff.ErrorKind
			retryable bool
		}{
			{"malformed json", "POST", "/v1/executions", `{"kind":`, nil, 400, wire.ErrInvalidJSON, false},
			{"trailing data", "POST", "/v1/executions", `{"kind":"k"} {}`, nil, 400, wire.ErrInvalidJSON, false},
			{"wrong field type", "POST", "/v1/executions", `{"kind":"k","priority":"high"}`, nil, 400, wire.ErrInvalidJSON, false},
			{"body not an object", "POST", "/v1/tasks/renew", `[1,2]`, nil, 400, wire.ErrInvalidJSON, false},
			{"empty required body", "POST", "/v1/tasks/renew", ``, nil, 400, wire.ErrInvalidJSON, false},
			{"wrong content type", "POST", "/v1/executions", `{"kind":"k"}`, []string{"Content-Type", "text/plain"}, 415, wire.ErrUnsupportedMediaType, false},
			{"missing content type", "POST", "/v1/executions", `{"kind":"k"}`, []string{"Content-Type", ""}, 415, wire.ErrUnsupportedMediaType, false},
			{"missing kind", "POST", "/v1/executions", `{}`, nil, 400, ff.ErrInvalidInput, false},
			{"bad capability", "POST", "/v1/executions", `{"kind":"k","required_capabilities":["a b"]}`, nil, 400, ff.ErrInvalidCapabilities, false},
			{"bad tag key", "POST", "/v1/executions", `{"kind":"k","tags":{"Nope":"v"}}`, nil, 400, ff.ErrInvalidTagKey, false},
			{"bad body execution id", "POST", "/v1/executions", `{"kind":"k","execution_id":"123"}`, nil, 400, ff.ErrInvalidInput, false},
			{"body over control cap", "POST", "/v1/tasks/renew", big, nil, 413, ff.ErrPayloadTooLarge, false},
			{"input over 1 MiB", "POST", "/v1/executions", `{"kind":"k","input":"` + strings.Repeat("a", ff.MaxInputBytes) + `"}`, nil, 413, ff.ErrPayloadTooLarge, false},
			{"bad path id", "GET", "/v1/executions/not-an-id", nil, nil, 400, ff.ErrInvalidInput, false},
			{"bare uuid path id", "GET", "/v1/executions/8f14e45f-ceea-467f-a0f6-2b1c2d3e4f50", nil, nil, 400, ff.ErrInvalidInput, false},
			{"unknown execution", "GET", execPath(unknown, ""), nil, nil, 404, ff.ErrNotFound, false},
			{"unknown execution state", "GET", execPath(unknown, "/state"), nil, nil, 404, ff.ErrNotFound, false},
			{"unknown execution attempts", "GET", execPath(unknown, "/attempts"), nil, nil, 404, ff.ErrNotFound, false},
			{"unknown route", "GET", "/v1/nothing", nil, nil, 404, wire.ErrRouteNotFound, false},
			{"wrong method", "DELETE", "/v1/executions", nil, nil, 405, wire.ErrMethodNotAllowed, false},
			{"bad limit query", "GET", "/v1/executions?limit=ten", nil, nil, 400, ff.ErrInvalidInput, false},
			{"limit out of range", "GET", "/v1/executions?limit=5000", nil, nil, 400, ff.ErrInvalidInput, false},
			{"bad partition query", "GET", "/v1/executions?partition=70000", nil, nil, 400, ff.ErrInvalidInput, false},
			{"bad public_state query", "GET", "/v1/executions?public_state=sleeping", nil, nil, 400, ff.ErrInvalidInput, false},
			{"malformed query string", "GET", "/v1/executions?limit=%zz", nil, nil, 400, ff.ErrInvalidInput, false},
			{"bad cursor", "GET", "/v1/executions?cursor=abc", nil, nil, 400, ff.ErrInvalidInput, false},
			{"garbage handle", "POST", "/v1/tasks/complete", `{"handle":"nope"}`, nil, 400, ff.ErrInvalidHandle, false},
			{"missing handle", "POST", "/v1/tasks/fail", `{"reason":"x"}`, nil, 400, ff.ErrInvalidInput, false},
			{"bad worker id", "POST", "/v1/workers/a%20b/claim", `{}`, nil, 400, ff.ErrInvalidInput, false},
			{"wait too long", "POST", "/v1/workers/w/claim", `{"wait_ms":60000}`, nil, 400, ff.ErrInvalidInput, false},
			{"bad lease ttl", "POST", "/v1/workers/w/claim", `{"lease_ttl_ms":5}`, nil, 400, ff.ErrInvalidInput, false},
			{"negative percent", "POST", "/v1/tasks/progress", `{"handle":"x","percent":-3}`, nil, 400, ff.ErrInvalidHandle, false},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := e.do(c.method, c.path, c.body, c.headers...)
				require.Equal(t, c.status, r.status, "body: %.300s", r.body)
				require.Equal(t, "application/json", r.header.Get("Content-Type"))
				body := r.apiError(t)
				require.Equal(t, c.kind, body.Kind, "body: %.300s", r.body)
				require.Equal(t, c.retryable, body.Retryable)
				require.NotEmpty(t, body.Error)
			})
		}

		// 405 names the allowed methods; 413 names the limit.
		r := e.do("DELETE", "/v1/executions", nil)
		require.ElementsMatch(t, []string{"GET", "POST"}, r.header.Values("Allow"))
		r = e.post("/v1/tasks/renew", big)
		require.EqualValues(t, 1024, r.apiError(t).LimitBytes)

		// Result before completion is 404 kind not_found.
		id := e.create(map[string]any{})
		r = e.get(execPath(id, "/result"))
		require.Equal(t, http.StatusNotFound, r.status)
		require.Equal(t, ff.ErrNotFound, r.apiError(t).Kind)
	})
}

func TestStaleLeaseIsConflict(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		e := newEnv(t, open, server.Config{}, nil)
		e.create(map[string]any{})
		task := e.claimOne("default")
		r := e.post("/v1/tasks/complete", map[string]any{"handle": task.Handle})
		require.Equal(t, http.StatusNoContent, r.status)
		// A fail after the complete no longer holds the lease.
		r = e.post("/v1/tasks/fail", map[string]any{"handle": task.Handle, "reason": "late"})
		require.Equal(t, http.StatusConflict, r.status, "%s", r.body)
		body := r.apiError(t)
		require.Contains(t, []ff.ErrorClass{ff.ClassState, ff.ClassContention}, body.Class)
		require.False(t, body.Retryable, "a terminal execution's lease never comes back: %s", r.body)
	})
}

// panicky panics inside DescribeExecution, like a backend bug would.
type panicky struct{ backend.Backend }

func (panicky) DescribeExecution(context.Context, backend.DescribeExecutionParams) (backend.ExecutionSnapshot, error) {
	panic("describe exploded")
}

// unavailable reports every read as unsupported.
type unavailable struct{ backend.Backend }

func (unavailable) ListLanes(context.Context, backend.ListLanesParams) (backend.LanePage, error) {
	return backend.LanePage{}, ff.Unavailable("list_lanes")
}

func (unavailable) Ping(context.Context) error {
	return ff.Transport("ping", context.DeadlineExceeded, true)
}

func TestPanicRecoveredAsBug(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		e := newEnv(t, open, server.Config{}, func(b backend.Backend, _ *prometheus.Registry) backend.Backend {
			return panicky{b}
		})
		id := e.create(map[string]any{})
		r := e.get(execPath(id, ""))
		require.Equal(t, http.StatusInternalServerError, r.status)
		body := r.apiError(t)
		require.Equal(t, ff.ErrBug, body.Kind)
		require.False(t, body.Retryable)
		// The server keeps serving.
		r = e.get(execPath(id, "/state"))
		require.Equal(t, http.StatusOK, r.status)
		require.Equal(t, 1.0, e.scrape()[`ff_http_requests_total{method="GET",route="/v1/executions/{id}",status="500"}`])
	})
}

func TestUnavailableAndUnhealthy(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		e := newEnv(t, open, server.Config{}, func(b backend.Backend, _ *prometheus.Registry) backend.Backend {
			return unavailable{b}
		})
		r := e.get("/v1/lanes")
		require.Equal(t, http.StatusServiceUnavailable, r.status)
		require.Equal(t, ff.ErrUnavailable, r.apiError(t).Kind)
		r = e.get("/healthz")
		require.Equal(t, http.StatusServiceUnavailable, r.status)
		body := r.apiError(t)
		require.True(t, body.Retryable)
	})
}
