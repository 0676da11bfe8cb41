package client_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/client"
)

func TestWaitpointsOverHTTP(t *testing.T) {
	e := newEnv(t, "tok")
	ctx := context.Background()
	_, err := e.b.SeedWaitpointKey(ctx, backend.SeedWaitpointKeyParams{Generate: true})
	require.NoError(t, err)
	res, err := e.c.CreateExecution(ctx, backend.CreateExecutionParams{Lane: "wp", Kind: "k"})
	require.NoError(t, err)
	tasks, err := e.c.Claim(ctx, backend.ClaimParams{WorkerID: "w", Lanes: []string{"wp"}, LeaseTTL: time.Minute})
	require.NoError(t, err)
	require.Len(t, tasks, 1)
	pending, err := e.c.CreateWaitpoint(ctx, backend.CreateWaitpointParams{Handle: tasks[0].Handle, Key: "approval"})
	require.NoError(t, err)
	c := ff.Condition{Type: ff.ConditionSingle, SignalName: "approve"}
	out, err := e.c.Suspend(ctx, backend.SuspendParams{Handle: tasks[0].Handle, Request: ff.SuspendRequest{
		WaitpointKeys: []string{"approval"}, Condition: &c, TimeoutAtMs: ff.MsFromTime(epoch.Add(time.Hour))}})
	require.NoError(t, err)
	require.Equal(t, pending.Token, out.Waitpoint("approval").Token)
	ws, err := e.c.ListWaitpoints(ctx, backend.ListWaitpointsParams{ExecutionID: res.ExecutionID})
	require.NoError(t, err)
	require.Len(t, ws, 1)
	require.Equal(t, ff.TokenFingerprint(pending.Token), ws[0].TokenFingerprint)
	tok, err := e.c.GetWaitpointToken(ctx, backend.GetWaitpointTokenParams{ExecutionID: res.ExecutionID, WaitpointID: pending.WaitpointID})
	require.NoError(t, err)
	require.Equal(t, pending.Token, tok)

	// A client without the API token may signal: the token is enough.
	anon := client.New(e.ts.URL)
	_, err = anon.Signal(ctx, res.ExecutionID, pending.WaitpointID, pending.Token+"0", "approve", nil)
	require.ErrorIs(t, err, ff.ErrInvalidToken)
	sig, err := anon.Signal(ctx, res.ExecutionID, pending.WaitpointID, pending.Token, "approve", map[string]string{"by": "ann"})
	require.NoError(t, err)
	require.Equal(t, ff.EffectResumeConditionSatisfied, sig.Effect)
	_, err = anon.ListSignals(ctx, backend.ListSignalsParams{ExecutionID: res.ExecutionID})
	require.Error(t, err, "reads need the API token")

	again, err := e.c.Claim(ctx, backend.ClaimParams{WorkerID: "w", Lanes: []string{"wp"}, LeaseTTL: time.Minute})
	require.NoError(t, err)
	require.Len(t, again, 1)
	require.Len(t, again[0].ResumedSignals, 1)
	require.Equal(t, sig.SignalID, again[0].ResumedSignals[0].ID)
	sigs, err := e.c.ListSignals(ctx, backend.ListSignalsParams{ExecutionID: res.ExecutionID})
	require.NoError(t, err)
	require.JSONEq(t, `{"by":"ann"}`, string(sigs[0].Payload))

	require.NoError(t, e.c.Complete(ctx, backend.CompleteParams{Handle: again[0].Handle}))
	_, err = e.c.ResumeExecution(ctx, backend.ResumeExecutionParams{ExecutionID: res.ExecutionID})
	require.ErrorIs(t, err, ff.ErrNotEligible)
	rot, err := e.c.RotateWaitpointKey(ctx, backend.RotateWaitpointKeyParams{Kid: "k2", Grace: time.Minute})
	require.NoError(t, err)
	require.Equal(t, "k1", rot.PreviousKid)
	require.Equal(t, ff.MsFromTime(epoch.Add(time.Minute)), rot.PreviousValidUntilMs)
}
