package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/client"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

// actorFlags are --reason and --source of an operator command: why, and
// who (written to the action's operator event).
func actorFlags(cmd *cobra.Command) *ff.Actor {
	a := &ff.Actor{}
	cmd.Flags().StringVar(&a.Reason, "reason", "", "why (recorded in the operator event)")
	cmd.Flags().StringVar(&a.Source, "source", "", `who: a person or tool (default "operator")`)
	return a
}

func newExecPriorityCmd(env Env, o *clientOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "priority ID PRIORITY",
		Short:   "Change a waiting or running execution's priority (0..9000; it moves in the claim order at once)",
		Example: "  flowfabric exec priority '{fp:12}:0b9f5c9e-2f5e-4c43-9c1f-3f7c7f1d2a10' 9000 --reason 'customer escalation'",
		Args:    exactArgs(2, "an execution id and a priority"),
	}
	who := actorFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		prio, err := strconv.ParseInt(args[1], 10, 64)
		if err != nil {
			return usagef("priority %q: want an integer in [0, 9000]", args[1])
		}
		return onExecution(o, func(ctx context.Context, c *client.Client, id ff.ExecutionID) error {
			if err := c.ChangePriority(ctx, backend.ChangePriorityParams{ExecutionID: id, Priority: prio, Who: *who}); err != nil {
				return fmt.Errorf("change priority of %s: %w", id, err)
			}
			out := wire.PriorityResponse{ExecutionID: id, Priority: prio}
			return printer{env.Stdout, o.json}.emit(out, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "%s priority %d\n", id, prio)
				return err
			})
		})(cmd, args[:1])
	}
	return cmd
}

func newExecReplayCmd(env Env, o *clientOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "replay ID",
		Short:   "Replay a terminal execution: the next claim runs it again (attempt type replay)",
		Example: "  flowfabric exec replay '{fp:12}:0b9f5c9e-2f5e-4c43-9c1f-3f7c7f1d2a10' --reason 'bug fixed'",
		Args:    exactArgs(1, "an execution id"),
	}
	who := actorFlags(cmd)
	cmd.RunE = onExecution(o, func(ctx context.Context, c *client.Client, id ff.ExecutionID) error {
		st, err := c.ReplayExecution(ctx, backend.ReplayExecutionParams{ExecutionID: id, Who: *who})
		if err != nil {
			return fmt.Errorf("replay %s: %w", id, err)
		}
		return printer{env.Stdout, o.json}.emit(wire.ReplayResponse{ExecutionID: id, PublicState: st}, func(w io.Writer) error {
			_, err := fmt.Fprintf(w, "%s %s\n", id, st)
			return err
		})
	})
	return cmd
}

func newExecRevokeCmd(env Env, o *clientOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "revoke ID",
		Short:   "Revoke an execution's active lease: its worker's next write fails, the next claim reclaims it",
		Example: "  flowfabric exec revoke '{fp:12}:0b9f5c9e-2f5e-4c43-9c1f-3f7c7f1d2a10' --reason 'worker wedged'",
		Args:    exactArgs(1, "an execution id"),
	}
	who := actorFlags(cmd)
	cmd.RunE = onExecution(o, func(ctx context.Context, c *client.Client, id ff.ExecutionID) error {
		res, err := c.RevokeLease(ctx, backend.RevokeLeaseParams{ExecutionID: id, Who: *who})
		if err != nil {
			return fmt.Errorf("revoke lease of %s: %w", id, err)
		}
		out := wire.RevokeLeaseResponse{Revoked: res.Revoked, LeaseEpoch: res.LeaseEpoch}
		return printer{env.Stdout, o.json}.emit(out, func(w io.Writer) error {
			if !res.Revoked {
				_, err := fmt.Fprintf(w, "%s holds no active lease\n", id)
				return err
			}
			_, err := fmt.Fprintf(w, "%s lease epoch %d revoked\n", id, res.LeaseEpoch)
			return err
		})
	})
	return cmd
}

func newLanePauseCmd(env Env, o *clientOptions, paused bool) *cobra.Command {
	use, short := "resume LANE", "Resume a paused lane: its waiting executions are claimable at once"
	if paused {
		use, short = "pause LANE", "Pause a lane: claims hand out nothing from it; running leases go on"
	}
	cmd := &cobra.Command{Use: use, Short: short, Args: exactArgs(1, "a lane"),
		Example: "  flowfabric lanes " + strings.Fields(use)[0] + " payments --reason 'incident 42'"}
	who := actorFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		c, ctx, cancel := o.client(cmd.Context())
		defer cancel()
		st, err := c.SetLanePaused(ctx, backend.SetLanePausedParams{Lane: args[0], Paused: paused, Who: *who})
		if err != nil {
			return fmt.Errorf("%s lane %s: %w", strings.Fields(use)[0], args[0], err)
		}
		return printer{env.Stdout, o.json}.emit(wire.LaneStateOf(st), func(w io.Writer) error {
			_, err := fmt.Fprintf(w, "%s paused=%t\n", st.Lane, st.Paused)
			return err
		})
	}
	return cmd
}

func newLanesPausedCmd(env Env, o *clientOptions) *cobra.Command {
	return &cobra.Command{
		Use: "paused", Short: "List the paused lanes", Args: noArgs,
		Example: "  flowfabric lanes paused --json",
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, ctx, cancel := o.client(cmd.Context())
			defer cancel()
			states, err := c.LaneStates(ctx, backend.LaneStatesParams{})
			if err != nil {
				return fmt.Errorf("list paused lanes: %w", err)
			}
			out := wire.LaneStateList{Lanes: make([]wire.LaneState, len(states))}
			rows := [][]string{{"LANE", "PAUSED_AT_MS", "SOURCE", "REASON"}}
			for i, s := range states {
				out.Lanes[i] = wire.LaneStateOf(s)
				rows = append(rows, []string{s.Lane, strconv.FormatInt(s.PausedAtMs, 10), s.Source, s.Reason})
			}
			return printer{env.Stdout, o.json}.emit(out, func(w io.Writer) error { return table(w, rows) })
		},
	}
}

func newLanesBulkCmd(env Env, o *clientOptions, action backend.BulkAction) *cobra.Command {
	p := backend.BulkParams{Action: action}
	var all bool
	var state string
	cmd := &cobra.Command{
		Use:   "bulk-" + string(action) + " LANE --state STATE",
		Short: "Bulk " + string(action) + " the executions of a lane in one public state, a bounded step at a time",
		Example: "  flowfabric lanes bulk-" + string(action) + " payments --state " + map[backend.BulkAction]string{
			backend.BulkReplay: "failed", backend.BulkCancel: "waiting"}[action] + " --limit 500 --all --reason 'incident 42'",
		Args: exactArgs(1, "a lane"),
	}
	who := actorFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		p.Lane, p.PublicState, p.Who = args[0], ff.PublicState(state), *who
		var items []wire.BulkItem
		var next string
		for {
			c, ctx, cancel := o.client(cmd.Context())
			res, err := c.Bulk(ctx, p)
			cancel()
			if err != nil {
				return fmt.Errorf("bulk %s of lane %s (resume with --cursor %q): %w", action, p.Lane, p.Cursor, err)
			}
			items = append(items, wire.BulkResponseOf(res).Items...)
			next, p.Cursor = res.NextCursor, res.NextCursor
			if !all || next == "" {
				break
			}
		}
		return printer{env.Stdout, o.json}.emit(wire.BulkResponse{Items: items, NextCursor: next}, func(w io.Writer) error {
			return printBulk(w, items, next)
		})
	}
	cmd.Flags().StringVar(&state, "state", "", "the public state to act on (replay: a terminal one; cancel: a live one)")
	cmd.Flags().IntVar(&p.Limit, "limit", 0, "executions per step (default 100, at most 1000)")
	cmd.Flags().StringVar(&p.Cursor, "cursor", "", "resume after this execution (the previous step's next cursor)")
	cmd.Flags().BoolVar(&all, "all", false, "run steps until the lane has none left in the state")
	return cmd
}

func printBulk(w io.Writer, items []wire.BulkItem, next string) error {
	rows := [][]string{{"EXECUTION", "STATE", "ERROR"}}
	for _, it := range items {
		msg := ""
		if it.Error != nil {
			msg = string(it.Error.Kind) + ": " + it.Error.Error
		}
		rows = append(rows, []string{it.ExecutionID.String(), string(it.PublicState), msg})
	}
	if err := table(w, rows); err != nil {
		return err
	}
	if next != "" {
		_, err := fmt.Fprintf(w, "more: --cursor %s\n", next)
		return err
	}
	return nil
}

func newEventsCmd(env Env) *cobra.Command {
	o := &clientOptions{}
	var (
		p      backend.ReadEventsParams
		after  string
		types  string
		follow bool
	)
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Print outbox events in commit order (completions, leases, operator actions, ...)",
		Long: `Print the events committed after --after (absent: the oldest kept; "latest": only
new ones), filtered by --types and --lane. Without --follow it prints what is
there and stops; with --follow it waits for new events until interrupted,
reconnecting when the server goes away. --json prints one JSON event per line;
each carries its cursor, to resume from with --after.`,
		Example: `  flowfabric events --types completion,operator
  flowfabric events --follow --after latest --lane payments --json`,
		Args: noArgs,
	}
	o.register(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		p.After = backend.EventCursor(after)
		if types != "" {
			for _, t := range strings.Split(types, ",") {
				p.Types = append(p.Types, ff.EventType(strings.TrimSpace(t)))
			}
		}
		if err := p.Normalize(); err != nil {
			return usagef("%v", err)
		}
		if follow {
			return followEvents(cmd.Context(), env.Stdout, o, p)
		}
		return printEventsUntilCaughtUp(cmd.Context(), env.Stdout, o, p)
	}
	f := cmd.Flags()
	f.StringVar(&after, "after", "", `start after this cursor ("latest": only new events)`)
	f.StringVar(&types, "types", "", "comma-separated types: "+strings.Join(typeList(), ", "))
	f.StringVar(&p.Lane, "lane", "", "only events of this lane")
	f.IntVar(&p.Limit, "limit", 0, "events per request (default 100)")
	f.BoolVarP(&follow, "follow", "f", false, "wait for new events until interrupted")
	return cmd
}

func typeList() []string {
	out := make([]string, len(backend.EventTypes))
	for i, t := range backend.EventTypes {
		out[i] = string(t)
	}
	return out
}

// printEventsUntilCaughtUp reads pages until one comes back short.
func printEventsUntilCaughtUp(ctx context.Context, w io.Writer, o *clientOptions, p backend.ReadEventsParams) error {
	for {
		c, rctx, cancel := o.client(ctx)
		page, err := c.ReadEvents(rctx, p)
		cancel()
		if err != nil {
			return fmt.Errorf("read events: %w", err)
		}
		for _, ev := range page.Events {
			if err := printEvent(w, o.json, ev); err != nil {
				return err
			}
		}
		if page.Next == p.After || (p.Limit > 0 && len(page.Events) < p.Limit) || (p.Limit == 0 && len(page.Events) < 100) {
			return nil
		}
		p.After = page.Next
	}
}

// followEvents prints events as they commit until ctx ends.
func followEvents(ctx context.Context, w io.Writer, o *clientOptions, p backend.ReadEventsParams) error {
	var opts []client.Option
	if o.token != "" {
		opts = append(opts, client.WithToken(o.token))
	}
	c := client.New(o.server, opts...)
	for ev, err := range c.Events(ctx, p, client.FollowOptions{}) {
		if err != nil {
			return fmt.Errorf("follow events: %w", err)
		}
		if err := printEvent(w, o.json, ev); err != nil {
			return err
		}
	}
	return nil
}

// printEvent writes one event: a JSON line, or a human line.
func printEvent(w io.Writer, asJSON bool, ev backend.EventRecord) error {
	var err error
	if asJSON {
		var b []byte
		b, err = json.Marshal(wire.EventOf(ev))
		if err == nil {
			_, err = fmt.Fprintf(w, "%s\n", b)
		}
	} else {
		data := ""
		if raw, ok := ev.Data.(json.RawMessage); ok {
			data = " " + string(raw)
		}
		id := "-"
		if !ev.ExecutionID.IsZero() {
			id = ev.ExecutionID.String()
		}
		_, err = fmt.Fprintf(w, "%s %s %s/%s %s lane=%s%s\n", ev.Cursor, ff.TimeFromMs(ev.AtMs).UTC().Format("2006-01-02T15:04:05.000Z"),
			ev.Type, ev.Action, id, ev.Lane, data)
	}
	if err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}
