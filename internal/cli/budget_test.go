package cli

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/flowfabric-go/flowfabric/fftest"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

func TestBudgetAndQuotaCommands(t *testing.T) {
	e := fftest.New(t, fftest.WithHTTP())
	srv := []string{"--server", e.URL()}
	run := func(args ...string) string {
		t.Helper()
		out, errOut, code := runMain(t, nil, append(args, srv...)...)
		require.Zero(t, code, "%v: %s", args, errOut)
		return out
	}
	require.Equal(t, "tenant-1 created\n", run("budget", "create", "tenant-1", "--limit", "tokens=100:80", "--limit", "calls=5",
		"--reset-interval", "24h"))
	require.JSONEq(t, `{"budget_id":"tenant-1","created":false}`, run("budget", "create", "tenant-1", "--json"))
	require.Equal(t, "soft_breach on tokens: usage 90, limit 80\n", run("budget", "usage", "tenant-1", "--dim", "tokens=90", "--dedup-key", "k"))
	var o wire.UsageOutcome
	require.NoError(t, json.Unmarshal([]byte(run("budget", "usage", "tenant-1", "--dim", "tokens=90", "--dedup-key", "k", "--json")), &o))
	require.Equal(t, "already_applied", string(o.Outcome))
	require.Equal(t, "DIMENSION  USAGE  HARD  SOFT\n"+
		"calls      0      5     -\n"+
		"tokens     90     100   80\n"+
		"breaches 0 (soft 1), last on -; next reset 2026-01-02T00:00:00Z\n", run("budget", "get", "tenant-1"))
	var b wire.Budget
	require.NoError(t, json.Unmarshal([]byte(run("budget", "get", "tenant-1", "--json")), &b))
	require.Equal(t, int64(90), b.Usage["tokens"])
	require.Equal(t, "tenant-1 reset, 0 unblocked, next reset 2026-01-02T00:00:00Z\n", run("budget", "reset", "tenant-1"))

	require.Equal(t, "api created\n", run("quota", "create", "api", "--window", "1s", "--max-per-window", "5", "--max-concurrent", "2"))
	require.Equal(t, "api: window 0/5 in 1s, concurrency 0/2, blocked 0\n", run("quota", "get", "api"))
	var q wire.Quota
	require.NoError(t, json.Unmarshal([]byte(run("quota", "get", "api", "--json")), &q))
	require.Equal(t, int64(2), q.MaxConcurrent)

	out := run("exec", "submit", "--kind", "k", "--lane", "q", "--budget", "tenant-1", "--quota", "api", "--json")
	require.Contains(t, out, `"public_state": "waiting"`)
	_, errOut, code := runMain(t, nil, append([]string{"exec", "submit", "--kind", "k", "--budget", "nope"}, srv...)...)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "unknown budget")
	_, errOut, code = runMain(t, nil, append([]string{"quota", "create", "bad", "--max-per-window", "5"}, srv...)...)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "invalid_input")
	_, errOut, code = runMain(t, nil, append([]string{"budget", "create", "x", "--limit", "tokens=-1"}, srv...)...)
	require.NotZero(t, code)
	require.Contains(t, errOut, "--limit")
	_, errOut, code = runMain(t, nil, append([]string{"budget", "get", "none"}, srv...)...)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "not_found")
}
