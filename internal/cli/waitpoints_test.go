package cli

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/fftest"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

func TestWaitpointCommands(t *testing.T) {
	e := fftest.New(t, fftest.WithHTTP())
	b := e.Backend()
	srv := []string{"--server", e.URL()}
	run := func(vars map[string]string, args ...string) (string, string, int) {
		t.Helper()
		return runMain(t, vars, append(args, srv...)...)
	}
	id := e.Create(backend.CreateExecutionParams{Lane: "cli", Kind: "k"})
	tasks, err := b.Claim(e.Context(), backend.ClaimParams{WorkerID: "w", Lanes: []string{"cli"}, LeaseTTL: time.Minute})
	require.NoError(t, err)
	c := ff.Condition{Type: ff.ConditionSingle, SignalName: "approve"}
	out, err := b.Suspend(e.Context(), backend.SuspendParams{Handle: tasks[0].Handle,
		Request: ff.SuspendRequest{WaitpointKeys: []string{"approval"}, Condition: &c}})
	require.NoError(t, err)
	wp := out.Waitpoint("approval")

	stdout, errOut, code := run(nil, "exec", "waitpoints", id.String())
	require.Zero(t, code, errOut)
	require.Contains(t, stdout, "approval")
	require.NotContains(t, stdout, wp.Token)

	_, errOut, code = run(map[string]string{"FF_WAITPOINT_TOKEN": "k1:" + strings.Repeat("0", 64)},
		"signal", id.String(), "--key", "approval", "--name", "approve")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "invalid_token")
	stdout, errOut, code = run(map[string]string{"FF_WAITPOINT_TOKEN": wp.Token},
		"signal", id.String(), "--key", "approval", "--name", "approve", "--payload", `{"by":"cli"}`, "--json")
	require.Zero(t, code, errOut)
	var res wire.SignalResponse
	require.NoError(t, json.Unmarshal([]byte(stdout), &res))
	require.Equal(t, ff.EffectResumeConditionSatisfied, res.Effect)
	stdout, errOut, code = run(nil, "exec", "signals", id.String())
	require.Zero(t, code, errOut)
	require.Contains(t, stdout, "resume_condition_satisfied")

	_, errOut, code = run(nil, "exec", "resume", id.String())
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "execution_not_eligible")

	stdout, errOut, code = run(nil, "waitpoint-keys", "rotate", "--kid", "k2", "--grace", "1h", "--json")
	require.Zero(t, code, errOut)
	var rot wire.RotateKeyResponse
	require.NoError(t, json.Unmarshal([]byte(stdout), &rot))
	require.Equal(t, "k2", rot.Kid)
	require.NotEmpty(t, rot.PreviousKid)
}
