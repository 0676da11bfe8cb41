package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/fftest"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

func TestFlowCommands(t *testing.T) {
	e := fftest.New(t, fftest.WithHTTP())
	srv := []string{"--server", e.URL()}
	run := func(args ...string) string {
		t.Helper()
		out, errOut, code := runMain(t, nil, append(args, srv...)...)
		require.Zero(t, code, "%v: %s", args, errOut)
		return out
	}
	var created wire.CreateFlowResponse
	require.NoError(t, json.Unmarshal([]byte(run("flow", "create", "--kind", "etl", "--json",
		"--dag", `[{"ref":"a","kind":"extract"},{"ref":"b","kind":"load","depends_on_refs":["a"]}]`)), &created))
	require.Len(t, created.ExecutionIDs, 2)
	a := created.ExecutionIDs["a"].String()

	var sub struct {
		ExecutionID string         `json:"execution_id"`
		PublicState ff.PublicState `json:"public_state"`
	}
	require.NoError(t, json.Unmarshal([]byte(run("exec", "submit", "--kind", "report", "--flow", created.FlowID,
		"--depends-on", a, "--join", "any_of", "--json")), &sub))
	require.Equal(t, ff.PublicWaitingChildren, sub.PublicState)

	var f wire.Flow
	require.NoError(t, json.Unmarshal([]byte(run("flow", "get", created.FlowID, "--json")), &f))
	require.Len(t, f.Members, 3)
	require.Len(t, f.Edges, 2)
	text := run("flow", "get", created.FlowID)
	require.Contains(t, text, "flow "+created.FlowID+" (etl) open, graph revision 2")
	require.Contains(t, text, "any_of")

	var page wire.FlowPage
	require.NoError(t, json.Unmarshal([]byte(run("flow", "list", "--json")), &page))
	require.Len(t, page.Flows, 1)
	require.Contains(t, run("flow", "list"), created.FlowID)

	var cancelled wire.CancelFlowResponse
	require.NoError(t, json.Unmarshal([]byte(run("flow", "cancel", created.FlowID, "--wait", "--reason", "stop", "--json")), &cancelled))
	require.Len(t, cancelled.MemberExecutionIDs, 3)
	require.Zero(t, cancelled.Pending)
	require.Equal(t, "flow "+created.FlowID+" cancelled (cancel_all): 3 members, 0 pending\n", run("flow", "cancel", created.FlowID))

	_, errOut, code := runMain(t, nil, append([]string{"flow", "get", "0d6f2d4e-5a1b-4c3d-8e9f-0a1b2c3d4e5f"}, srv...)...)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "not_found")
	for _, bad := range [][]string{{"exec", "submit", "--kind", "k", "--depends-on", a}, {"flow", "get"},
		{"flow", "create", "--dag", "not json"}} {
		_, errOut, code := runMain(t, nil, append(bad, srv...)...)
		require.Equal(t, 2, code, "%v: %s", bad, errOut)
	}
	require.True(t, strings.HasPrefix(run("flow", "--help"), "A flow is a DAG"))
}
