package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/client"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

// signalOptions are the flags of `flowfabric signal`.
type signalOptions struct {
	waitpoint, key, token, name, payload string
	sourceType, sourceID, idempotency    string
}

func newSignalCmd(env Env) *cobra.Command {
	o := &clientOptions{}
	var s signalOptions
	cmd := &cobra.Command{
		Use:   "signal ID",
		Short: "Send a signal to a waitpoint of an execution (the waitpoint token is the credential)",
		Long: `Deliver a signal to a waitpoint of a suspended (or about to suspend) execution.
The waitpoint's token authenticates the call: no API token is needed. Pass it
with --token or, to keep it out of the shell history, in FF_WAITPOINT_TOKEN.
The answer names the effect: resume_condition_satisfied (the execution is
claimable again), appended_to_waitpoint, buffered_for_pending_waitpoint or
signal_ignored_not_in_condition.`,
		Example: `  flowfabric signal '{fp:12}:0b9f5c9e-...' --waitpoint 6f1c... --token "$TOKEN" --name approve
  FF_WAITPOINT_TOKEN=k1:3a9f... flowfabric signal '{fp:12}:0b9f5c9e-...' --key approval --name reject \
      --payload '{"why":"budget"}' --json`,
		Args: exactArgs(1, "an execution id"),
		RunE: onExecution(o, func(ctx context.Context, c *client.Client, id ff.ExecutionID) error {
			return runSignal(ctx, env, o, c, id, s)
		}),
	}
	o.register(cmd)
	f := cmd.Flags()
	f.StringVar(&s.waitpoint, "waitpoint", "", "waitpoint id")
	f.StringVar(&s.key, "key", "", "waitpoint key (instead of --waitpoint)")
	f.StringVar(&s.token, "token", "", "waitpoint token <kid>:<hex>")
	bindEnv(f, "token", "FF_WAITPOINT_TOKEN")
	f.StringVar(&s.name, "name", "", "signal name (required)")
	f.StringVar(&s.payload, "payload", "", "payload, any JSON")
	f.StringVar(&s.sourceType, "source-type", "cli", "who sends it: a type")
	f.StringVar(&s.sourceID, "source-identity", "", "who sends it: an identity")
	f.StringVar(&s.idempotency, "idempotency-key", "", "the same key again answers the first signal (duplicate)")
	return cmd
}

func runSignal(ctx context.Context, env Env, o *clientOptions, c *client.Client, id ff.ExecutionID, s signalOptions) error {
	if s.name == "" {
		return usagef("--name is required")
	}
	if s.waitpoint == "" && s.key == "" {
		return usagef("--waitpoint or --key is required")
	}
	var payload json.RawMessage
	if s.payload != "" {
		if !json.Valid([]byte(s.payload)) {
			return usagef("--payload is not JSON")
		}
		payload = json.RawMessage(s.payload)
	}
	res, err := c.DeliverSignal(ctx, backend.DeliverSignalParams{ExecutionID: id, WaitpointID: s.waitpoint,
		WaitpointKey: s.key, Token: s.token, Name: s.name, Payload: payload,
		Source: ff.SignalSource{Type: s.sourceType, Identity: s.sourceID}, IdempotencyKey: s.idempotency})
	if err != nil {
		return fmt.Errorf("signal %s: %w", id, err)
	}
	out := wire.SignalResponse{SignalID: res.SignalID, Effect: res.Effect, Duplicate: res.Duplicate}
	return printer{env.Stdout, o.json}.emit(out, func(w io.Writer) error {
		dup := ""
		if res.Duplicate {
			dup = " (duplicate)"
		}
		_, err := fmt.Fprintf(w, "%s %s%s\n", res.SignalID, res.Effect, dup)
		return err
	})
}

func newWaitpointKeysCmd(env Env) *cobra.Command {
	o := &clientOptions{}
	cmd := &cobra.Command{
		Use:     "waitpoint-keys",
		Short:   "Manage the waitpoint token signing keys",
		Example: "  flowfabric waitpoint-keys rotate --kid k2 --grace 24h",
		Args:    noArgs,
	}
	o.register(cmd)
	cmd.AddCommand(newWaitpointKeysRotateCmd(env, o))
	return cmd
}

func newWaitpointKeysRotateCmd(env Env, o *clientOptions) *cobra.Command {
	var kid, secret string
	var grace time.Duration
	cmd := &cobra.Command{
		Use:   "rotate",
		Short: "Make a new signing key current; the previous one verifies until the grace ends",
		Long: `Rotate the waitpoint signing key. New tokens are signed with the new kid;
tokens of the previous kid keep verifying until --grace has passed (by the
database clock), and never after. Without --secret-hex (or
FF_WAITPOINT_NEW_SECRET) the server generates the secret; without --kid it
mints one. A kid is never reused.`,
		Example: `  flowfabric waitpoint-keys rotate --kid k2 --grace 24h
  FF_WAITPOINT_NEW_SECRET=$(openssl rand -hex 32) flowfabric waitpoint-keys rotate --kid k3 --json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, ctx, cancel := o.client(cmd.Context())
			defer cancel()
			res, err := c.RotateWaitpointKey(ctx, backend.RotateWaitpointKeyParams{Kid: kid, SecretHex: secret, Grace: grace})
			if err != nil {
				return fmt.Errorf("rotate waitpoint key: %w", err)
			}
			return printer{env.Stdout, o.json}.emit(wire.RotateKeyResponse(res), func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "current kid: %s\n", res.Kid)
				if err == nil && res.PreviousKid != "" {
					_, err = fmt.Fprintf(w, "previous kid %s verifies until %s\n", res.PreviousKid,
						timeText(ff.TimeFromMs(res.PreviousValidUntilMs)))
				}
				return err
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&kid, "kid", "", "the new key id (letters, digits, '.', '_', '-')")
	f.StringVar(&secret, "secret-hex", "", "the new secret, 64+ hex digits")
	bindEnv(f, "secret-hex", "FF_WAITPOINT_NEW_SECRET")
	f.DurationVar(&grace, "grace", backend.DefaultRotationGrace, "how long tokens of the previous key still verify")
	return cmd
}

func newExecResumeCmd(env Env, o *clientOptions) *cobra.Command {
	return &cobra.Command{
		Use:     "resume ID",
		Short:   "Resume a suspended execution (operator resume, whatever its condition)",
		Example: "  flowfabric exec resume '{fp:12}:0b9f5c9e-2f5e-4c43-9c1f-3f7c7f1d2a10'",
		Args:    exactArgs(1, "an execution id"),
		RunE: onExecution(o, func(ctx context.Context, c *client.Client, id ff.ExecutionID) error {
			st, err := c.ResumeExecution(ctx, backend.ResumeExecutionParams{ExecutionID: id})
			if err != nil {
				return fmt.Errorf("resume execution %s: %w", id, err)
			}
			return printer{env.Stdout, o.json}.emit(wire.ResumeExecutionResponse{ExecutionID: id, PublicState: st}, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "%s %s\n", id, st)
				return err
			})
		}),
	}
}

func newExecWaitpointsCmd(env Env, o *clientOptions) *cobra.Command {
	return &cobra.Command{
		Use:     "waitpoints ID",
		Short:   "List an execution's open waitpoints (never their tokens)",
		Example: "  flowfabric exec waitpoints '{fp:12}:0b9f5c9e-2f5e-4c43-9c1f-3f7c7f1d2a10' --json",
		Args:    exactArgs(1, "an execution id"),
		RunE: onExecution(o, func(ctx context.Context, c *client.Client, id ff.ExecutionID) error {
			ws, err := c.ListWaitpoints(ctx, backend.ListWaitpointsParams{ExecutionID: id})
			if err != nil {
				return fmt.Errorf("list waitpoints of %s: %w", id, err)
			}
			out := wire.WaitpointList{Waitpoints: []wire.Waitpoint{}}
			rows := [][]string{{"WAITPOINT", "KEY", "STATE", "KID", "FINGERPRINT", "EXPIRES"}}
			for _, w := range ws {
				out.Waitpoints = append(out.Waitpoints, wire.WaitpointOf(w))
				exp := "-"
				if w.ExpiresAtMs > 0 {
					exp = timeText(ff.TimeFromMs(w.ExpiresAtMs))
				}
				rows = append(rows, []string{w.ID, w.Key, string(w.State), w.TokenKid, w.TokenFingerprint, exp})
			}
			return printer{env.Stdout, o.json}.emit(out, func(w io.Writer) error { return table(w, rows) })
		}),
	}
}

func newExecSignalsCmd(env Env, o *clientOptions) *cobra.Command {
	return &cobra.Command{
		Use:     "signals ID",
		Short:   "List the signals an execution received, oldest first",
		Example: "  flowfabric exec signals '{fp:12}:0b9f5c9e-2f5e-4c43-9c1f-3f7c7f1d2a10'",
		Args:    exactArgs(1, "an execution id"),
		RunE: onExecution(o, func(ctx context.Context, c *client.Client, id ff.ExecutionID) error {
			ss, err := c.ListSignals(ctx, backend.ListSignalsParams{ExecutionID: id})
			if err != nil {
				return fmt.Errorf("list signals of %s: %w", id, err)
			}
			rows := [][]string{{"SIGNAL", "NAME", "EFFECT", "SOURCE", "RECEIVED", "PAYLOAD BYTES"}}
			for _, s := range ss {
				rows = append(rows, []string{s.ID, s.Name, string(s.Effect), s.Source.Type + ":" + s.Source.Identity,
					timeText(ff.TimeFromMs(s.ReceivedAtMs)), strconv.Itoa(len(s.Payload))})
			}
			return printer{env.Stdout, o.json}.emit(wire.SignalList{Signals: wire.SignalsOf(ss)}, func(w io.Writer) error { return table(w, rows) })
		}),
	}
}
