// Command river-bench runs the FlowFabric benchmark workload through
// River (github.com/riverqueue/river) on Postgres, for comparison with
// `flowfabric bench`. It shares the workload, probes, percentile math and
// report format with FlowFabric's harness (package
// internal/bench/workload), so both print the same figures with the same
// definitions; the last line is exactly "throughput_jobs_per_s=<number>".
//
// River runs in its own schema (--schema, default river_bench), dropped
// and re-created and migrated with rivermigrate at every start. See
// docs/benchmarks.md for the configuration and why it was chosen.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/flowfabric-go/flowfabric/internal/bench/workload"
)

// River's client configuration defaults chosen for the benchmark: the
// values River's own `river bench` uses (cmd/river/riverbench), which its
// authors tuned for throughput. River's library defaults (100ms cooldown,
// 1s poll) cap a queue at roughly MaxWorkers jobs per 100ms.
const (
	defaultFetchCooldown     = 2 * time.Millisecond
	defaultFetchPollInterval = 20 * time.Millisecond
	defaultSchema            = "river_bench"
)

type options struct {
	databaseURL       string
	schema            string
	maxConns          int
	fetchCooldown     time.Duration
	fetchPollInterval time.Duration
	progress          bool
	logLevel          string
	work              workload.Options
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "river-bench: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := bench(ctx, o, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "river-bench: %v\n", err)
		return 1
	}
	return 0
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	var mode string
	fs := flag.NewFlagSet("river-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.databaseURL, "database-url", "", "postgres://... URL (required)")
	fs.StringVar(&mode, "mode", string(workload.ModeDrain), "drain or steady")
	fs.IntVar(&o.work.Jobs, "jobs", workload.DefaultJobs, "jobs to insert (steady: at most)")
	fs.IntVar(&o.work.Workers, "workers", workload.DefaultWorkers, "MaxWorkers of the one queue")
	fs.Float64Var(&o.work.Rate, "rate", workload.DefaultRate, "steady mode: jobs inserted per second")
	fs.DurationVar(&o.work.Duration, "duration", 0, "steady mode: stop inserting after this long (0: when --jobs are inserted)")
	fs.IntVar(&o.work.InsertConcurrency, "insert-concurrency", workload.DefaultInsertConcurrency, "goroutines inserting, one job per Insert call")
	fs.DurationVar(&o.work.Timeout, "timeout", workload.DefaultTimeout, "give up when the run takes longer")
	fs.IntVar(&o.maxConns, "max-conns", 0, "pgx pool size (0: pgx's default, max(4, CPUs))")
	fs.StringVar(&o.schema, "schema", defaultSchema, "schema River runs in (dropped and re-created)")
	fs.DurationVar(&o.fetchCooldown, "fetch-cooldown", defaultFetchCooldown, "River FetchCooldown")
	fs.DurationVar(&o.fetchPollInterval, "fetch-poll-interval", defaultFetchPollInterval, "River FetchPollInterval")
	fs.BoolVar(&o.progress, "progress", true, "print a progress line to stderr every 2s")
	fs.StringVar(&o.logLevel, "log-level", "warn", "debug, info, warn or error (logs go to stderr)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	lower := strings.ToLower(o.databaseURL)
	if !strings.HasPrefix(lower, "postgres://") && !strings.HasPrefix(lower, "postgresql://") {
		return o, errors.New("--database-url must be a postgres:// URL (River's pgx driver)")
	}
	o.work.Mode = workload.Mode(mode)
	if err := o.work.Validate(); err != nil {
		return o, err
	}
	if o.work.Workers <= 0 {
		return o, fmt.Errorf("workers %d: must be positive", o.work.Workers)
	}
	return o, nil
}

func bench(ctx context.Context, o options, stdout, stderr io.Writer) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return fmt.Errorf("log level %q: %w", o.logLevel, err)
	}
	// River logs to stdout unless given a logger; stdout is the report.
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	pool, err := openSchema(ctx, o, logger)
	if err != nil {
		return err
	}
	defer pool.Close()
	sys, err := newSystem(pool, o, logger)
	if err != nil {
		return err
	}
	if o.progress {
		o.work.Progress = stderr
	}
	res, runErr := workload.Run(ctx, o.work, sys)
	if runErr != nil && res.Completed == 0 && !errors.Is(runErr, workload.ErrIncomplete) {
		return runErr
	}
	res.Extra = append(res.Extra, fmt.Sprintf("river_fetch_cooldown_ms=%g river_fetch_poll_interval_ms=%g",
		float64(o.fetchCooldown)/float64(time.Millisecond), float64(o.fetchPollInterval)/float64(time.Millisecond)))
	if err := res.Print(stdout); err != nil {
		return errors.Join(runErr, err)
	}
	return runErr
}
