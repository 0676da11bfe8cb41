package cli

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// submitOptions are the flags of `exec submit`.
type submitOptions struct {
	id             string
	kind           string
	input          string
	lane           string
	priority       int64
	capabilities   []string
	idempotencyKey string
	delay          time.Duration
	deadline       time.Duration
	tags           []string
	maxRetries     int
	retryDelay     time.Duration
	attemptTimeout time.Duration
	flow           string
	dependsOn      []string
	join           string
	quorum         int
	onSatisfied    string
	budgets        []string
	quotas         []string
}

func newExecSubmitCmd(env Env, o *clientOptions) *cobra.Command {
	var s submitOptions
	cmd := &cobra.Command{
		Use:   "submit",
		Short: "Submit a new execution",
		Long: `Submit a new execution of --kind with a JSON --input on a lane. Workers
that registered a handler for the kind and listen on the lane run it.

--input takes a JSON document, @path to read one from a file, or - to
read stdin. The same --idempotency-key returns the existing execution.`,
		Example: `  flowfabric exec submit --kind email.send --input '{"to":"a@example.com"}'
  flowfabric exec submit --kind report.build --input @params.json --lane reports \
      --priority 100 --capability gpu --tag team.owner=data --max-retries 3 --retry-delay 5s
  echo '{"n":1}' | flowfabric exec submit --kind count --input - --delay 1m --json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := s.params(env)
			if err != nil {
				return err
			}
			c, ctx, cancel := o.client(cmd.Context())
			defer cancel()
			res, err := c.CreateExecution(ctx, p)
			if err != nil {
				return fmt.Errorf("submit: %w", err)
			}
			out := struct {
				ExecutionID ff.ExecutionID `json:"execution_id"`
				PublicState ff.PublicState `json:"public_state"`
				Duplicate   bool           `json:"duplicate"`
			}{res.ExecutionID, res.PublicState, res.Duplicate}
			return printer{env.Stdout, o.json}.emit(out, func(w io.Writer) error {
				note := ""
				if res.Duplicate {
					note = " (existing execution for this idempotency key)"
				}
				_, err := fmt.Fprintf(w, "%s %s%s\n", res.ExecutionID, res.PublicState, note)
				return err
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&s.kind, "kind", "", "execution kind, which selects the worker handler (required)")
	f.StringVar(&s.input, "input", "{}", "JSON input, @file or - for stdin")
	f.StringVar(&s.lane, "lane", "", "lane (default \"default\")")
	f.Int64Var(&s.priority, "priority", 0, "priority 0..9000, higher runs first")
	f.StringArrayVar(&s.capabilities, "capability", nil, "capability a worker must have (repeatable)")
	f.StringVar(&s.idempotencyKey, "idempotency-key", "", "submit at most once per key")
	f.DurationVar(&s.delay, "delay", 0, "do not start before this delay")
	f.DurationVar(&s.deadline, "deadline", 0, "expire the execution if not finished within this duration")
	f.StringArrayVar(&s.tags, "tag", nil, "tag key=value (repeatable; keys look like prefix.field)")
	f.IntVar(&s.maxRetries, "max-retries", 0, "retries after a failed attempt")
	f.DurationVar(&s.retryDelay, "retry-delay", time.Second, "fixed delay before each retry (with --max-retries)")
	f.DurationVar(&s.attemptTimeout, "attempt-timeout", 0, "expire an attempt that runs longer than this")
	f.StringVar(&s.id, "execution-id", "", "choose the execution id ({fp:N}:<uuid>) instead of minting one")
	f.StringVar(&s.flow, "flow", "", "make the execution a member of this flow (id)")
	f.StringArrayVar(&s.dependsOn, "depends-on", nil, "upstream member of the flow (repeatable; needs --flow)")
	f.StringVar(&s.join, "join", "", "all_of (default), any_of or quorum (with --depends-on)")
	f.IntVar(&s.quorum, "quorum", 0, "n of --join quorum")
	f.StringVar(&s.onSatisfied, "on-satisfied", "", "let_run (default) or cancel_remaining: cancel the other upstreams once the join is decided")
	f.StringArrayVar(&s.budgets, "budget", nil, "budget the execution runs under (repeatable; policy.budget_ids)")
	f.StringArrayVar(&s.quotas, "quota", nil, "quota the execution runs under (repeatable; policy.quota_ids)")
	return cmd
}

// params validates the flags and builds the create request.
func (s submitOptions) params(env Env) (backend.CreateExecutionParams, error) {
	var p backend.CreateExecutionParams
	if strings.TrimSpace(s.kind) == "" {
		return p, usagef("--kind is required")
	}
	input, err := readInput(env, s.input)
	if err != nil {
		return p, err
	}
	p = backend.CreateExecutionParams{Kind: s.kind, Input: input, Lane: s.lane, Priority: s.priority,
		RequiredCapabilities: s.capabilities, IdempotencyKey: s.idempotencyKey}
	if s.id != "" {
		if p.ExecutionID, err = parseID(s.id); err != nil {
			return p, err
		}
	}
	now := time.Now()
	if s.delay < 0 || s.deadline < 0 || s.attemptTimeout < 0 || s.retryDelay < 0 {
		return p, usagef("durations must not be negative")
	}
	if s.delay > 0 {
		p.DelayUntil = now.Add(s.delay)
	}
	if s.deadline > 0 {
		p.DeadlineAt = now.Add(s.deadline)
	}
	if len(s.tags) > 0 {
		p.Tags = map[string]string{}
		for _, t := range s.tags {
			k, v, ok := strings.Cut(t, "=")
			if !ok || k == "" {
				return p, usagef("--tag %q: want key=value", t)
			}
			p.Tags[k] = v
		}
	}
	if s.maxRetries < 0 {
		return p, usagef("--max-retries must not be negative")
	}
	if s.maxRetries > 0 || s.attemptTimeout > 0 || len(s.budgets) > 0 || len(s.quotas) > 0 {
		p.Policy = &ff.ExecutionPolicy{BudgetIDs: s.budgets, QuotaIDs: s.quotas}
	}
	if s.maxRetries > 0 {
		p.Policy.Retry = &ff.RetryPolicy{MaxRetries: s.maxRetries,
			Backoff: ff.BackoffStrategy{Type: "fixed", DelayMs: s.retryDelay.Milliseconds()}}
	}
	if s.attemptTimeout > 0 {
		ms := s.attemptTimeout.Milliseconds()
		p.Policy.Timeout = &ff.TimeoutPolicy{AttemptTimeoutMs: &ms}
	}
	return p, s.flowParams(&p)
}

// flowParams fills the flow membership of p from --flow, --depends-on
// and the join flags.
func (s submitOptions) flowParams(p *backend.CreateExecutionParams) error {
	if s.flow == "" {
		if len(s.dependsOn) > 0 || s.join != "" || s.quorum != 0 || s.onSatisfied != "" {
			return usagef("--depends-on, --join, --quorum and --on-satisfied need --flow")
		}
		return nil
	}
	p.FlowID = s.flow
	for _, d := range s.dependsOn {
		id, err := parseID(d)
		if err != nil {
			return err
		}
		p.DependsOn = append(p.DependsOn, id)
	}
	if s.join != "" || s.quorum != 0 || s.onSatisfied != "" {
		p.Join = &ff.JoinPolicy{Policy: s.join, N: s.quorum, OnSatisfied: s.onSatisfied}
	}
	return nil
}
