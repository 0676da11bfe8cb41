package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/worker"
)

const token = "e2e-secret-token"

// submit runs `flowfabric exec submit --json` and returns the id.
func submit(t *testing.T, srv *serverProc, args ...string) ff.ExecutionID {
	t.Helper()
	out := mustCLI(t, []string{"FF_API_TOKEN=" + token}, append([]string{"exec", "submit", "--server", srv.URL, "--json"}, args...)...)
	var res struct {
		ExecutionID string `json:"execution_id"`
		PublicState string `json:"public_state"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &res), "submit output: %s", out)
	id, err := ff.ParseExecutionID(res.ExecutionID)
	require.NoError(t, err)
	return id
}

func greet(_ context.Context, t *worker.Task) (any, error) {
	var in struct{ Name string }
	if err := t.Decode(&in); err != nil {
		return nil, worker.Permanent(err)
	}
	return map[string]any{"greeting": "hello, " + in.Name, "attempt": t.AttemptIndex}, nil
}

// TestSubmitWorkResult: submit with the CLI, a remote worker completes
// it, the result is readable through the CLI and over HTTP, and the
// server stops cleanly on SIGTERM.
func TestSubmitWorkResult(t *testing.T) {
	eachBackend(t, func(t *testing.T, db database) {
		srv := startServer(t, db, "--api-token", token)
		require.Equal(t, 1, srv.logs.count("flowfabric server started"), "one startup line")
		startWorker(t, srv.URL, token, worker.Config{WorkerID: "greeter"}, map[string]worker.Handler{"greet": greet})

		id := submit(t, srv, "--kind", "greet", "--input", `{"name":"ada"}`, "--tag", "app.user=ada")
		c := newClient(srv.URL, token)
		snap := waitState(t, c, id, ff.PublicCompleted)
		require.Equal(t, "greet", snap.Kind)
		require.Equal(t, map[string]string{"app.user": "ada"}, snap.Tags)

		env := []string{"FF_SERVER_URL=" + srv.URL, "FF_API_TOKEN=" + token}
		out := mustCLI(t, env, "exec", "result", id.String())
		require.Equal(t, "hello, ada", resultOf(t, []byte(out))["greeting"])

		r := do(t, "GET", srv.URL+"/v1/executions/"+url.PathEscape(id.String())+"/result", "", "Authorization", "Bearer "+token)
		require.Equal(t, 200, r.status, "body: %s", r.body)
		require.Equal(t, "hello, ada", resultOf(t, r.body)["greeting"])

		out = mustCLI(t, env, "exec", "get", id.String())
		require.Contains(t, out, "completed")
		out = mustCLI(t, env, "exec", "list", "--state", "completed", "--json")
		require.Contains(t, out, id.String())

		srv.stop(t)
		require.Equal(t, 1, srv.logs.count("flowfabric server stopped"), srv.logs.String())
	})
}

// TestHandlerErrorRetriesThenSucceeds: the first attempt fails, the
// promoter makes the retry eligible after its backoff, the second
// attempt completes.
func TestHandlerErrorRetriesThenSucceeds(t *testing.T) {
	eachBackend(t, func(t *testing.T, db database) {
		srv := startServer(t, db, "--api-token", token)
		var calls atomic.Int32
		flaky := func(_ context.Context, t *worker.Task) (any, error) {
			calls.Add(1)
			if t.AttemptIndex == 0 {
				return nil, errors.New("upstream timed out")
			}
			return map[string]any{"attempt": t.AttemptIndex, "type": t.AttemptType}, nil
		}
		startWorker(t, srv.URL, token, worker.Config{WorkerID: "flaky"}, map[string]worker.Handler{"flaky": flaky})

		id := submit(t, srv, "--kind", "flaky", "--max-retries", "2", "--retry-delay", "100ms")
		c := newClient(srv.URL, token)
		snap := waitState(t, c, id, ff.PublicCompleted)
		require.Equal(t, 1, snap.RetryCount)
		require.Equal(t, uint32(2), snap.AttemptCount)
		require.Equal(t, int32(2), calls.Load())
		res, err := c.GetExecutionResult(context.Background(), backend.GetExecutionResultParams{ExecutionID: id})
		require.NoError(t, err)
		require.Equal(t, map[string]any{"attempt": float64(1), "type": "retry"}, resultOf(t, res))

		attempts, err := c.ListAttempts(context.Background(), backend.ListAttemptsParams{ExecutionID: id})
		require.NoError(t, err)
		require.Len(t, attempts, 2)
	})
}

// TestKilledWorkerIsReclaimed: a worker dies mid-lease; the reconcilers
// expire its lease after the TTL and another worker completes the
// execution with a reclaim attempt (attempt_index 1).
func TestKilledWorkerIsReclaimed(t *testing.T) {
	eachBackend(t, func(t *testing.T, db database) {
		srv := startServer(t, db, "--api-token", token)
		started := make(chan struct{}, 1)
		hang := func(ctx context.Context, t *worker.Task) (any, error) {
			started <- struct{}{}
			<-ctx.Done()
			return nil, context.Cause(ctx)
		}
		a := startWorker(t, srv.URL, token, worker.Config{WorkerID: "a", LeaseTTL: 300 * time.Millisecond},
			map[string]worker.Handler{"job": hang})

		id := submit(t, srv, "--kind", "job", "--input", `{"n":1}`)
		select {
		case <-started:
		case <-time.After(20 * time.Second):
			t.Fatal("worker a never started the job")
		}
		a.Kill()
		c := newClient(srv.URL, token)
		snap, err := c.DescribeExecution(context.Background(), backend.DescribeExecutionParams{ExecutionID: id})
		require.NoError(t, err)
		require.Equal(t, ff.PublicActive, snap.PublicState, "the killed worker's lease is still held")

		finish := func(_ context.Context, t *worker.Task) (any, error) {
			return map[string]any{"attempt": t.AttemptIndex, "type": t.AttemptType}, nil
		}
		startWorker(t, srv.URL, token, worker.Config{WorkerID: "b", LeaseTTL: time.Second},
			map[string]worker.Handler{"job": finish})
		snap = waitState(t, c, id, ff.PublicCompleted)
		require.Equal(t, 1, snap.ReclaimCount)

		out := mustCLI(t, []string{"FF_API_TOKEN=" + token}, "exec", "result", "--server", srv.URL, id.String())
		require.Equal(t, map[string]any{"attempt": float64(1), "type": "reclaim"}, resultOf(t, []byte(out)))
		m := scrape(t, srv.URL)
		require.GreaterOrEqual(t, m[`ff_reconciler_items_total{reconciler="lease_expiry"}`], 1.0)
	})
}

// TestCLIErrors: client-side mistakes and API errors are one line on
// stderr with a non-zero exit code, never a stack trace.
func TestCLIErrors(t *testing.T) {
	srv := startServer(t, sqliteDB(t), "--api-token", token)
	env := []string{"FF_SERVER_URL=" + srv.URL, "FF_API_TOKEN=" + token}

	r := runCLI(t, env, "exec", "get", "not-an-id")
	require.Equal(t, 2, r.code)
	require.Contains(t, r.stderr, "is not an execution id")

	r = runCLI(t, env, "exec", "get", "{fp:1}:0b9f5c9e-2f5e-4c43-9c1f-3f7c7f1d2a10")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "not_found")

	r = runCLI(t, env, "exec", "submit", "--input", "{}")
	require.Equal(t, 2, r.code)
	require.Contains(t, r.stderr, "--kind is required")

	r = runCLI(t, env, "exec", "submit", "--kind", "k", "--input", "{oops")
	require.Equal(t, 2, r.code)
	require.Contains(t, r.stderr, "not valid JSON")

	id := submit(t, srv, "--kind", "never-run")
	out := mustCLI(t, env, "lanes")
	require.Regexp(t, `(?m)^default\s+1\s+0\s+0\s+0\s+running\s*$`, out)
	r = runCLI(t, env, "exec", "result", id.String())
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "has no result: it is waiting")

	out = mustCLI(t, env, "exec", "cancel", id.String(), "--reason", "not needed")
	require.Contains(t, out, "cancelled")

	r = runCLI(t, []string{"FF_SERVER_URL=" + srv.URL}, "exec", "list")
	require.Equal(t, 1, r.code, "no token")
	require.Contains(t, r.stderr, "unauthorized")

	r = runCLI(t, nil, "exec", "list", "--server", "http://127.0.0.1:1", "--timeout", "2s")
	require.Equal(t, 1, r.code, "no server")
	require.Contains(t, r.stderr, "flowfabric: error:")

	r = runCLI(t, nil, "frobnicate")
	require.Equal(t, 2, r.code)
	require.Equal(t, "flowfabric: error: unknown command \"frobnicate\" for \"flowfabric\"\nRun with --help for usage.\n", r.stderr)
}
