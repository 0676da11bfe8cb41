// Command llm-fanout fans out calls to a (fake) language model under a
// token budget and a rate quota: every call is one execution whose policy
// lists the budget and the quota, so the engine admits at most
// --rate calls per second and --concurrency at once, and stops handing
// out calls once the budget's hard limit is reached. Each call reports the
// tokens it used; a call that would go over the limit is refused and
// fails, and the calls not started yet wait rate_limited until the budget
// is reset (--reset does it at the end). See README.md.
//
// Environment: FF_DATABASE_URL (default ./llm-fanout.db, SQLite).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/ffserver"
	"github.com/flowfabric-go/flowfabric/worker"
)

// Config is one fan-out.
type Config struct {
	Calls         int   // executions to fan out
	TokensPerCall int64 // what the fake model uses per call
	BudgetTokens  int64 // the budget's hard limit
	RatePerSecond int64 // the quota's window: calls per second
	Concurrency   int64 // the quota's concurrency cap
	Reset         bool  // reset the budget once the first wave is done
}

// Budget and quota ids, and the lane and kind of the calls.
const (
	BudgetID = "llm-tokens"
	QuotaID  = "llm-rate"
	Lane     = "llm"
	Kind     = "llm.call"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var c Config
	flag.IntVar(&c.Calls, "calls", 40, "calls to fan out")
	flag.Int64Var(&c.TokensPerCall, "tokens-per-call", 100, "tokens the fake model uses per call")
	flag.Int64Var(&c.BudgetTokens, "budget", 3000, "token budget (hard limit)")
	flag.Int64Var(&c.RatePerSecond, "rate", 10, "calls admitted per second")
	flag.Int64Var(&c.Concurrency, "concurrency", 4, "calls running at once")
	flag.BoolVar(&c.Reset, "reset", true, "reset the budget after the first wave, so the waiting calls run")
	flag.Parse()
	url := os.Getenv("FF_DATABASE_URL")
	if url == "" {
		url = "./llm-fanout.db"
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := ffserver.Open(ctx, ffserver.Config{DatabaseURL: url, Migrate: ffserver.MigrateAlways, Logger: log})
	if err == nil {
		defer srv.Close()
		err = srv.Start(ctx)
	}
	if err == nil {
		_, err = Run(ctx, srv.Backend(), c, os.Stdout, log)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "llm-fanout:", err)
		os.Exit(1)
	}
}

// Summary is what a fan-out did.
type Summary struct {
	Completed, RefusedByBudget, Waiting int
	TokensUsed                          int64
	PeakConcurrency                     int64
}

// fakeModel stands for the model API: it answers after a short delay and
// records how many calls run at once.
type fakeModel struct {
	tokens        int64
	running, peak atomic.Int64
}

func (m *fakeModel) complete(ctx context.Context, prompt string) (string, int64, error) {
	n := m.running.Add(1)
	defer m.running.Add(-1)
	for p := m.peak.Load(); n > p && !m.peak.CompareAndSwap(p, n); p = m.peak.Load() {
	}
	select {
	case <-time.After(5 * time.Millisecond):
	case <-ctx.Done():
		return "", 0, ctx.Err()
	}
	return strings.ToUpper(prompt), m.tokens, nil
}

// Run creates the budget and the quota (idempotent), fans out the calls,
// serves them with an in-process worker until each is completed, refused
// or waiting for the budget, then (with c.Reset) resets the budget and
// serves the rest. It prints a summary to out.
func Run(ctx context.Context, b backend.Backend, c Config, out io.Writer, log *slog.Logger) (Summary, error) {
	if err := setup(ctx, b, c); err != nil {
		return Summary{}, err
	}
	model := &fakeModel{tokens: c.TokensPerCall}
	w, err := worker.New(b, worker.Config{WorkerID: "llm-fanout", Lanes: []string{Lane}, Concurrency: 8, Logger: log})
	if err != nil {
		return Summary{}, err
	}
	w.Register(Kind, func(ctx context.Context, t *worker.Task) (any, error) {
		var in struct{ Prompt string }
		if err := t.Decode(&in); err != nil {
			return nil, worker.Permanent(err)
		}
		answer, used, err := model.complete(ctx, in.Prompt)
		if err != nil {
			return nil, err
		}
		// The dedup key makes a retried report count once.
		if _, err := t.ReportUsageOnce(ctx, fmt.Sprintf("%s/%d", t.ExecutionID, t.AttemptIndex),
			map[string]int64{"tokens": used}); err != nil {
			return nil, worker.Permanent(err) // over budget: the answer is not used
		}
		return map[string]any{"answer": answer, "tokens": used}, nil
	})
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	defer func() { cancel(); <-done }()

	ids, err := fanOut(ctx, b, c.Calls)
	if err != nil {
		return Summary{}, err
	}
	s, err := settle(ctx, b, ids)
	if err != nil {
		return s, err
	}
	fmt.Fprintf(out, "first wave: %d completed, %d refused by the budget, %d waiting for it\n", s.Completed, s.RefusedByBudget, s.Waiting)
	if c.Reset && s.Waiting > 0 {
		if _, err := b.ResetBudget(ctx, backend.ResetBudgetParams{BudgetID: BudgetID}); err != nil {
			return s, err
		}
		if s, err = settle(ctx, b, ids); err != nil {
			return s, err
		}
		fmt.Fprintf(out, "after the reset: %d completed, %d refused by the budget, %d waiting\n", s.Completed, s.RefusedByBudget, s.Waiting)
	}
	st, err := b.GetBudget(ctx, backend.GetBudgetParams{BudgetID: BudgetID})
	if err != nil {
		return s, err
	}
	s.TokensUsed, s.PeakConcurrency = st.Usage["tokens"], model.peak.Load()
	fmt.Fprintf(out, "tokens used since the last reset: %d of %d; peak concurrent calls: %d (cap %d)\n",
		s.TokensUsed, c.BudgetTokens, s.PeakConcurrency, c.Concurrency)
	return s, nil
}

// setup creates the token budget and the model's rate quota.
func setup(ctx context.Context, b backend.Backend, c Config) error {
	if _, err := b.CreateBudget(ctx, backend.CreateBudgetParams{BudgetDefinition: ff.BudgetDefinition{ID: BudgetID,
		ScopeType: "app", ScopeID: "llm-fanout", Limits: map[string]ff.BudgetLimit{"tokens": {Hard: c.BudgetTokens}}}}); err != nil {
		return fmt.Errorf("create budget: %w", err)
	}
	_, err := b.CreateQuota(ctx, backend.CreateQuotaParams{QuotaDefinition: ff.QuotaDefinition{ID: QuotaID,
		WindowMs: 1000, MaxPerWindow: c.RatePerSecond, MaxConcurrent: c.Concurrency}})
	if err != nil {
		return fmt.Errorf("create quota: %w", err)
	}
	return nil
}

// fanOut creates one execution per call under the budget and the quota.
func fanOut(ctx context.Context, b backend.Backend, n int) ([]ff.ExecutionID, error) {
	pol := &ff.ExecutionPolicy{BudgetIDs: []string{BudgetID}, QuotaIDs: []string{QuotaID}}
	ids := make([]ff.ExecutionID, n)
	for i := range ids {
		res, err := b.CreateExecution(ctx, backend.CreateExecutionParams{Lane: Lane, Kind: Kind, Policy: pol,
			Input: fmt.Appendf(nil, `{"prompt":"question %d"}`, i)})
		if err != nil {
			return nil, fmt.Errorf("fan out call %d: %w", i, err)
		}
		ids[i] = res.ExecutionID
	}
	return ids, nil
}

// settle waits until every call is completed, failed or waiting for the
// budget, and counts them. It reads the states every 20 ms: a program's
// loop, not the engine's (the engine wakes the blocked calls itself).
func settle(ctx context.Context, b backend.Backend, ids []ff.ExecutionID) (Summary, error) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		s, busy, err := count(ctx, b, ids)
		if err != nil || !busy {
			return s, err
		}
		select {
		case <-ctx.Done():
			return s, ctx.Err()
		case <-tick.C:
		}
	}
}

// count reads every call's state; busy is true while one may still move
// without a budget reset.
func count(ctx context.Context, b backend.Backend, ids []ff.ExecutionID) (Summary, bool, error) {
	var s Summary
	busy := false
	for _, id := range ids {
		snap, err := b.DescribeExecution(ctx, backend.DescribeExecutionParams{ExecutionID: id})
		if err != nil {
			return s, false, err
		}
		switch {
		case snap.PublicState == ff.PublicCompleted:
			s.Completed++
		case snap.PublicState == ff.PublicFailed:
			s.RefusedByBudget++
		case snap.StateVector.EligibilityState == ff.BlockedByBudget:
			s.Waiting++
		default:
			busy = true // running, waiting for a worker, or for the quota
		}
	}
	return s, busy, nil
}
