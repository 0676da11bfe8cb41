package e2e

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/server/wire"
	"github.com/flowfabric-go/flowfabric/worker"
)

// TestFlowOverHTTP: a DAG created with the CLI runs on a remote worker in
// dependency order, the downstream reading its upstream's result, and
// the flow reads completed.
func TestFlowOverHTTP(t *testing.T) {
	eachBackend(t, func(t *testing.T, db database) {
		srv := startServer(t, db, "--api-token", token)
		env := []string{"FF_SERVER_URL=" + srv.URL, "FF_API_TOKEN=" + token}
		var f wire.CreateFlowResponse
		require.NoError(t, json.Unmarshal([]byte(mustCLI(t, env, "flow", "create", "--kind", "e2e", "--json", "--dag",
			`[{"ref":"a","kind":"double","input":21},{"ref":"b","kind":"double","depends_on_refs":["a"]}]`)), &f))
		double := func(ctx context.Context, t *worker.Task) (any, error) {
			n := 0
			if ups, err := t.UpstreamResults(ctx); err != nil {
				return nil, err
			} else if len(ups) == 1 {
				_ = json.Unmarshal(ups[0].Result, &n)
			} else {
				_ = t.Decode(&n)
			}
			return 2 * n, nil
		}
		startWorker(t, srv.URL, token, worker.Config{WorkerID: "doubler"}, map[string]worker.Handler{"double": double})
		c := newClient(srv.URL, token)
		waitState(t, c, f.ExecutionIDs["b"], ff.PublicCompleted)
		out := mustCLI(t, env, "exec", "result", f.ExecutionIDs["b"].String())
		require.JSONEq(t, "84", out)
		var got wire.Flow
		require.NoError(t, json.Unmarshal([]byte(mustCLI(t, env, "flow", "get", f.FlowID, "--json")), &got))
		require.Equal(t, ff.FlowCompleted, got.PublicFlowState)
		srv.stop(t)
	})
}

// TestFlowCancelBacklogSurvivesRestart: an asynchronous cancel queues its
// members; the server is killed before its reconciler works the backlog
// (its interval is an hour); the next server finishes the job.
func TestFlowCancelBacklogSurvivesRestart(t *testing.T) {
	eachBackend(t, func(t *testing.T, db database) {
		srv := startServer(t, db, "--api-token", token, "--flow-cancel-interval", "1h")
		env := []string{"FF_SERVER_URL=" + srv.URL, "FF_API_TOKEN=" + token}
		var f wire.CreateFlowResponse
		require.NoError(t, json.Unmarshal([]byte(mustCLI(t, env, "flow", "create", "--json", "--dag",
			`[{"ref":"a","kind":"idle","lane":"nobody"},{"ref":"b","kind":"idle","lane":"nobody","depends_on_refs":["a"]}]`)), &f))
		var res wire.CancelFlowResponse
		require.NoError(t, json.Unmarshal([]byte(mustCLI(t, env, "flow", "cancel", f.FlowID, "--json")), &res))
		require.Equal(t, 2, res.Pending)
		srv.kill()

		srv = srv.restart(t, db, "--api-token", token)
		c := newClient(srv.URL, token)
		for _, id := range f.ExecutionIDs {
			waitState(t, c, id, ff.PublicCancelled)
		}
		require.NoError(t, json.Unmarshal([]byte(mustCLI(t, env, "flow", "cancel", f.FlowID, "--json")), &res))
		require.Zero(t, res.Pending)
		srv.stop(t)
	})
}
