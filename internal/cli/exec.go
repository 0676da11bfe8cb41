package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/client"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

func newExecCmd(env Env) *cobra.Command {
	o := &clientOptions{}
	cmd := &cobra.Command{
		Use:   "exec",
		Short: "Submit, inspect and cancel executions on a running server",
		Example: `  flowfabric exec submit --kind email.send --input '{"to":"a@example.com"}'
  flowfabric exec list --state waiting
  flowfabric exec get '{fp:12}:0b9f5c9e-...'`,
		Args: noArgs,
	}
	o.register(cmd)
	cmd.AddCommand(newExecSubmitCmd(env, o), newExecGetCmd(env, o), newExecListCmd(env, o),
		newExecCancelCmd(env, o), newExecResultCmd(env, o), newExecResumeCmd(env, o), newExecWaitpointsCmd(env, o),
		newExecSignalsCmd(env, o), newExecTailCmd(env, o), newExecSummaryCmd(env, o),
		newExecPriorityCmd(env, o), newExecReplayCmd(env, o), newExecRevokeCmd(env, o))
	return cmd
}

// parseID validates an execution id argument.
func parseID(s string) (ff.ExecutionID, error) {
	id, err := ff.ParseExecutionID(s)
	if err != nil {
		return id, usagef("%q is not an execution id: want {fp:N}:<uuid> (quote the braces in your shell)", s)
	}
	return id, nil
}

// onExecution is the RunE of a command whose one argument is an execution
// id: it parses the id and calls fn with a client and a context bounded by
// --timeout.
func onExecution(o *clientOptions, fn func(ctx context.Context, c *client.Client, id ff.ExecutionID) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		id, err := parseID(args[0])
		if err != nil {
			return err
		}
		c, ctx, cancel := o.client(cmd.Context())
		defer cancel()
		return fn(ctx, c, id)
	}
}

func newExecGetCmd(env Env, o *clientOptions) *cobra.Command {
	return &cobra.Command{
		Use:     "get ID",
		Short:   "Show an execution's state",
		Example: "  flowfabric exec get '{fp:12}:0b9f5c9e-2f5e-4c43-9c1f-3f7c7f1d2a10' --json",
		Args:    exactArgs(1, "an execution id"),
		RunE: onExecution(o, func(ctx context.Context, c *client.Client, id ff.ExecutionID) error {
			snap, err := c.DescribeExecution(ctx, backend.DescribeExecutionParams{ExecutionID: id})
			if err != nil {
				return fmt.Errorf("get execution %s: %w", id, err)
			}
			return printer{env.Stdout, o.json}.emit(wire.ExecutionSnapshotOf(snap), func(w io.Writer) error { return printSnapshot(w, snap) })
		}),
	}
}

func printSnapshot(w io.Writer, s backend.ExecutionSnapshot) error {
	rows := [][]string{
		{"id:", s.ExecutionID.String()},
		{"state:", string(s.PublicState)},
		{"lane:", s.Lane},
		{"kind:", s.Kind},
		{"priority:", strconv.Itoa(int(s.Priority))},
		{"attempts:", strconv.Itoa(int(s.AttemptCount))},
		{"created:", timeText(s.CreatedAt)},
	}
	add := func(k, v string) {
		if v != "" {
			rows = append(rows, []string{k, v})
		}
	}
	add("blocked:", s.BlockingDetail)
	if s.Lease != nil && s.Lease.WorkerID != "" {
		add("worker:", s.Lease.WorkerID)
		add("lease expires:", timeText(s.Lease.ExpiresAt))
	}
	if s.ProgressPct != nil {
		add("progress:", fmt.Sprintf("%d%% %s", *s.ProgressPct, s.ProgressMessage))
	}
	if len(s.RequiredCaps) > 0 {
		add("capabilities:", strings.Join(s.RequiredCaps, ","))
	}
	if len(s.Tags) > 0 {
		keys := make([]string, 0, len(s.Tags))
		for k := range s.Tags {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for i, k := range keys {
			keys[i] = k + "=" + s.Tags[k]
		}
		add("tags:", strings.Join(keys, ","))
	}
	add("failure:", s.FailureReason)
	add("cancel reason:", s.CancelReason)
	if s.RetryCount > 0 {
		add("retries:", strconv.Itoa(s.RetryCount))
	}
	if s.ReclaimCount > 0 {
		add("reclaims:", strconv.Itoa(s.ReclaimCount))
	}
	add("finished:", timeText(s.CompletedAt))
	return table(w, rows)
}

// timeText formats t in UTC, or "" when it is unset.
func timeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func newExecListCmd(env Env, o *clientOptions) *cobra.Command {
	var p backend.ListExecutionsParams
	var state, tag string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List executions, filtered by lane, state, kind, tag and flow",
		Example: `  flowfabric exec list --lane default --state waiting --limit 20
  flowfabric exec list --kind email.send --tag acme.team=growth
  flowfabric exec list --cursor '{fp:3}:...'   # the next page`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if state != "" {
				ps, err := ff.ParsePublicState(state)
				if err != nil {
					return usageError{err}
				}
				p.PublicState = ps
			}
			var err error
			if p.Tag, err = backend.ParseTagFilter(tag); err != nil {
				return usageError{err}
			}
			c, ctx, cancel := o.client(cmd.Context())
			defer cancel()
			page, err := c.ListExecutions(ctx, p)
			if err != nil {
				return fmt.Errorf("list executions: %w", err)
			}
			return printer{env.Stdout, o.json}.emit(wire.ExecutionPageOf(page), func(w io.Writer) error {
				rows := [][]string{{"ID", "LANE", "KIND", "STATE", "PRIORITY", "CREATED"}}
				for _, e := range page.Executions {
					rows = append(rows, []string{e.ExecutionID.String(), e.Lane, e.Kind, string(e.PublicState),
						strconv.Itoa(int(e.Priority)), timeText(e.CreatedAt)})
				}
				if err := table(w, rows); err != nil {
					return err
				}
				if page.NextCursor != "" {
					_, err := fmt.Fprintf(w, "more: --cursor '%s'\n", page.NextCursor)
					return err
				}
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&p.Lane, "lane", "", "only this lane")
	f.StringVar(&state, "state", "", "only this public state (waiting, delayed, active, completed, failed, cancelled, expired, ...)")
	f.StringVar(&p.Kind, "kind", "", "only this kind")
	f.StringVar(&tag, "tag", "", "only executions with this tag, as key=value")
	f.StringVar(&p.FlowID, "flow", "", "only members of this flow")
	f.IntVar(&p.Limit, "limit", 50, "page size (at most 1000)")
	f.StringVar(&p.Cursor, "cursor", "", "start after this execution id (from the previous page)")
	return cmd
}

func newExecCancelCmd(env Env, o *clientOptions) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:     "cancel ID",
		Short:   "Cancel an execution (operator cancel)",
		Example: "  flowfabric exec cancel '{fp:12}:0b9f5c9e-2f5e-4c43-9c1f-3f7c7f1d2a10' --reason 'duplicate order'",
		Args:    exactArgs(1, "an execution id"),
		RunE: onExecution(o, func(ctx context.Context, c *client.Client, id ff.ExecutionID) error {
			st, err := c.CancelExecution(ctx, backend.CancelExecutionParams{ExecutionID: id, Reason: reason})
			if err != nil {
				return fmt.Errorf("cancel execution %s: %w", id, err)
			}
			out := struct {
				ExecutionID ff.ExecutionID `json:"execution_id"`
				PublicState ff.PublicState `json:"public_state"`
			}{id, st}
			return printer{env.Stdout, o.json}.emit(out, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "%s %s\n", id, st)
				return err
			})
		}),
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why it is cancelled (recorded on the execution)")
	return cmd
}

func newExecResultCmd(env Env, o *clientOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "result ID",
		Short: "Print the result of a completed execution",
		Long: `Print the result a worker stored when it completed the execution, as
stored (normally JSON). Fails with "not found" until the execution has
completed; see "exec get" for its state.`,
		Example: "  flowfabric exec result '{fp:12}:0b9f5c9e-2f5e-4c43-9c1f-3f7c7f1d2a10' | jq .",
		Args:    exactArgs(1, "an execution id"),
		RunE: onExecution(o, func(ctx context.Context, c *client.Client, id ff.ExecutionID) error {
			res, err := c.GetExecutionResult(ctx, backend.GetExecutionResultParams{ExecutionID: id})
			if err != nil {
				if errors.Is(err, ff.ErrNotFound) {
					if st, serr := c.ReadExecutionState(ctx, backend.ReadExecutionStateParams{ExecutionID: id}); serr == nil {
						return fmt.Errorf("execution %s has no result: it is %s", id, st)
					}
				}
				return fmt.Errorf("result of execution %s: %w", id, err)
			}
			out := struct {
				ExecutionID ff.ExecutionID `json:"execution_id"`
				Result      any            `json:"result"`
			}{ExecutionID: id}
			if json.Valid(res) {
				out.Result = json.RawMessage(res)
			} else if res != nil {
				out.Result = string(res)
			}
			return printer{env.Stdout, o.json}.emit(out, func(w io.Writer) error {
				if _, err := w.Write(res); err != nil {
					return err
				}
				if len(res) > 0 && res[len(res)-1] != '\n' {
					_, err = io.WriteString(w, "\n")
					return err
				}
				return nil
			})
		}),
	}
}

// readInput resolves --input: literal JSON, @file, or - for stdin. The
// result must be valid JSON.
func readInput(env Env, s string) ([]byte, error) {
	var raw []byte
	var err error
	switch {
	case s == "-":
		raw, err = io.ReadAll(env.Stdin)
	case strings.HasPrefix(s, "@"):
		raw, err = os.ReadFile(s[1:])
	default:
		raw = []byte(s)
	}
	if err != nil {
		return nil, fmt.Errorf("read --input: %w", err)
	}
	if !json.Valid(raw) {
		return nil, usagef("--input is not valid JSON (give a JSON document, @file or - for stdin)")
	}
	return raw, nil
}
