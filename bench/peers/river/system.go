package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/flowfabric-go/flowfabric/internal/bench/workload"
)

// noopArgs are the job args: exactly the shared payload, {"t":..,"n":..}.
type noopArgs struct {
	workload.Payload
}

func (noopArgs) Kind() string { return "bench_noop" }

// noopWorker records the handler start and does nothing else.
type noopWorker struct {
	river.WorkerDefaults[noopArgs]
	sys *system
}

func (w *noopWorker) Work(_ context.Context, j *river.Job[noopArgs]) error {
	w.sys.probe.Started(j.Args.Payload)
	return nil
}

// system is River under test: one client, one queue with MaxWorkers =
// --workers. A job's completion is acknowledged when River's completer
// has persisted it and emits EventKindJobCompleted to subscribers.
type system struct {
	client *river.Client[pgx.Tx]
	log    *slog.Logger
	jobs   int

	probe  *workload.Probe // set by Start, before the client starts
	cancel func()
	wg     sync.WaitGroup
}

var _ workload.System = (*system)(nil)

func newSystem(pool *pgxpool.Pool, o options, logger *slog.Logger) (*system, error) {
	s := &system{log: logger, jobs: o.work.Jobs}
	workers := river.NewWorkers()
	river.AddWorker(workers, &noopWorker{sys: s})
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
		Schema:            o.schema,
		FetchCooldown:     o.fetchCooldown,
		FetchPollInterval: o.fetchPollInterval,
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: o.work.Workers}},
		Workers:           workers,
		Logger:            logger,
	})
	if err != nil {
		return nil, fmt.Errorf("river client: %w", err)
	}
	s.client = client
	return s, nil
}

func (s *system) Name() string { return "river/postgres" }

// Insert inserts one job with one Insert call.
func (s *system) Insert(ctx context.Context, p workload.Payload) error {
	_, err := s.client.Insert(ctx, noopArgs{Payload: p}, nil)
	return err
}

// Start subscribes to job outcomes, then starts the client.
func (s *system) Start(ctx context.Context, probe *workload.Probe) error {
	s.probe = probe
	// The buffer holds every event of the run: River drops events that
	// overflow a subscription, and a dropped completion would stall the run.
	events, cancel := s.client.SubscribeConfig(&river.SubscribeConfig{
		ChanSize: s.jobs + 1000,
		Kinds:    []river.EventKind{river.EventKindJobCompleted, river.EventKindJobFailed, river.EventKindJobCancelled},
	})
	s.cancel = cancel
	s.wg.Go(func() {
		for ev := range events {
			if ev.Kind != river.EventKindJobCompleted {
				s.log.Error("job did not complete", "kind", ev.Kind, "job_id", ev.Job.ID, "errors", ev.Job.Errors)
				continue
			}
			var a noopArgs
			if err := json.Unmarshal(ev.Job.EncodedArgs, &a); err != nil {
				s.log.Error("decode completed job args", "job_id", ev.Job.ID, "error", err)
				continue
			}
			probe.Completed(a.Payload)
		}
	})
	if err := s.client.Start(ctx); err != nil {
		cancel()
		s.wg.Wait()
		return fmt.Errorf("start river client: %w", err)
	}
	return nil
}

// Stop stops the client (running jobs finish, completions are flushed)
// and ends the subscription.
func (s *system) Stop(ctx context.Context) error {
	err := s.client.Stop(ctx)
	if s.cancel != nil {
		s.cancel()
	}
	s.wg.Wait()
	return err
}
