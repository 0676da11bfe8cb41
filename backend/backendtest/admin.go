package backendtest

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// Identity, health and the capability snapshot: a flag is true exactly
// when the operation can be called.

func init() {
	register("Admin/LabelAndPing", testAdminLabelPing)
	register("Admin/CoreCapabilities", testAdminCoreCapabilities)
	register("Admin/CapabilityFlagsMatchBehaviour", testAdminFlagsMatch)
}

func testAdminLabelPing(t *testing.T, h Harness) {
	e := newEnv(t, h)
	require.NotEmpty(t, e.b.Label())
	require.NoError(t, e.b.Ping(e.ctx))
}

func testAdminCoreCapabilities(t *testing.T, h Harness) {
	e := newEnv(t, h)
	c := e.b.Capabilities()
	require.NotEmpty(t, c.Family)
	require.NotEmpty(t, c.Version)
	s := c.Supports
	core := backend.CoreSupports()
	for name, pair := range map[string][2]bool{
		"create_execution":     {core.CreateExecution, s.CreateExecution},
		"claim":                {core.Claim, s.Claim},
		"claim_batch":          {core.ClaimBatch, s.ClaimBatch},
		"renew":                {core.Renew, s.Renew},
		"progress":             {core.Progress, s.Progress},
		"complete":             {core.Complete, s.Complete},
		"fail":                 {core.Fail, s.Fail},
		"cancel":               {core.Cancel, s.Cancel},
		"delay":                {core.Delay, s.Delay},
		"cancel_execution":     {core.CancelExecution, s.CancelExecution},
		"describe_execution":   {core.DescribeExecution, s.DescribeExecution},
		"read_execution_state": {core.ReadExecutionState, s.ReadExecutionState},
		"get_execution_result": {core.GetExecutionResult, s.GetExecutionResult},
		"list_executions":      {core.ListExecutions, s.ListExecutions},
		"list_lanes":           {core.ListLanes, s.ListLanes},
		"leader_election":      {core.LeaderElection, s.LeaderElection},
	} {
		require.True(t, pair[0], "CoreSupports lists %s", name)
		require.True(t, pair[1], "a first-wave backend supports %s", name)
	}
}

// For each later-wave feature, the flag and the behaviour agree: false
// means the operation answers unavailable; true means it does not. Probes
// are reads of things that do not exist, so they have no side effects.
func testAdminFlagsMatch(t *testing.T, h Harness) {
	e := newEnv(t, h)
	s := e.b.Capabilities().Supports
	ghost := randomID()
	probes := []struct {
		name string
		flag bool
		call func(ctx context.Context, b backend.Backend) error
	}{
		{"flows", s.Flows, func(ctx context.Context, b backend.Backend) error {
			_, err := b.DescribeFlow(ctx, backend.DescribeFlowParams{FlowID: "00000000-0000-4000-8000-000000000000"})
			return err
		}},
		{"waitpoints", s.Waitpoints, func(ctx context.Context, b backend.Backend) error {
			_, err := b.ListWaitpoints(ctx, backend.ListWaitpointsParams{ExecutionID: ghost})
			return err
		}},
		{"budget_admin", s.BudgetAdmin, func(ctx context.Context, b backend.Backend) error {
			_, err := b.GetBudget(ctx, backend.GetBudgetParams{BudgetID: "no-such-budget"})
			return err
		}},
		{"streams", s.Streams, func(ctx context.Context, b backend.Backend) error {
			_, err := b.ReadSummary(ctx, backend.ReadSummaryParams{ExecutionID: ghost})
			return err
		}},
		{"change_priority", s.ChangePriority, func(ctx context.Context, b backend.Backend) error {
			return b.ChangePriority(ctx, backend.ChangePriorityParams{ExecutionID: ghost, Priority: 1})
		}},
		{"replay_execution", s.ReplayExecution, func(ctx context.Context, b backend.Backend) error {
			_, err := b.ReplayExecution(ctx, backend.ReplayExecutionParams{ExecutionID: ghost})
			return err
		}},
		{"revoke_lease", s.RevokeLease, func(ctx context.Context, b backend.Backend) error {
			_, err := b.RevokeLease(ctx, backend.RevokeLeaseParams{ExecutionID: ghost, Who: ff.Actor{Reason: "probe"}})
			return err
		}},
	}
	for _, p := range probes {
		err := p.call(e.ctx, e.b)
		if p.flag {
			require.False(t, errors.Is(err, ff.ErrUnavailable), "%s is reported supported but answers unavailable", p.name)
		} else {
			requireKind(t, err, ff.ErrUnavailable, "%s is reported unsupported", p.name)
			require.ErrorIs(t, err, ff.ClassUnavailable)
		}
	}
	// Creating calls are probed only when unsupported, where they must not
	// do anything.
	if !s.Flows {
		_, err := e.b.CreateFlow(e.ctx, backend.CreateFlowParams{Kind: "k"})
		requireKind(t, err, ff.ErrUnavailable)
	}
	if !s.BudgetAdmin {
		_, err := e.b.CreateBudget(e.ctx, backend.CreateBudgetParams{BudgetDefinition: ff.BudgetDefinition{ID: "b"}})
		requireKind(t, err, ff.ErrUnavailable)
	}
	if !s.QuotaAdmin {
		_, err := e.b.CreateQuota(e.ctx, backend.CreateQuotaParams{QuotaDefinition: ff.QuotaDefinition{ID: "q", MaxConcurrent: 1}})
		requireKind(t, err, ff.ErrUnavailable)
	}
	e.nothingWritten()
}
