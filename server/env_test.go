package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/backend/postgres"
	"github.com/flowfabric-go/flowfabric/backend/sqlite"
	"github.com/flowfabric-go/flowfabric/internal/clock"
	"github.com/flowfabric-go/flowfabric/internal/pgtest"
	"github.com/flowfabric-go/flowfabric/server"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

// store is one real backend driven by a fake clock.
type store struct {
	b     backend.Backend
	clock *clock.Fake
}

type opener func(t *testing.T) store

var epoch = time.UnixMilli(1_700_000_000_000)

func openSQLite(t *testing.T) store {
	fake := clock.NewFake(epoch)
	b, err := sqlite.Open(context.Background(), sqlite.Options{
		Path: filepath.Join(t.TempDir(), "ff.db"), Clock: fake, AutoMigrate: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	return store{b, fake}
}

func openPostgres(t *testing.T) store {
	fake := clock.NewFake(epoch)
	b, err := postgres.Open(context.Background(), postgres.Options{URL: pgtest.Schema(t), AutoMigrate: true, Clock: fake})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	return store{b, fake}
}

// backends is the table every HTTP test runs over.
var backends = []struct {
	name string
	open opener
}{
	{"sqlite", openSQLite},
	{"postgres", openPostgres},
}

// eachBackend runs f once per backend, in parallel.
func eachBackend(t *testing.T, f func(t *testing.T, open opener)) {
	t.Parallel()
	for _, bk := range backends {
		t.Run(bk.name, func(t *testing.T) {
			t.Parallel()
			f(t, bk.open)
		})
	}
}

// env is a real server over a real backend on a loopback port.
type env struct {
	t     *testing.T
	store store
	srv   *server.Server
	ts    *httptest.Server
	reg   *prometheus.Registry
	token string
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// newEnv starts a server over the backend built by open. wrap, when
// non-nil, decorates the backend first (instrumentation, panics).
func newEnv(t *testing.T, open opener, cfg server.Config, wrap func(backend.Backend, *prometheus.Registry) backend.Backend, opts ...server.Option) *env {
	t.Helper()
	st := open(t)
	reg := prometheus.NewRegistry()
	b := st.b
	if wrap != nil {
		b = wrap(b, reg)
	}
	cfg.Registry = reg
	if cfg.Logger == nil {
		cfg.Logger = quietLogger()
	}
	srv := server.New(cfg, b, opts...)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return &env{t: t, store: st, srv: srv, ts: ts, reg: reg, token: cfg.APIToken}
}

// reply is a read response.
type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) json(t *testing.T, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(r.body, v), "body: %s", r.body)
}

func (r reply) apiError(t *testing.T) wire.ErrorBody {
	t.Helper()
	var e wire.ErrorBody
	r.json(t, &e)
	require.NotEmpty(t, e.Kind, "error body without kind: %s", r.body)
	return e
}

// do sends a request; body may be nil, a string/[]byte (sent raw) or a
// value (sent as JSON). Content-Type is application/json unless headers
// override it.
func (e *env) do(method, path string, body any, headers ...string) reply {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		require.NoError(e.t, err)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.ts.URL+path, rd)
	require.NoError(e.t, err)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if e.token != "" {
		req.Header.Set("Authorization", "Bearer "+e.token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	resp, err := e.ts.Client().Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	return reply{status: resp.StatusCode, header: resp.Header, body: data}
}

func (e *env) post(path string, body any) reply { return e.do(http.MethodPost, path, body) }
func (e *env) get(path string) reply            { return e.do(http.MethodGet, path, nil) }

// create posts an execution and returns its id text.
func (e *env) create(req map[string]any) string {
	e.t.Helper()
	if _, ok := req["kind"]; !ok {
		req["kind"] = "test.job"
	}
	r := e.post("/v1/executions", req)
	require.Equal(e.t, http.StatusCreated, r.status, "create: %s", r.body)
	var out wire.CreateExecutionResponse
	r.json(e.t, &out)
	return out.ExecutionID.String()
}

// claim claims up to max tasks on lane for worker.
func (e *env) claim(worker, lane string, max int) []wire.ClaimedTask {
	e.t.Helper()
	r := e.post("/v1/workers/"+worker+"/claim", map[string]any{"lanes": []string{lane}, "max": max})
	if r.status == http.StatusNoContent {
		return nil
	}
	require.Equal(e.t, http.StatusOK, r.status, "claim: %s", r.body)
	var out wire.ClaimResponse
	r.json(e.t, &out)
	return out.Tasks
}

// claimOne creates nothing; it claims exactly one task or fails.
func (e *env) claimOne(lane string) wire.ClaimedTask {
	e.t.Helper()
	tasks := e.claim("w1", lane, 1)
	require.Len(e.t, tasks, 1)
	return tasks[0]
}

// execPath is /v1/executions/<escaped id><suffix>.
func execPath(id, suffix string) string {
	return "/v1/executions/" + escape(id) + suffix
}

func escape(id string) string {
	r := strings.NewReplacer("{", "%7B", "}", "%7D")
	return r.Replace(id)
}

// scrape reads /metrics into "name{labels}" → value.
func (e *env) scrape() map[string]float64 {
	e.t.Helper()
	r := e.get("/metrics")
	require.Equal(e.t, http.StatusOK, r.status)
	out := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(r.body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		require.NoError(e.t, err, line)
		out[line[:i]] = v
	}
	return out
}
