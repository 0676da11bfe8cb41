package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/signal"
	"strconv"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/client"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

// attemptFlag is --attempt: an attempt index, or -1 for the latest.
func attemptFlag(cmd *cobra.Command, n *int64) {
	cmd.Flags().Int64Var(n, "attempt", -1, "attempt index (default: the latest attempt)")
}

// resolveAttempt returns the attempt --attempt names: the latest when it
// is -1 (read from the execution).
func resolveAttempt(ctx context.Context, c *client.Client, id ff.ExecutionID, n int64) (uint32, error) {
	if n >= 0 {
		if n > 1<<32-1 {
			return 0, usagef("--attempt %d: not an attempt index", n)
		}
		return uint32(n), nil
	}
	snap, err := c.DescribeExecution(ctx, backend.DescribeExecutionParams{ExecutionID: id})
	if err != nil {
		return 0, fmt.Errorf("read execution %s: %w", id, err)
	}
	if snap.AttemptCount == 0 {
		return 0, fmt.Errorf("execution %s has not started an attempt yet", id)
	}
	return snap.AttemptCount - 1, nil
}

func newExecTailCmd(env Env, o *clientOptions) *cobra.Command {
	var attempt int64
	var after uint64
	var follow bool
	cmd := &cobra.Command{
		Use:   "tail ID",
		Short: "Print an attempt's output frames; --follow waits for new ones until the attempt ends",
		Example: `  flowfabric exec tail '{fp:12}:0b9f5c9e-2f5e-4c43-9c1f-3f7c7f1d2a10' --follow
  flowfabric exec tail '{fp:12}:0b9f5c9e-...' --attempt 0 --after 100 --json`,
		Args: exactArgs(1, "an execution id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID(args[0])
			if err != nil {
				return err
			}
			c, ctx, cancel := o.client(cmd.Context())
			defer cancel()
			n, err := resolveAttempt(ctx, c, id, attempt)
			if err != nil {
				return err
			}
			ref := backend.StreamRef{ExecutionID: id, Attempt: n}
			p := printer{env.Stdout, o.json}
			if !follow {
				return tailOnce(ctx, c, p, ref, after)
			}
			// Following is bounded by Ctrl-C, not by --timeout.
			fctx, stop := signal.NotifyContext(context.WithoutCancel(cmd.Context()), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return tailFollow(fctx, c, p, ref, after)
		},
	}
	attemptFlag(cmd, &attempt)
	cmd.Flags().Uint64Var(&after, "after", 0, "print frames after this frame id")
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "wait for new frames until the attempt ends")
	return cmd
}

// tailOnce prints every frame after after and, when the attempt ended,
// its close.
func tailOnce(ctx context.Context, c *client.Client, p printer, ref backend.StreamRef, after uint64) error {
	for {
		page, err := c.ReadStream(ctx, backend.ReadStreamParams{StreamRef: ref, After: after, Limit: backend.MaxStreamReadLimit})
		if err != nil {
			return fmt.Errorf("read stream of %s attempt %d: %w", ref.ExecutionID, ref.Attempt, err)
		}
		for _, f := range page.Frames {
			if err := printFrame(p, f); err != nil {
				return err
			}
			after = f.ID
		}
		if page.Closed {
			return printClose(p, page.LastFrameID, page.ClosedAtMs, page.ClosedReason)
		}
		if len(page.Frames) < backend.MaxStreamReadLimit {
			return nil
		}
	}
}

func tailFollow(ctx context.Context, c *client.Client, p printer, ref backend.StreamRef, after uint64) error {
	for ev, err := range c.FollowStream(ctx, ref, after) {
		switch {
		case err != nil && ctx.Err() != nil:
			return nil // interrupted
		case err != nil:
			return fmt.Errorf("follow stream of %s attempt %d: %w", ref.ExecutionID, ref.Attempt, err)
		case ev.Closed:
			return printClose(p, after, ev.ClosedAtMs, ev.ClosedReason)
		}
		if err := printFrame(p, ev.Frame); err != nil {
			return err
		}
		after = ev.Frame.ID
	}
	return nil
}

// printFrame writes one frame: a JSON line with --json, else the id, the
// type and the payload (JSON as is; text bytes as text; other bytes as
// base64).
func printFrame(p printer, f ff.StreamFrame) error {
	if p.json {
		return jsonLine(p.w, wire.FrameOf(f))
	}
	payload := string(f.Payload)
	if f.Binary && !utf8.Valid(f.Payload) {
		b, _ := json.Marshal(f.Payload) // base64, quoted
		payload = "base64:" + string(b)
	}
	_, err := fmt.Fprintf(p.w, "%d\t%s\t%s\n", f.ID, f.Type, trimNewline(payload))
	return err
}

func trimNewline(s string) string {
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == '\r') {
		s = s[:len(s)-1]
	}
	return s
}

func printClose(p printer, last uint64, atMs int64, reason string) error {
	if p.json {
		return jsonLine(p.w, map[string]any{"closed": wire.StreamClosed{LastFrameID: last, ClosedAtMs: atMs, ClosedReason: reason}})
	}
	_, err := fmt.Fprintf(p.w, "-- closed: %s at %s\n", reason, time.UnixMilli(atMs).UTC().Format(time.RFC3339Nano))
	return err
}

// jsonLine writes v as one line of JSON (a stream of documents, for jq).
func jsonLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

func newExecSummaryCmd(env Env, o *clientOptions) *cobra.Command {
	var attempt int64
	cmd := &cobra.Command{
		Use:     "summary ID",
		Short:   "Print an attempt's summary document",
		Example: "  flowfabric exec summary '{fp:12}:0b9f5c9e-2f5e-4c43-9c1f-3f7c7f1d2a10' --json",
		Args:    exactArgs(1, "an execution id"),
		RunE: onExecution(o, func(ctx context.Context, c *client.Client, id ff.ExecutionID) error {
			p := backend.ReadSummaryParams{ExecutionID: id}
			if attempt >= 0 {
				n, err := resolveAttempt(ctx, c, id, attempt)
				if err != nil {
					return err
				}
				p.Attempt = &n
			}
			s, err := c.ReadSummary(ctx, p)
			if err != nil {
				return fmt.Errorf("read summary of %s: %w", id, err)
			}
			out := wire.AttemptSummary{AttemptIndex: s.AttemptIndex, Summary: s.Document, Version: s.Version, UpdatedAtMs: s.UpdatedAtMs}
			return printer{env.Stdout, o.json}.emit(out, func(w io.Writer) error {
				if s.Document == nil {
					_, err := fmt.Fprintf(w, "attempt %d: no summary\n", s.AttemptIndex)
					return err
				}
				_, err := fmt.Fprintf(w, "attempt %d, version %s\n%s\n", s.AttemptIndex, strconv.FormatInt(s.Version, 10), s.Document)
				return err
			})
		}),
	}
	attemptFlag(cmd, &attempt)
	return cmd
}
