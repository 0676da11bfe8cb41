package cli

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/client"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

// newScheduleCmd is `flowfabric schedule …`: periodic schedules on a
// running server, and a local preview of a spec's ticks.
func newScheduleCmd(env Env) *cobra.Command {
	o := &clientOptions{}
	cmd := &cobra.Command{
		Use:   "schedule",
		Short: "Manage periodic schedules (cron or fixed interval)",
		Long: `A schedule creates one execution per tick, from its template, keyed by the
tick (idempotency key ffsched:<id>:<tick_ms>, tags ff.schedule and
ff.tick_ms), so several servers never create a tick twice. Ticks missed
while no server ran are dropped (--catch-up skip, the default) or the most
recent --catch-up-max of them fire (--catch-up catch_up).`,
		Example: `  flowfabric schedule create nightly --cron "0 2 * * *" --timezone Europe/Paris --kind report.build
  flowfabric schedule create heartbeat --every 30s --kind ops.ping --lane ops
  flowfabric schedule list
  flowfabric schedule next --cron "*/15 9-17 * * 1-5" -n 3`,
		Args: noArgs,
	}
	o.register(cmd)
	cmd.AddCommand(newScheduleCreateCmd(env, o), newScheduleListCmd(env, o), newScheduleGetCmd(env, o),
		newSchedulePauseCmd(env, o), newScheduleResumeCmd(env, o), newScheduleDeleteCmd(env, o), newScheduleNextCmd(env, o))
	return cmd
}

// specFlags are the timing flags of create and next.
type specFlags struct {
	cron, timezone string
	every, offset  time.Duration
	startAt, endAt string
}

func (s *specFlags) register(f interface {
	StringVar(*string, string, string, string)
	DurationVar(*time.Duration, string, time.Duration, string)
}) {
	f.StringVar(&s.cron, "cron", "", "cron spec: five fields or @daily, @hourly, ... (or use --every)")
	f.StringVar(&s.timezone, "timezone", "", "IANA zone for --cron (default UTC)")
	f.DurationVar(&s.every, "every", 0, "fixed interval, at least 1s; ticks at the Unix epoch + --offset + k·every")
	f.DurationVar(&s.offset, "offset", 0, "shift of --every's ticks, below --every")
}

func (s specFlags) spec() (ff.ScheduleSpec, error) {
	spec := ff.ScheduleSpec{Cron: s.cron, Timezone: s.timezone, Every: s.every, Offset: s.offset}
	for _, b := range []struct {
		flag, v string
		dst     *time.Time
	}{{"--start-at", s.startAt, &spec.StartAt}, {"--end-at", s.endAt, &spec.EndAt}} {
		if b.v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, b.v)
		if err != nil {
			return spec, usagef("%s %q: want RFC 3339 (2026-01-02T15:04:05Z)", b.flag, b.v)
		}
		*b.dst = t
	}
	if err := spec.Validate(); err != nil {
		return spec, usageError{err}
	}
	return spec, nil
}

// scheduleCreateOptions are the flags of `schedule create`.
type scheduleCreateOptions struct {
	spec       specFlags
	namespace  string
	kind, lane string
	input      string
	priority   int64
	caps, tags []string
	catchUp    string
	catchUpMax int
	paused     bool
	replace    bool
}

func newScheduleCreateCmd(env Env, o *clientOptions) *cobra.Command {
	var s scheduleCreateOptions
	cmd := &cobra.Command{
		Use:   "create <id>",
		Short: "Create a schedule (--replace to change an existing one)",
		Example: `  flowfabric schedule create nightly --cron "0 2 * * *" --timezone Europe/Paris --kind report.build \
      --input '{"scope":"all"}' --catch-up catch_up --catch-up-max 1
  flowfabric schedule create heartbeat --every 30s --kind ops.ping --replace --json`,
		Args: exactArgs(1, "a schedule id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := s.params(env, args[0])
			if err != nil {
				return err
			}
			c, ctx, cancel := o.client(cmd.Context())
			defer cancel()
			res, err := c.CreateSchedule(ctx, p)
			if err != nil {
				return fmt.Errorf("create schedule: %w", err)
			}
			out := wire.ScheduleOf(res.Schedule)
			out.Outcome = string(res.Outcome)
			return printer{env.Stdout, o.json}.emit(out, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "%s %s, next tick %s\n", res.Schedule.ID, res.Outcome, fmtMs(res.Schedule.NextFireAtMs))
				return err
			})
		},
	}
	f := cmd.Flags()
	s.spec.register(f)
	f.StringVar(&s.spec.startAt, "start-at", "", "no tick before this time (RFC 3339)")
	f.StringVar(&s.spec.endAt, "end-at", "", "no tick after this time (RFC 3339, inclusive)")
	f.StringVar(&s.namespace, "namespace", "", "namespace of the schedule and its executions")
	f.StringVar(&s.kind, "kind", "", "execution kind each tick creates (required)")
	f.StringVar(&s.lane, "lane", "", "lane of the executions (default \"default\")")
	f.StringVar(&s.input, "input", "{}", "JSON input of every execution, @file or - for stdin")
	f.Int64Var(&s.priority, "priority", 0, "priority 0..9000 of the executions")
	f.StringArrayVar(&s.caps, "capability", nil, "capability a worker must have (repeatable)")
	f.StringArrayVar(&s.tags, "tag", nil, "tag key=value of the executions (repeatable; ff. keys are reserved)")
	f.StringVar(&s.catchUp, "catch-up", "skip", "late ticks: skip, or catch_up (fire the --catch-up-max most recent)")
	f.IntVar(&s.catchUpMax, "catch-up-max", 0, "with --catch-up catch_up: how many late ticks fire (default 1)")
	f.BoolVar(&s.paused, "paused", false, "create the schedule paused")
	f.BoolVar(&s.replace, "replace", false, "replace an existing schedule of this id with this definition")
	return cmd
}

func (s scheduleCreateOptions) params(env Env, id string) (backend.CreateScheduleParams, error) {
	var p backend.CreateScheduleParams
	if strings.TrimSpace(s.kind) == "" {
		return p, usagef("--kind is required")
	}
	spec, err := s.spec.spec()
	if err != nil {
		return p, err
	}
	input, err := readInput(env, s.input)
	if err != nil {
		return p, err
	}
	tags, err := parseTags(s.tags)
	if err != nil {
		return p, err
	}
	return backend.CreateScheduleParams{ID: id, Namespace: s.namespace, Spec: spec,
		CatchUp: ff.CatchUp{Policy: ff.CatchUpPolicy(s.catchUp), Max: s.catchUpMax}, Paused: s.paused, Replace: s.replace,
		Execution: backend.CreateExecutionParams{Kind: s.kind, Lane: s.lane, Input: input, Priority: s.priority,
			RequiredCapabilities: s.caps, Tags: tags}}, nil
}

// parseTags reads key=value flags.
func parseTags(flags []string) (map[string]string, error) {
	if len(flags) == 0 {
		return nil, nil
	}
	tags := map[string]string{}
	for _, t := range flags {
		k, v, ok := strings.Cut(t, "=")
		if !ok || k == "" {
			return nil, usagef("--tag %q: want key=value", t)
		}
		tags[k] = v
	}
	return tags, nil
}

func newScheduleListCmd(env Env, o *clientOptions) *cobra.Command {
	var p backend.ListSchedulesParams
	var paused, running bool
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List a namespace's schedules",
		Example: "  flowfabric schedule list\n  flowfabric schedule list --paused --namespace billing --json",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if paused && running {
				return usagef("--paused and --running exclude each other")
			}
			if paused || running {
				p.Paused = &paused
			}
			c, ctx, cancel := o.client(cmd.Context())
			defer cancel()
			page, err := c.ListSchedules(ctx, p)
			if err != nil {
				return fmt.Errorf("list schedules: %w", err)
			}
			return printer{env.Stdout, o.json}.emit(wire.SchedulePageOf(page.Schedules, page.NextCursor), func(w io.Writer) error {
				return scheduleTable(w, page)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&p.Namespace, "namespace", "", "namespace (default the default namespace)")
	f.BoolVar(&paused, "paused", false, "only paused schedules")
	f.BoolVar(&running, "running", false, "only running schedules")
	f.IntVar(&p.Limit, "limit", 0, "page size")
	f.StringVar(&p.Cursor, "cursor", "", "start after this schedule id (from the previous page)")
	return cmd
}

func scheduleTable(w io.Writer, page backend.SchedulePage) error {
	rows := [][]string{{"ID", "SPEC", "NEXT", "LAST", "FIRED", "SKIPPED", "STATE"}}
	for _, s := range page.Schedules {
		state := "running"
		switch {
		case s.Paused:
			state = "paused"
		case s.NextFireAtMs == 0:
			state = "finished"
		}
		rows = append(rows, []string{s.ID, specText(s.Spec), fmtMs(s.NextFireAtMs), fmtMs(s.LastTickMs),
			strconv.FormatInt(s.FiredCount, 10), strconv.FormatInt(s.SkippedCount, 10), state})
	}
	if err := table(w, rows); err != nil {
		return err
	}
	if page.NextCursor != "" {
		_, err := fmt.Fprintf(w, "more: --cursor %s\n", page.NextCursor)
		return err
	}
	return nil
}

func specText(s ff.ScheduleSpec) string {
	if s.Cron != "" {
		if s.Timezone != "" {
			return s.Cron + " (" + s.Timezone + ")"
		}
		return s.Cron
	}
	if s.Offset != 0 {
		return "every " + s.Every.String() + " +" + s.Offset.String()
	}
	return "every " + s.Every.String()
}

// fmtMs renders a Unix ms time, "-" for none.
func fmtMs(ms int64) string {
	if ms == 0 {
		return "-"
	}
	return time.UnixMilli(ms).UTC().Format(time.RFC3339)
}

func newScheduleGetCmd(env Env, o *clientOptions) *cobra.Command {
	var ns string
	cmd := &cobra.Command{
		Use:     "get <id>",
		Short:   "Show a schedule with its next ticks",
		Example: "  flowfabric schedule get nightly\n  flowfabric schedule get nightly --json",
		Args:    exactArgs(1, "a schedule id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ctx, cancel := o.client(cmd.Context())
			defer cancel()
			s, upcoming, err := c.GetScheduleWithUpcoming(ctx, backend.GetScheduleParams{Namespace: ns, ID: args[0]})
			if err != nil {
				return fmt.Errorf("get schedule: %w", err)
			}
			out := wire.ScheduleOf(s)
			out.UpcomingMs = upcoming
			return printer{env.Stdout, o.json}.emit(out, func(w io.Writer) error { return describeSchedule(w, s, upcoming) })
		},
	}
	cmd.Flags().StringVar(&ns, "namespace", "", "the schedule's namespace")
	return cmd
}

func describeSchedule(w io.Writer, s ff.Schedule, upcoming []int64) error {
	rows := [][]string{
		{"id", s.ID}, {"spec", specText(s.Spec)}, {"catch-up", string(s.CatchUp.Policy)},
		{"execution", s.Template.Kind + " on " + s.Template.Lane}, {"paused", strconv.FormatBool(s.Paused)},
		{"next", fmtMs(s.NextFireAtMs)}, {"last tick", fmtMs(s.LastTickMs)},
		{"fired", strconv.FormatInt(s.FiredCount, 10)}, {"skipped", strconv.FormatInt(s.SkippedCount, 10)},
	}
	if s.LastError != "" {
		rows = append(rows, []string{"last error", s.LastError})
	}
	for _, t := range upcoming {
		rows = append(rows, []string{"upcoming", fmtMs(t)})
	}
	return table(w, rows)
}

// scheduleAction is pause, resume or delete of one schedule.
func scheduleAction(env Env, o *clientOptions, use, short, example string,
	act func(c *client.Client, cmd *cobra.Command, ns, id string) (*ff.Schedule, error)) *cobra.Command {
	var ns string
	cmd := &cobra.Command{
		Use: use + " <id>", Short: short, Example: example, Args: exactArgs(1, "a schedule id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ctx, cancel := o.client(cmd.Context())
			defer cancel()
			cmd.SetContext(ctx)
			s, err := act(c, cmd, ns, args[0])
			if err != nil {
				return fmt.Errorf("%s schedule: %w", use, err)
			}
			var out any = map[string]string{"schedule_id": args[0], "deleted": "true"}
			if s != nil {
				out = wire.ScheduleOf(*s)
			}
			return printer{env.Stdout, o.json}.emit(out, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "%s %sd\n", args[0], use) // paused, resumed, deleted
				return err
			})
		},
	}
	cmd.Flags().StringVar(&ns, "namespace", "", "the schedule's namespace")
	return cmd
}

func newSchedulePauseCmd(env Env, o *clientOptions) *cobra.Command {
	var reason string
	cmd := scheduleAction(env, o, "pause", "Stop a schedule's ticks", `  flowfabric schedule pause nightly --reason "db migration"`,
		func(c *client.Client, cmd *cobra.Command, ns, id string) (*ff.Schedule, error) {
			s, err := c.PauseSchedule(cmd.Context(), backend.PauseScheduleParams{Namespace: ns, ID: id, Reason: reason})
			return &s, err
		})
	cmd.Flags().StringVar(&reason, "reason", "", "why (shown by get and list --json)")
	return cmd
}

func newScheduleResumeCmd(env Env, o *clientOptions) *cobra.Command {
	return scheduleAction(env, o, "resume", "Restart a schedule's ticks from now (ticks during the pause never fire)",
		"  flowfabric schedule resume nightly",
		func(c *client.Client, cmd *cobra.Command, ns, id string) (*ff.Schedule, error) {
			s, err := c.ResumeSchedule(cmd.Context(), backend.ResumeScheduleParams{Namespace: ns, ID: id})
			return &s, err
		})
}

func newScheduleDeleteCmd(env Env, o *clientOptions) *cobra.Command {
	return scheduleAction(env, o, "delete", "Delete a schedule (its executions stay)", "  flowfabric schedule delete nightly",
		func(c *client.Client, cmd *cobra.Command, ns, id string) (*ff.Schedule, error) {
			return nil, c.DeleteSchedule(cmd.Context(), backend.DeleteScheduleParams{Namespace: ns, ID: id})
		})
}

func newScheduleNextCmd(env Env, o *clientOptions) *cobra.Command {
	var s specFlags
	var n int
	var from string
	cmd := &cobra.Command{
		Use:     "next",
		Short:   "Preview a spec's next ticks (local, no server)",
		Example: "  flowfabric schedule next --cron \"30 1 * * *\" --timezone America/New_York -n 5\n  flowfabric schedule next --every 90m --json",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			spec, err := s.spec()
			if err != nil {
				return err
			}
			at := time.Now()
			if from != "" {
				if at, err = time.Parse(time.RFC3339, from); err != nil {
					return usagef("--from %q: want RFC 3339", from)
				}
			}
			if n < 1 || n > 1000 {
				return usagef("-n %d outside [1, 1000]", n)
			}
			ticks := spec.Upcoming(at.UnixMilli(), n)
			out := make([]string, len(ticks))
			for i, t := range ticks {
				out[i] = fmtMs(t)
			}
			return printer{env.Stdout, o.json}.emit(map[string]any{"ticks": out}, func(w io.Writer) error {
				_, err := fmt.Fprintln(w, strings.Join(out, "\n"))
				return err
			})
		},
	}
	f := cmd.Flags()
	s.register(f)
	f.IntVarP(&n, "count", "n", 5, "how many ticks")
	f.StringVar(&from, "from", "", "preview from this time (RFC 3339; default now)")
	return cmd
}
