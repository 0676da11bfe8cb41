package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/internal/bench/workload"
)

// chainSystem is the system of chain mode: jobs are the members of
// Flows chains of ChainLength executions, each chain created by one
// CreateFlow (members in a line, each depending on the one before). The
// shared workload inserts job indexes; the index that starts a chain
// creates the whole chain, the others are already in it. Workers and
// handlers are the plain system's: a member's pickup latency therefore
// includes the wait for its upstreams.
type chainSystem struct {
	*system
	length int
}

func (s *chainSystem) Insert(ctx context.Context, p workload.Payload) error {
	if p.N%s.length != 0 {
		return nil
	}
	ms := make([]backend.FlowMemberParams, s.length)
	for i := range ms {
		ref := fmt.Sprintf("m%d", i)
		member := workload.Payload{T: p.T, N: p.N + i}
		ms[i] = backend.FlowMemberParams{Ref: ref, Execution: backend.CreateExecutionParams{Lane: Lane, Kind: Kind, Input: member.Encode()}}
		if i > 0 {
			ms[i].DependsOnRefs = []string{fmt.Sprintf("m%d", i-1)}
		}
	}
	_, err := s.b.CreateFlow(ctx, backend.CreateFlowParams{Kind: "bench.chain", Members: ms})
	return err
}

// runChain runs a plain drain of Flows×ChainLength jobs, then the same
// number of jobs as chains, in fresh lanes of the same database and
// process, and reports both throughputs and their ratio; the last line
// is the chain's throughput (member executions per second).
func runChain(ctx context.Context, c *Config, b backend.Backend, name string) (workload.Result, error) {
	o := c.workloadOptions()
	o.Mode, o.Jobs = workload.ModeDrain, c.Flows*c.ChainLength
	plain, err := workload.Run(ctx, o, newSystem(b, name, c))
	if err != nil {
		return plain, fmt.Errorf("plain drain: %w", err)
	}
	res, err := workload.Run(ctx, o, &chainSystem{system: newSystem(b, name, c), length: c.ChainLength})
	res.Mode = ModeChain
	ratio := 0.0
	if plain.Throughput() > 0 {
		ratio = res.Throughput() / plain.Throughput()
	}
	res.Extra = append(res.Extra, fmt.Sprintf("flows=%d chain_length=%d", c.Flows, c.ChainLength),
		fmt.Sprintf("plain_drain_throughput_jobs_per_s=%.1f chain_to_plain_ratio=%.3f", plain.Throughput(), ratio))
	return res, err
}

// runFlowCancel measures CancelFlow with wait: Flows flows of Members
// executions each (a root and Members-1 members depending on it), the
// root claimed so that every cancel revokes a lease and cancels the
// blocked members in the same call. It reports the latency of each
// cancel call; the last line is members cancelled per second of cancel
// time.
func runFlowCancel(ctx context.Context, c *Config, b backend.Backend, name string) (workload.Result, error) {
	res := workload.Result{System: name, Mode: ModeFlowCancel, Jobs: c.Flows * c.Members, Workers: 1}
	ids := make([]string, 0, c.Flows)
	start := time.Now()
	// Flows are created one by one and each root is claimed before the
	// next flow exists: the only claimable execution is the new root.
	for range c.Flows {
		ms := make([]backend.FlowMemberParams, c.Members)
		for i := range ms {
			ms[i] = backend.FlowMemberParams{Ref: fmt.Sprintf("m%d", i),
				Execution: backend.CreateExecutionParams{Lane: Lane, Kind: Kind}}
			if i > 0 {
				ms[i].DependsOnRefs = []string{"m0"}
			}
		}
		fl, err := b.CreateFlow(ctx, backend.CreateFlowParams{Kind: "bench.cancel", Members: ms})
		if err != nil {
			return res, err
		}
		if _, err := b.Claim(ctx, backend.ClaimParams{WorkerID: WorkerID, Lanes: []string{Lane}}); err != nil {
			return res, err
		}
		ids = append(ids, fl.FlowID)
	}
	res.Inserted, res.InsertElapsed = c.Flows*c.Members, time.Since(start)
	lat := make([]time.Duration, 0, len(ids))
	var total time.Duration
	for _, id := range ids {
		t0 := time.Now()
		out, err := b.CancelFlow(ctx, backend.CancelFlowParams{FlowID: id, Wait: true})
		d := time.Since(t0)
		if err != nil {
			return res, fmt.Errorf("cancel flow %s: %w", id, err)
		}
		if out.Cancelled != c.Members || out.Pending != 0 {
			return res, fmt.Errorf("cancel flow %s: %d cancelled, %d pending, want %d and 0", id, out.Cancelled, out.Pending, c.Members)
		}
		lat = append(lat, d)
		total += d
	}
	res.Completed, res.WorkElapsed = c.Flows*c.Members, total
	res.Extra = append(res.Extra, fmt.Sprintf("flows=%d members=%d", c.Flows, c.Members),
		workload.SummaryLine("flow_cancel_latency_ms", workload.Summarize(lat)))
	return res, nil
}
