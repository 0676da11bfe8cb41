package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/flowfabric-go/flowfabric/engine"
	"github.com/flowfabric-go/flowfabric/internal/bench/workload"
)

// stopTimeout bounds stopping the reconcilers and closing the backend.
const stopTimeout = 10 * time.Second

// Run prepares the database, runs the scenario c.Mode and prints the
// report to out; its last line is "throughput_jobs_per_s=<number>", or
// in signal mode "resume_latency_p50_ms=<number>". The
// report is printed even when the run fails after measuring (for example
// when not every job completed), and the error is returned.
func Run(ctx context.Context, c Config, out io.Writer) (err error) {
	if err := c.Validate(); err != nil {
		return err
	}
	b, name, err := openStore(ctx, &c)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := b.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close backend: %w", cerr)
		}
	}()
	if c.Reconcilers {
		ec := c.Engine
		ec.Logger = c.Logger
		if c.Mode == ModeQuota {
			ec.Budgets = b
		}
		sup, err := engine.New(b, ec)
		if err != nil {
			return fmt.Errorf("reconcilers: %w", err)
		}
		if err := sup.Start(ctx); err != nil {
			return fmt.Errorf("reconcilers: %w", err)
		}
		defer func() {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopTimeout)
			defer cancel()
			_ = sup.Stop(sctx)
		}()
	}

	var res workload.Result
	var runErr error
	var resumeP50 time.Duration
	switch c.Mode {
	case ModeSignal:
		res, resumeP50, runErr = runSignal(ctx, &c, b, name)
	case ModeCrash:
		res, runErr = runCrash(ctx, &c, b, name)
	case ModeChain:
		res, runErr = runChain(ctx, &c, b, name)
	case ModeFlowCancel:
		res, runErr = runFlowCancel(ctx, &c, b, name)
	case ModeQuota:
		res, runErr = runQuota(ctx, &c, b, name)
	case ModeCaps:
		sys := withCapSets(newSystem(b, name, &c), c.CapSets)
		res, runErr = workload.Run(ctx, c.workloadOptions(), sys)
		res.Mode = ModeCaps
		res.Extra = append(res.Extra, fmt.Sprintf("cap_sets=%d lane=%s", c.CapSets, Lane))
	default:
		res, runErr = workload.Run(ctx, c.workloadOptions(), newSystem(b, name, &c))
	}
	if runErr != nil && res.Completed == 0 && !errors.Is(runErr, workload.ErrIncomplete) {
		return runErr
	}
	if perr := res.Print(out); perr != nil {
		return errors.Join(runErr, fmt.Errorf("print report: %w", perr))
	}
	if c.Mode == ModeSignal {
		if _, perr := fmt.Fprintf(out, "%s=%.3f\n", ResumeLatencyKey, float64(resumeP50)/float64(time.Millisecond)); perr != nil {
			return errors.Join(runErr, fmt.Errorf("print report: %w", perr))
		}
	}
	return runErr
}
