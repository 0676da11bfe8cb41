package cli

import (
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/flowfabric-go/flowfabric/engine"
	"github.com/flowfabric-go/flowfabric/ffserver"
	"github.com/flowfabric-go/flowfabric/internal/bench"
	"github.com/flowfabric-go/flowfabric/internal/bench/workload"
)

// benchOptions are the flags of `flowfabric bench` that are not fields
// of bench.Config.
type benchOptions struct {
	databaseURL string
	cpuProfile  string
	progress    bool
	logLevel    string
}

// newBenchCmd is `flowfabric bench`: the throughput and latency
// benchmark. The work lives in internal/bench; this file only maps flags.
func newBenchCmd(env Env) *cobra.Command {
	var o benchOptions
	var c bench.Config
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Benchmark job throughput and latency on a dedicated database",
		Long: `Insert no-op jobs and work them off through the worker SDK in-process
over the backend, with the reconcilers running, then print the insert
rate, the work throughput, the p50/p95/p99 pickup and end-to-end
latencies and this process's CPU time per job. The last line is exactly
"throughput_jobs_per_s=<number>".

Modes: drain (insert every job, then work them off), steady (insert at
--rate jobs/s while the workers run), caps (drain with the jobs spread
over --cap-sets capability sets on one lane, one worker per set), crash
(a worker holding --workers jobs is killed; time from lease expiry to
reclaim), signal (each job suspends on a waitpoint, an outside caller
signals it, the resumed claim completes it; prints the resume latency,
signal accepted to handler re-entered, and ends with
"resume_latency_p50_ms=<number>" instead), chain (a plain drain of
--flows × --chain-length jobs, then as many member executions in --flows
chains of --chain-length; reports both throughputs and their ratio),
flow-cancel (--flows flows of --members members, each cancelled with
wait; cancel latency p50/p99), quota (every job under a rate
quota of --rate admissions per second and a --quota-concurrency cap for
--duration, default 30s: the achieved rate must be within 5% and the cap
never exceeded, measured), stream (one writer appends --jobs frames to one
attempt's output stream while --workers followers read it as Server-Sent
Events; append throughput and append-to-follower latency).
docs/benchmarks.md defines every figure.

Postgres runs in the dedicated schema --schema (dropped and re-created by
--schema-reset, the default); SQLite uses the given file, deleted and
re-created by --schema-reset only if it holds nothing but bench data.
--database-url must be given explicitly (FF_DATABASE_URL is not read).`,
		Example: `  flowfabric bench --database-url postgres://postgres@127.0.0.1:5432/test?sslmode=disable
  flowfabric bench --database-url ./bench.db --jobs 500
  flowfabric bench --database-url postgres://... --mode steady --rate 1000 --duration 30s
  flowfabric bench --database-url postgres://... --mode signal --jobs 2000 --workers 16
  flowfabric bench --database-url postgres://... --mode stream --jobs 10000 --workers 50`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.databaseURL == "" {
				return usagef("--database-url is required (postgres://... or a SQLite file path)")
			}
			db, err := ffserver.ParseDatabaseURL(o.databaseURL)
			if err != nil {
				return usageError{err}
			}
			if db.Kind == ffserver.KindPostgres {
				c.PostgresURL = db.URL
			} else {
				c.SQLitePath = db.Path
			}
			if err := c.Validate(); err != nil {
				return usageError{err}
			}
			log, err := newLogger(env.Stderr, o.logLevel, "text")
			if err != nil {
				return err
			}
			c.Logger = log
			if o.progress {
				c.Progress = env.Stderr
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			if o.cpuProfile != "" {
				f, err := os.Create(o.cpuProfile)
				if err != nil {
					return fmt.Errorf("cpu profile: %w", err)
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return fmt.Errorf("cpu profile: %w", err)
				}
				defer pprof.StopCPUProfile()
			}
			if err := bench.Run(ctx, c, env.Stdout); err != nil {
				return fmt.Errorf("bench: %w", err)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.databaseURL, "database-url", "", "postgres://... URL, sqlite://path or a SQLite file path (required)")
	f.StringVar(&o.cpuProfile, "cpuprofile", "", "write a Go CPU profile of the run to this file (go tool pprof)")
	f.StringVar(&c.Mode, "mode", bench.ModeDrain, "drain, steady, caps, crash, signal, chain, flow-cancel, quota or stream")
	f.IntVar(&c.Flows, "flows", bench.DefaultFlows, "chain and flow-cancel modes: number of flows")
	f.IntVar(&c.ChainLength, "chain-length", bench.DefaultChainLength, "chain mode: members per chain")
	f.IntVar(&c.Members, "members", bench.DefaultMembers, "flow-cancel mode: members per flow")
	f.IntVar(&c.QuotaConcurrency, "quota-concurrency", bench.DefaultQuotaConcurrency, "quota mode: the concurrency cap")
	f.IntVar(&c.Jobs, "jobs", workload.DefaultJobs, "jobs to insert (steady: at most; crash uses --workers jobs)")
	f.IntVar(&c.Workers, "workers", workload.DefaultWorkers, "worker concurrency (handlers running at once)")
	f.Float64Var(&c.Rate, "rate", workload.DefaultRate, "steady mode: jobs inserted per second")
	f.DurationVar(&c.Duration, "duration", 0, "steady mode: stop inserting after this long (0: when --jobs are inserted)")
	f.IntVar(&c.ClaimBatch, "batch", 0, "claim batch size (0: the worker SDK default, min(workers, 200))")
	f.IntVar(&c.Completers, "completers", 0, "completion reports in flight at once (0: the worker SDK default, 2)")
	f.IntVar(&c.InsertConcurrency, "insert-concurrency", workload.DefaultInsertConcurrency, "goroutines inserting, one job per insert call")
	f.Int32Var(&c.MaxConns, "max-conns", 0, "Postgres pool size (0: the backend default, max(4, CPUs))")
	f.StringVar(&c.Schema, "schema", bench.DefaultSchema, "Postgres schema the bench runs in")
	f.BoolVar(&c.SchemaReset, "schema-reset", true, "start from an empty schema or file (false: refuse one that holds executions)")
	f.BoolVar(&c.Reconcilers, "reconcilers", true, "run the reconcilers in-process, as the server does")
	f.DurationVar(&c.Engine.LeaseExpiryInterval, "lease-expiry-interval", engine.DefaultLeaseExpiryInterval, "lease expiry sweep interval")
	f.IntVar(&c.CapSets, "cap-sets", bench.DefaultCapSets, "caps mode: number of capability sets")
	f.BoolVar(&c.BestEffort, "best-effort", false, "stream mode: append best-effort frames (Postgres: synchronous_commit off)")
	f.DurationVar(&c.LeaseTTL, "lease-ttl", bench.DefaultLeaseTTL, "crash mode: lease TTL of the worker that is killed")
	f.DurationVar(&c.Timeout, "timeout", workload.DefaultTimeout, "give up when the run takes longer")
	f.BoolVar(&o.progress, "progress", true, "print a progress line to stderr every 2s")
	f.StringVar(&o.logLevel, "log-level", "warn", "debug, info, warn or error (logs go to stderr)")
	return cmd
}
