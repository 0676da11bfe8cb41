package cli

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/fftest"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

func TestOperatorCommands(t *testing.T) {
	e := fftest.New(t, fftest.WithHTTP())
	srv := []string{"--server", e.URL()}
	run := func(args ...string) string {
		t.Helper()
		out, errOut, code := runMain(t, nil, append(args, srv...)...)
		require.Zero(t, code, "%v: %s", args, errOut)
		return out
	}
	id := e.Create(backend.CreateExecutionParams{Lane: "ops", Kind: "k"})
	require.Equal(t, id.String()+" priority 77\n", run("exec", "priority", id.String(), "77", "--reason", "vip"))
	var pr wire.PriorityResponse
	require.NoError(t, json.Unmarshal([]byte(run("exec", "priority", id.String(), "78", "--json")), &pr))
	require.Equal(t, int64(78), pr.Priority)
	_, errOut, code := runMain(t, nil, append([]string{"exec", "priority", id.String(), "9001"}, srv...)...)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "invalid_input")
	_, _, code = runMain(t, nil, append([]string{"exec", "priority", id.String(), "high"}, srv...)...)
	require.Equal(t, 2, code, "a priority that is not a number is a usage error")

	require.Equal(t, "ops paused=true\n", run("lanes", "pause", "ops", "--reason", "incident", "--source", "alice"))
	require.Contains(t, run("lanes"), "paused", "lanes shows the pause")
	var list wire.LaneStateList
	require.NoError(t, json.Unmarshal([]byte(run("lanes", "paused", "--json")), &list))
	require.Equal(t, []wire.LaneState{{Lane: "ops", Paused: true, PausedAtMs: list.Lanes[0].PausedAtMs, Source: "alice", Reason: "incident"}}, list.Lanes)
	tasks, err := e.Client().Claim(t.Context(), backend.ClaimParams{WorkerID: "w", Lanes: []string{"ops"}})
	require.NoError(t, err)
	require.Empty(t, tasks, "a paused lane hands out nothing")
	require.Equal(t, "ops paused=false\n", run("lanes", "resume", "ops"))

	tasks, err = e.Client().Claim(t.Context(), backend.ClaimParams{WorkerID: "w", Lanes: []string{"ops"}})
	require.NoError(t, err)
	require.Len(t, tasks, 1)
	require.Contains(t, run("exec", "revoke", id.String()), "revoked")
	require.Equal(t, id.String()+" holds no active lease\n", run("exec", "revoke", id.String()))
	_, errOut, code = runMain(t, nil, append([]string{"exec", "replay", id.String()}, srv...)...)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "execution_not_terminal")

	var step wire.BulkResponse
	require.NoError(t, json.Unmarshal([]byte(run("lanes", "bulk-cancel", "ops", "--state", "active", "--json")), &step))
	require.Len(t, step.Items, 1, "the revoked execution awaits its reclaim: active")
	require.Equal(t, ff.PublicCancelled, step.Items[0].PublicState)
	require.Equal(t, id.String()+" waiting\n", run("exec", "replay", id.String(), "--reason", "retry"))
	e.Create(backend.CreateExecutionParams{Lane: "ops", Kind: "k"})
	out := run("lanes", "bulk-cancel", "ops", "--state", "waiting", "--limit", "1", "--all")
	require.Equal(t, 3, strings.Count(out, "\n"), "a header and one line per execution, all steps: %s", out)
	_, _, code = runMain(t, nil, append([]string{"lanes", "bulk-replay", "ops", "--state", "waiting"}, srv...)...)
	require.Equal(t, 1, code)

	out = run("events", "--types", "operator")
	for _, action := range []string{"priority_changed", "lane_paused", "lane_resumed", "lease_revoked", "cancelled", "replayed"} {
		require.Contains(t, out, "operator/"+action)
	}
	lines := strings.Split(strings.TrimSpace(run("events", "--types", "operator", "--lane", "ops", "--json")), "\n")
	var first wire.Event
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &first))
	require.Equal(t, "priority_changed", first.Action)
	require.JSONEq(t, `{"source":"operator","reason":"vip","old_priority":0,"priority":77}`, string(first.Data))
	_, _, code = runMain(t, nil, append([]string{"events", "--types", "nope"}, srv...)...)
	require.Equal(t, 2, code)
}

// lineWriter sends each write to a channel.
type lineWriter chan string

func (w lineWriter) Write(p []byte) (int, error) {
	w <- string(p)
	return len(p), nil
}

func TestEventsFollow(t *testing.T) {
	e := fftest.New(t, fftest.WithHTTP())
	out := make(lineWriter, 16)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan int)
	go func() {
		env := Env{Stdin: strings.NewReader(""), Stdout: out, Stderr: io.Discard, Getenv: func(string) string { return "" }}
		done <- Main(ctx, []string{"events", "--follow", "--types", "operator", "--lane", "fol", "--json", "--server", e.URL()},
			env, BuildInfo{Version: "test"})
	}()
	id := e.Create(backend.CreateExecutionParams{Lane: "fol", Kind: "k"})
	require.NoError(t, e.Client().ChangePriority(t.Context(), backend.ChangePriorityParams{ExecutionID: id, Priority: 3}))
	var ev wire.Event
	require.NoError(t, json.Unmarshal([]byte(<-out), &ev))
	require.Equal(t, id.String(), ev.ExecutionID)
	require.Equal(t, "priority_changed", ev.Action)
	cancel()
	require.Zero(t, <-done, "an interrupted follow exits cleanly")
}
