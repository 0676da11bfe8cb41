// Package worker is the FlowFabric worker SDK: it claims executions from
// lanes, runs the handler registered for each execution's kind, keeps the
// lease alive while the handler runs, and reports the outcome.
//
// A Worker runs over a [Transport]. In-process, that is the backend
// itself (any backend.Backend); remotely, it is the HTTP client of package
// client. The behaviour is the same.
//
//	b, err := sqlite.Open(ctx, sqlite.Options{Path: "flowfabric.db", AutoMigrate: true})
//	// or: t := client.New("http://127.0.0.1:8080")
//	w, err := worker.New(b, worker.Config{WorkerID: "greeter", Lanes: []string{"default"}})
//	if err != nil {
//		return err
//	}
//	type greet struct{ Name string `json:"name"` }
//	w.Register("greet", worker.Typed(func(ctx context.Context, t *worker.Task, in greet) (map[string]string, error) {
//		if in.Name == "" {
//			return nil, worker.Permanent(errors.New("name is required"))
//		}
//		return map[string]string{"greeting": "hello, " + in.Name}, nil
//	}))
//	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
//	defer cancel()
//	return w.Run(ctx) // returns after Ctrl-C, once running handlers have finished
//
// # Outcomes
//
// A [Handler] returns (result, error):
//
//   - nil error: the execution completes with result stored as JSON
//     ([]byte and json.RawMessage are stored as given);
//   - an error: the attempt fails as "transient" and the execution's retry
//     policy decides whether and when it is retried;
//   - [Permanent](err): the attempt fails as "permanent", which is not
//     retried unless the policy says retry_permanent;
//   - [Task.Delay](until) returned as the error: the lease is released and the
//     same attempt is resumed by a claim after until; nothing is completed
//     or failed;
//   - a panic: recovered, logged with its stack, and reported as a
//     transient failure "handler panicked: ...". Transient because a panic
//     is often a bug hit by one input on one path (a nil from a flaky
//     dependency); the retry policy bounds the repeats, and a handler that
//     knows better returns Permanent. The worker keeps running.
//
// An execution whose kind has no registered handler fails permanently
// ("no handler registered for kind ..."), so give each lane to workers that
// know all of its kinds.
//
// # Leases and cancellation
//
// Each claim takes a lease of Config.LeaseTTL, renewed every LeaseTTL/3
// while the handler runs (leases due together are renewed in one
// RenewMany). When a renewal (or Task.Progress) shows the attempt is no
// longer owned, the handler's context is cancelled: context.Cause is
// [ErrExecutionCancelled] when the execution was cancelled or otherwise
// ended elsewhere (an operator cancel, a timeout), and [ErrLeaseLost] when the
// lease expired, was revoked or was taken over. Whatever the handler then
// returns is not reported: the engine would reject it, and another attempt
// may already own the execution. Handlers should watch ctx and stop side
// effects when it ends.
//
// # Throughput
//
// Claims are batched: each claim asks for up to min(free slots,
// Config.ClaimBatch) tasks. While fewer than half a batch of slots is free
// and handlers are running, a claim waits up to a millisecond for them to
// give slots back, so a busy worker makes a few large claims rather than
// many small ones; an idle worker claims at once. Completions are batched too: results that
// finish together are sent with one CompleteMany, while a lone completion
// is sent at once (at most about a millisecond later). Failures are
// reported one by one. An idle worker waits for the transport's wake-up
// hint ([WorkSubscriber]) with a Config.PollInterval fallback, or polls
// with a backoff when the transport has none.
//
// # Stopping
//
// Run returns when its context ends or [Worker.Stop] is called: it stops
// claiming, lets running handlers finish and reports their outcomes. After
// Config.ShutdownGrace, handler contexts are cancelled with [ErrShutdown];
// a handler that then fails has its attempt released for another worker
// instead of spending a retry. [Worker.Kill] is a hard stop that behaves like
// a crash: nothing more is renewed or reported, so the leases expire and the
// executions are reclaimed by other workers (a new attempt of type
// "reclaim").
package worker
