package fftest

import (
	"context"
	"testing"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// WaitpointReader is what RequireSuspended reads: backend.Backend,
// *client.Client and *Engine satisfy it.
type WaitpointReader interface {
	Reader
	ListWaitpoints(ctx context.Context, p backend.ListWaitpointsParams) ([]ff.Waitpoint, error)
}

// RequireSuspended fails t unless id is suspended with an active
// waitpoint of key waitpointKey ("" = any waitpoint), and returns that
// waitpoint (its token blanked, as every read returns it).
func RequireSuspended(t testing.TB, r WaitpointReader, id ff.ExecutionID, waitpointKey string) ff.Waitpoint {
	t.Helper()
	RequireState(t, r, id, ff.PublicSuspended)
	ctx, cancel := readCtx()
	defer cancel()
	wps, err := r.ListWaitpoints(ctx, backend.ListWaitpointsParams{ExecutionID: id})
	if err != nil {
		t.Fatalf("fftest: waitpoints of %s: %v", id, err)
	}
	for _, wp := range wps {
		if wp.State == ff.WaitpointActive && (waitpointKey == "" || wp.Key == waitpointKey) {
			return wp
		}
	}
	failf(t, r, id, "fftest: %s is suspended but on no active waitpoint %q (%d waitpoints)", id, waitpointKey, len(wps))
	return ff.Waitpoint{}
}

// FlowReader is what RequireFlowState reads: backend.Backend,
// *client.Client and *Engine satisfy it.
type FlowReader interface {
	DescribeFlow(ctx context.Context, p backend.DescribeFlowParams) (backend.FlowSnapshot, error)
}

// RequireFlowState fails t unless flow flowID's public_flow_state is
// want (ff.FlowOpen, ff.FlowCompleted, …), and returns its snapshot.
func RequireFlowState(t testing.TB, r FlowReader, flowID, want string) backend.FlowSnapshot {
	t.Helper()
	ctx, cancel := readCtx()
	defer cancel()
	snap, err := r.DescribeFlow(ctx, backend.DescribeFlowParams{FlowID: flowID})
	if err != nil {
		t.Fatalf("fftest: describe flow %s: %v", flowID, err)
	}
	if snap.PublicFlowState != want {
		t.Fatalf("fftest: flow %s is %s, want %s (%d members)", flowID, snap.PublicFlowState, want, len(snap.Members))
	}
	return snap
}

func (e *Engine) ListWaitpoints(ctx context.Context, p backend.ListWaitpointsParams) ([]ff.Waitpoint, error) {
	return e.Backend().ListWaitpoints(ctx, p)
}

func (e *Engine) DescribeFlow(ctx context.Context, p backend.DescribeFlowParams) (backend.FlowSnapshot, error) {
	return e.Backend().DescribeFlow(ctx, p)
}
