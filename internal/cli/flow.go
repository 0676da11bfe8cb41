package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

// newFlowCmd is `flowfabric flow …`: flows (DAGs of executions) on a
// running server.
func newFlowCmd(env Env) *cobra.Command {
	o := &clientOptions{}
	cmd := &cobra.Command{
		Use:   "flow",
		Short: "Manage flows: DAGs of executions",
		Long: `A flow is a DAG of executions. A member runs once its upstream edges are
satisfied (join all_of, any_of or quorum); a member whose join can no longer
be satisfied is skipped, and the skip propagates. Members are added with
'flow create --dag' (a whole DAG at once) or 'exec submit --flow … --depends-on …'.`,
		Example: `  flowfabric flow create --kind etl --dag @dag.json
  flowfabric exec submit --kind load --flow 6f1c… --depends-on '{fp:7}:…'
  flowfabric flow get 6f1c…
  flowfabric flow cancel 6f1c… --policy cancel_pending --wait`,
		Args: noArgs,
	}
	o.register(cmd)
	cmd.AddCommand(newFlowCreateCmd(env, o), newFlowGetCmd(env, o), newFlowListCmd(env, o), newFlowCancelCmd(env, o))
	return cmd
}

func newFlowCreateCmd(env Env, o *clientOptions) *cobra.Command {
	var id, kind, ns, dag string
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a flow, optionally with a whole DAG",
		Long: `--dag takes the executions of the DAG as JSON (a list, or the body of
POST /v1/flows), @path to read a file, or - for stdin. Each execution is a
create body plus "ref" (a name local to the request) and "depends_on_refs".
The same --flow-id again answers the stored flow.`,
		Example: `  flowfabric flow create --kind etl --dag '[{"ref":"a","kind":"extract"},{"ref":"b","kind":"load","depends_on_refs":["a"]}]'`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p := backend.CreateFlowParams{FlowID: id, Kind: kind, Namespace: ns}
			if dag != "" {
				ms, err := readDAG(env, dag)
				if err != nil {
					return err
				}
				p.Members = ms
			}
			c, ctx, cancel := o.client(cmd.Context())
			defer cancel()
			res, err := c.CreateFlow(ctx, p)
			if err != nil {
				return fmt.Errorf("create flow: %w", err)
			}
			out := wire.CreateFlowResponse{FlowID: res.FlowID, PublicFlowState: res.PublicFlowState, ExecutionIDs: res.ExecutionIDs}
			return printer{env.Stdout, o.json}.emit(out, func(w io.Writer) error {
				rows := [][]string{{"REF", "EXECUTION"}}
				for ref, eid := range res.ExecutionIDs {
					rows = append(rows, []string{ref, eid.String()})
				}
				if _, err := fmt.Fprintf(w, "%s %s\n", res.FlowID, res.PublicFlowState); err != nil {
					return err
				}
				return table(w, rows)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&id, "flow-id", "", "flow id (a uuid; minted when absent)")
	f.StringVar(&kind, "kind", "flow", "flow kind")
	f.StringVar(&ns, "namespace", "", "namespace")
	f.StringVar(&dag, "dag", "", "executions of the DAG as JSON, @file or - for stdin")
	return cmd
}

// readDAG reads the executions of a DAG (a JSON list or a POST /v1/flows
// body) into member params.
func readDAG(env Env, s string) ([]backend.FlowMemberParams, error) {
	raw, err := readInput(env, s)
	if err != nil {
		return nil, err
	}
	var list []wire.FlowExecution
	if err := json.Unmarshal(raw, &list); err != nil {
		var body wire.CreateFlowRequest
		if err2 := json.Unmarshal(raw, &body); err2 != nil {
			return nil, usagef("--dag: want a JSON list of executions or a POST /v1/flows body: %v", err)
		}
		list = body.Executions
	}
	out := make([]backend.FlowMemberParams, len(list))
	for i, x := range list {
		p := backend.CreateExecutionParams{Kind: x.Kind, Lane: x.Lane, Namespace: x.Namespace, Input: x.Input,
			Priority: x.Priority, RequiredCapabilities: x.RequiredCapabilities, IdempotencyKey: x.IdempotencyKey, Tags: x.Tags}
		if len(x.Policy) > 0 {
			p.Policy = &ff.ExecutionPolicy{}
			if err := json.Unmarshal(x.Policy, p.Policy); err != nil {
				return nil, usagef("--dag: executions[%d].policy: %v", i, err)
			}
		}
		out[i] = backend.FlowMemberParams{Ref: x.Ref, Execution: p, DependsOnRefs: x.DependsOnRefs, Join: x.Join}
	}
	return out, nil
}

func newFlowGetCmd(env Env, o *clientOptions) *cobra.Command {
	return &cobra.Command{
		Use:     "get <flow_id>",
		Short:   "Show a flow with its members and edges",
		Example: "  flowfabric flow get 6f1c2a0e-8a57-4c1e-9d3f-2b1e5a7c9d10 --json",
		Args:    exactArgs(1, "a flow id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ctx, cancel := o.client(cmd.Context())
			defer cancel()
			snap, err := c.DescribeFlow(ctx, backend.DescribeFlowParams{FlowID: args[0]})
			if err != nil {
				return fmt.Errorf("get flow: %w", err)
			}
			return printer{env.Stdout, o.json}.emit(wire.FlowOf(snap), func(w io.Writer) error { return flowText(w, snap) })
		},
	}
}

func flowText(w io.Writer, s backend.FlowSnapshot) error {
	if _, err := fmt.Fprintf(w, "flow %s (%s) %s, graph revision %d\n", s.FlowID, s.Kind, s.PublicFlowState, s.GraphRevision); err != nil {
		return err
	}
	rows := [][]string{{"MEMBER", "REF", "STATE", "JOIN", "JOIN STATE"}}
	for _, m := range s.Members {
		join := m.Join.Policy
		if m.Join.Policy == ff.JoinQuorum {
			join += " " + strconv.Itoa(m.Join.N)
		}
		rows = append(rows, []string{m.ExecutionID.String(), m.Ref, string(m.PublicState), join, m.JoinState})
	}
	if err := table(w, rows); err != nil {
		return err
	}
	rows = [][]string{{"UPSTREAM", "DOWNSTREAM", "KIND", "STATE"}}
	for _, e := range s.Edges {
		rows = append(rows, []string{e.Upstream.String(), e.Downstream.String(), e.Kind, e.State})
	}
	return table(w, rows)
}

func newFlowListCmd(env Env, o *clientOptions) *cobra.Command {
	var p backend.ListFlowsParams
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List flows",
		Example: "  flowfabric flow list --limit 20 --json",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, ctx, cancel := o.client(cmd.Context())
			defer cancel()
			page, err := c.ListFlows(ctx, p)
			if err != nil {
				return fmt.Errorf("list flows: %w", err)
			}
			out := wire.FlowPage{Flows: []wire.FlowSummary{}, NextCursor: page.NextCursor}
			rows := [][]string{{"FLOW", "KIND", "STATE", "REVISION", "CREATED"}}
			for _, f := range page.Flows {
				out.Flows = append(out.Flows, wire.FlowSummary{FlowID: f.FlowID, Kind: f.Kind, Namespace: f.Namespace,
					PublicFlowState: f.PublicFlowState, GraphRevision: f.GraphRevision, CreatedAtMs: f.CreatedAtMs})
				rows = append(rows, []string{f.FlowID, f.Kind, f.PublicFlowState, strconv.FormatInt(f.GraphRevision, 10), fmtMs(f.CreatedAtMs)})
			}
			return printer{env.Stdout, o.json}.emit(out, func(w io.Writer) error {
				if err := table(w, rows); err != nil {
					return err
				}
				if page.NextCursor != "" {
					_, err := fmt.Fprintf(w, "more: --cursor %s\n", page.NextCursor)
					return err
				}
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&p.Namespace, "namespace", "", "only this namespace")
	f.IntVar(&p.Limit, "limit", 0, "page size")
	f.StringVar(&p.Cursor, "cursor", "", "start after this flow id (from the previous page)")
	return cmd
}

func newFlowCancelCmd(env Env, o *clientOptions) *cobra.Command {
	var p backend.CancelFlowParams
	cmd := &cobra.Command{
		Use:   "cancel <flow_id>",
		Short: "Cancel a flow and, per --policy, its members",
		Long: `--policy cancel_all (default) cancels every unended member, cancel_pending
those not running, flow_only none. Running members' leases are revoked.
With --wait the members are cancelled before the command returns; otherwise
the server's reconciler works the backlog. Repeating answers the same.`,
		Example: "  flowfabric flow cancel 6f1c2a0e-8a57-4c1e-9d3f-2b1e5a7c9d10 --reason 'bad input' --wait",
		Args:    exactArgs(1, "a flow id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			p.FlowID = args[0]
			c, ctx, cancel := o.client(cmd.Context())
			defer cancel()
			res, err := c.CancelFlow(ctx, p)
			if err != nil {
				return fmt.Errorf("cancel flow: %w", err)
			}
			members := res.Members
			if members == nil {
				members = []ff.ExecutionID{}
			}
			out := wire.CancelFlowResponse{FlowID: res.FlowID, Policy: res.Policy, MemberExecutionIDs: members, Pending: res.Pending}
			return printer{env.Stdout, o.json}.emit(out, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "flow %s cancelled (%s): %d members, %d pending\n", res.FlowID, res.Policy, len(members), res.Pending)
				return err
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&p.Policy, "policy", "", "cancel_all (default), cancel_pending or flow_only")
	f.StringVar(&p.Reason, "reason", "", "reason recorded on the flow and its members")
	f.BoolVar(&p.Wait, "wait", false, "cancel the members before returning")
	return cmd
}
