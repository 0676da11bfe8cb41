package cli

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

// newBudgetCmd is `flowfabric budget …`: budgets and usage on a running
// server.
func newBudgetCmd(env Env) *cobra.Command {
	o := &clientOptions{}
	cmd := &cobra.Command{
		Use:   "budget",
		Short: "Manage budgets (usage limits per dimension) and report usage",
		Long: `A budget caps usage per dimension (tokens, dollars, calls...): a report that
would go above a hard limit is refused (hard_breach) and, while usage is at a
hard limit, executions whose policy lists the budget (policy.budget_ids) wait
rate_limited until a reset or a raised limit. A soft limit is only counted.`,
		Example: `  flowfabric budget create tenant-1 --limit tokens=100000:80000 --limit usd_cents=500 --reset-interval 24h
  flowfabric budget usage tenant-1 --dim tokens=1200 --dedup-key call-42
  flowfabric budget get tenant-1 --json
  flowfabric budget reset tenant-1`,
		Args: noArgs,
	}
	o.register(cmd)
	cmd.AddCommand(newBudgetCreateCmd(env, o), newBudgetGetCmd(env, o), newBudgetUsageCmd(env, o), newBudgetResetCmd(env, o))
	return cmd
}

// parseLimits reads --limit dim=hard[:soft] flags.
func parseLimits(flags []string) (map[string]ff.BudgetLimit, error) {
	out := map[string]ff.BudgetLimit{}
	for _, f := range flags {
		dim, v, ok := strings.Cut(f, "=")
		hard, soft, _ := strings.Cut(v, ":")
		h, err1 := parseCount(hard)
		s, err2 := parseCount(soft)
		if !ok || dim == "" || err1 != nil || err2 != nil {
			return nil, usagef("--limit %q: want dimension=hard[:soft] with integers >= 0", f)
		}
		out[dim] = ff.BudgetLimit{Hard: h, Soft: s}
	}
	return out, nil
}

func parseCount(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err == nil && n < 0 {
		err = fmt.Errorf("negative")
	}
	return n, err
}

func newBudgetCreateCmd(env Env, o *clientOptions) *cobra.Command {
	var (
		limits         []string
		scopeType, sID string
		reset          time.Duration
		def            ff.BudgetDefinition
	)
	cmd := &cobra.Command{
		Use:     "create <id>",
		Short:   "Create a budget (the same id again changes nothing)",
		Example: "  flowfabric budget create tenant-1 --limit tokens=100000:80000 --reset-interval 24h --json",
		Args:    exactArgs(1, "a budget id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := parseLimits(limits)
			if err != nil {
				return err
			}
			def = ff.BudgetDefinition{ID: args[0], ScopeType: scopeType, ScopeID: sID, Limits: l, ResetIntervalMs: reset.Milliseconds()}
			c, ctx, cancel := o.client(cmd.Context())
			defer cancel()
			res, err := c.CreateBudget(ctx, backend.CreateBudgetParams{BudgetDefinition: def})
			if err != nil {
				return fmt.Errorf("create budget: %w", err)
			}
			word := map[bool]string{true: "created", false: "exists"}[res.Created]
			return printer{env.Stdout, o.json}.emit(map[string]any{"budget_id": def.ID, "created": res.Created}, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "%s %s\n", def.ID, word)
				return err
			})
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&limits, "limit", nil, "dimension=hard[:soft] (repeatable; 0 = no limit)")
	f.StringVar(&scopeType, "scope-type", "", "what the budget covers (tenant, flow, ...)")
	f.StringVar(&sID, "scope-id", "", "which one")
	f.DurationVar(&reset, "reset-interval", 0, "zero the usage every interval (0 = never)")
	return cmd
}

func newBudgetGetCmd(env Env, o *clientOptions) *cobra.Command {
	return &cobra.Command{
		Use:     "get <id>",
		Short:   "Show a budget's limits, usage and breaches",
		Example: "  flowfabric budget get tenant-1 --json",
		Args:    exactArgs(1, "a budget id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ctx, cancel := o.client(cmd.Context())
			defer cancel()
			st, err := c.GetBudget(ctx, backend.GetBudgetParams{BudgetID: args[0]})
			if err != nil {
				return fmt.Errorf("get budget: %w", err)
			}
			return printer{env.Stdout, o.json}.emit(wire.BudgetOf(st), func(w io.Writer) error { return printBudget(w, st) })
		},
	}
}

// printBudget writes one line per dimension, then the counters.
func printBudget(w io.Writer, st ff.BudgetStatus) error {
	rows := [][]string{{"DIMENSION", "USAGE", "HARD", "SOFT"}}
	dims := slices.Sorted(func(yield func(string) bool) {
		for d := range st.Usage {
			if !yield(d) {
				return
			}
		}
	})
	for _, d := range dims {
		rows = append(rows, []string{d, strconv.FormatInt(st.Usage[d], 10), limitText(st.HardLimits[d]), limitText(st.SoftLimits[d])})
	}
	if err := table(w, rows); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "breaches %d (soft %d), last on %s; next reset %s\n", st.BreachCount, st.SoftBreachCount,
		orDash(st.LastBreachDimension), fmtMs(st.NextResetAtMs))
	return err
}

func limitText(n int64) string {
	if n == 0 {
		return "-"
	}
	return strconv.FormatInt(n, 10)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func newBudgetUsageCmd(env Env, o *clientOptions) *cobra.Command {
	var (
		dims []string
		key  string
	)
	cmd := &cobra.Command{
		Use:     "usage <id>",
		Short:   "Report usage against a budget as an operator",
		Example: "  flowfabric budget usage tenant-1 --dim tokens=1200 --dim calls=1 --dedup-key call-42",
		Args:    exactArgs(1, "a budget id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			deltas := map[string]int64{}
			for _, d := range dims {
				name, v, ok := strings.Cut(d, "=")
				n, err := strconv.ParseInt(v, 10, 64)
				if !ok || err != nil {
					return usagef("--dim %q: want dimension=integer", d)
				}
				deltas[name] = n
			}
			c, ctx, cancel := o.client(cmd.Context())
			defer cancel()
			res, err := c.ReportUsage(ctx, backend.ReportUsageParams{BudgetID: args[0], Dimensions: deltas, DedupKey: key})
			if err != nil {
				return fmt.Errorf("report usage: %w", err)
			}
			return printer{env.Stdout, o.json}.emit(wire.UsageOutcomeOf(res), func(w io.Writer) error {
				if res.Dimension == "" {
					_, err := fmt.Fprintln(w, res.Outcome)
					return err
				}
				_, err := fmt.Fprintf(w, "%s on %s: usage %d, limit %d\n", res.Outcome, res.Dimension, res.CurrentUsage, res.Limit)
				return err
			})
		},
	}
	cmd.Flags().StringArrayVar(&dims, "dim", nil, "dimension=increment (repeatable, at least one)")
	cmd.Flags().StringVar(&key, "dedup-key", "", "a report with a key already applied answers already_applied")
	return cmd
}

func newBudgetResetCmd(env Env, o *clientOptions) *cobra.Command {
	return &cobra.Command{
		Use:     "reset <id>",
		Short:   "Zero a budget's usage; executions it blocked become claimable",
		Example: "  flowfabric budget reset tenant-1",
		Args:    exactArgs(1, "a budget id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ctx, cancel := o.client(cmd.Context())
			defer cancel()
			res, err := c.ResetBudget(ctx, backend.ResetBudgetParams{BudgetID: args[0]})
			if err != nil {
				return fmt.Errorf("reset budget: %w", err)
			}
			out := wire.ResetBudgetResponse{NextResetAtMs: res.NextResetAtMs, Unblocked: res.Unblocked}
			return printer{env.Stdout, o.json}.emit(out, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "%s reset, %d unblocked, next reset %s\n", args[0], res.Unblocked, fmtMs(res.NextResetAtMs))
				return err
			})
		},
	}
}

// newQuotaCmd is `flowfabric quota …`.
func newQuotaCmd(env Env) *cobra.Command {
	o := &clientOptions{}
	cmd := &cobra.Command{
		Use:   "quota",
		Short: "Manage quotas (rate windows and concurrency caps enforced at claim)",
		Long: `A quota admits at most --max-per-window executions in any sliding --window
(exact) and at most --max-concurrent holding a lease at once. An execution
whose policy lists the quota (policy.quota_ids) and finds it full waits
rate_limited until the window or a slot frees.`,
		Example: `  flowfabric quota create openai --window 1s --max-per-window 50 --max-concurrent 8
  flowfabric quota get openai --json`,
		Args: noArgs,
	}
	o.register(cmd)
	cmd.AddCommand(newQuotaCreateCmd(env, o), newQuotaGetCmd(env, o))
	return cmd
}

func newQuotaCreateCmd(env Env, o *clientOptions) *cobra.Command {
	var (
		window        time.Duration
		perWindow, mc int64
	)
	cmd := &cobra.Command{
		Use:     "create <id>",
		Short:   "Create a quota (the same id again changes nothing)",
		Example: "  flowfabric quota create openai --window 1s --max-per-window 50 --max-concurrent 8",
		Args:    exactArgs(1, "a quota id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ctx, cancel := o.client(cmd.Context())
			defer cancel()
			res, err := c.CreateQuota(ctx, backend.CreateQuotaParams{QuotaDefinition: ff.QuotaDefinition{ID: args[0],
				WindowMs: window.Milliseconds(), MaxPerWindow: perWindow, MaxConcurrent: mc}})
			if err != nil {
				return fmt.Errorf("create quota: %w", err)
			}
			word := map[bool]string{true: "created", false: "exists"}[res.Created]
			return printer{env.Stdout, o.json}.emit(map[string]any{"quota_id": args[0], "created": res.Created}, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "%s %s\n", args[0], word)
				return err
			})
		},
	}
	f := cmd.Flags()
	f.DurationVar(&window, "window", 0, "the sliding window of --max-per-window")
	f.Int64Var(&perWindow, "max-per-window", 0, "admissions allowed in any window (0 = no rate limit)")
	f.Int64Var(&mc, "max-concurrent", 0, "executions holding a lease at once (0 = no cap)")
	return cmd
}

func newQuotaGetCmd(env Env, o *clientOptions) *cobra.Command {
	return &cobra.Command{
		Use:     "get <id>",
		Short:   "Show a quota's limits and current use",
		Example: "  flowfabric quota get openai",
		Args:    exactArgs(1, "a quota id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ctx, cancel := o.client(cmd.Context())
			defer cancel()
			st, err := c.GetQuota(ctx, backend.GetQuotaParams{QuotaID: args[0]})
			if err != nil {
				return fmt.Errorf("get quota: %w", err)
			}
			return printer{env.Stdout, o.json}.emit(wire.QuotaOf(st), func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "%s: window %d/%d in %s, concurrency %d/%d, blocked %d\n", st.ID, st.InWindow,
					st.MaxPerWindow, time.Duration(st.WindowMs)*time.Millisecond, st.ActiveConcurrency, st.MaxConcurrent, st.Blocked)
				return err
			})
		},
	}
}
