// Package worker is the FlowFabric worker SDK: it claims executions from
// lanes, runs the handler registered for each execution's kind, keeps the
// lease alive while the handler runs, and reports the outcome.
//
// A Worker runs over a [Transport]. In-process, that is the backend
// itself (any backend.Backend); remotely, it is the HTTP client of package
// client. The behaviour is the same.
//
// Start with [New], [Worker.Register] (usually with [Typed]) and
// [Worker.Run]; see Example. Test handlers with package fftest.
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
//   - [Task.WaitChildren]'s [ErrWaitingChildren] returned as the error: the
//     attempt is parked until the children it spawned ([Task.SpawnChildren])
//     end; nothing is reported, and the claim after they end runs the
//     handler again on the same attempt (AttemptType resume);
//   - [Task.Suspend](...) returned as the error: the attempt suspends until
//     its condition is satisfied (see Suspension and signals below);
//     nothing is completed or failed;
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
// # Flows
//
// A flow member's handler reads its upstreams' results with
// [Task.UpstreamResults] (a DAG member: its depends_on; a parent: its
// spawned children). A handler fans out and joins with
// [Task.SpawnChildren] then [Task.WaitChildren]:
//
//	if t.AttemptType != ff.AttemptResume {
//		if _, err := t.SpawnChildren(ctx, backend.CreateExecutionParams{Kind: "part", Input: in}); err != nil {
//			return nil, err
//		}
//		if err := t.WaitChildren(ctx); err != nil {
//			return nil, err // ErrWaitingChildren: parked
//		}
//	}
//	ups, err := t.UpstreamResults(ctx) // every child ended
//
// A member cancelled with its flow (or as a losing sibling of an any_of
// join with cancel_remaining) has its lease revoked: its handler's
// context is cancelled with [ErrExecutionCancelled], as for an operator
// cancel.
//
// # Leases and cancellation
//
// Each claim takes a lease of Config.LeaseTTL, renewed every LeaseTTL/3
// while the handler runs (leases due together are renewed in one
// RenewMany). When a renewal (or Task.Progress) shows the attempt is no
// longer owned, or is refused outright, the handler's context is
// cancelled: context.Cause is
// [ErrExecutionCancelled] when the execution was cancelled or otherwise
// ended elsewhere (an operator cancel, which revokes the lease: the engine
// answers lease_revoked and the worker reads the execution's state; a
// timeout), and [ErrLeaseLost] when the lease expired, was revoked
// without a cancel or was taken over. Whatever the handler then
// returns is not reported: the engine would reject it, and another attempt
// may already own the execution. Handlers should watch ctx and stop side
// effects when it ends.
//
// # Riding out an outage
//
// Every report of an outcome (complete, fail, delay) and every renewal is
// fenced by the lease and safe to repeat, so the worker keeps trying it
// while the engine is unreachable — a server restart, a Postgres failover,
// a network blip — for as long as the lease may still be valid: until the
// lease's expiry as the worker knows it, measured from before the claim or
// the last successful renewal (so never later than the engine's). With
// the default LeaseTTL of 30s that is 20 to 30 seconds after a handler
// returns, since renewals stop then. The waits between tries are jittered
// and capped: the n-th is drawn from [b/2, b] with b = 50ms·2^(n-1), at
// most 2s, and never past the expiry, so the last try falls while the
// lease may still hold. Each try is bounded by the expiry too, so a hung
// engine cannot hold it past that point. Completions that fail are
// retried together, with any that finish meanwhile.
//
// Only errors that may go away are retried: transport failures (a refused
// connection, a 5xx without a verdict, a 503), timeouts, contention and
// resource exhaustion. A definitive answer ends the report at once:
// stale_lease, lease_expired, lease_revoked, execution_not_active or
// not_found mean the attempt is no longer owned (logged at debug; the
// engine has moved on), and a validation error or a server bug is logged
// at error.
//
// When the lease runs out first, the worker gives up and says so: a warn
// record "worker: gave up reporting the attempt's outcome ..." (or "gave
// up renewing the lease ..." for a renewal) with execution_id,
// attempt_index, op, tries, error_kind (the last error's kind) and error,
// counted in [Worker.Stats] as ReportsAbandoned (RenewalsAbandoned). The
// execution is then reclaimed by a new attempt once the engine sees the
// lease expired, and its handler runs again; a renewal given up cancels
// the handler's context with [ErrLeaseLost]. Handlers must therefore be
// idempotent across attempts, as with any crash, but an outage shorter
// than the lease no longer makes them run twice.
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
// claiming, lets running handlers finish and reports their outcomes
// (retrying them as above, so during an outage Run may wait up to the
// leases' expiry). After Config.ShutdownGrace, handler contexts are
// cancelled with [ErrShutdown]; a handler that then fails has its attempt
// released for another worker instead of spending a retry. [Worker.Kill]
// is a hard stop that behaves like a crash: nothing more is renewed or
// reported, so the leases of running handlers expire and their executions
// are reclaimed by other workers (a new attempt of type "reclaim").
//
// Either way, tasks the worker claimed but never started — a claim whose
// answer arrived as the worker began to stop, a task not yet picked up by
// an executor — are given back with one ReleaseClaims call (one try,
// bounded by 2s): their executions are claimable again at once and the
// next claim resumes the same attempt, with no reclaim counted, instead of
// waiting for the lease to expire. Stats.ClaimsReleased counts them; when
// the call fails, the leases simply expire.
//
// # Suspension and signals
//
// A handler waits for a person or another system by suspending: it
// returns [Task.Suspend] as its error, and the lease is released (the
// worker's slot is free again; a suspended execution holds nothing).
//
//	w.Register("refund", func(ctx context.Context, t *worker.Task) (any, error) {
//		if sig, ok := t.ResumedSignal("approve"); ok {
//			return issueRefund(ctx, t, sig.Payload) // second run: approved
//		}
//		if len(t.ResumedSignals()) > 0 {
//			return nil, worker.Permanent(errors.New("refund rejected"))
//		}
//		wp, err := t.CreateWaitpoint(ctx, "review", 0)
//		if err != nil {
//			return nil, err
//		}
//		notifyReviewer(wp.ExecutionID, wp.ID, wp.Token) // hand the token out
//		return nil, t.Suspend(worker.OnWaitpoints("review"), worker.ForSignal("approve"),
//			worker.Timeout(24*time.Hour), worker.Reason("waiting_for_approval"))
//	})
//
// Whoever holds the token resumes it: client.Signal(ctx, execID,
// waitpointID, token, "approve", payload), `flowfabric signal`, or a plain
// POST /v1/executions/{id}/signal with the token in the body (no API token
// needed: the waitpoint token is that route's credential). When the
// condition is satisfied the execution is claimable at once, and the next
// claim runs the handler again on the same attempt ([Task.AttemptType] is
// resume) with [Task.ResumedSignals] holding the signals that satisfied it,
// payloads included. Nothing of the first run survives but what the
// execution stores, so a handler re-derives where it stands from its input
// and the resumed signals.
//
// Conditions: [ForSignal](name) (the default is [ForAnySignal]),
// [ForCount](n, distinct) over several waitpoints ([OnWaitpoints]),
// [ForOperator] (only `flowfabric exec resume` or POST
// /v1/executions/{id}/resume resumes it) and [ForCondition] for any
// condition of the API, all_of composites included. [Timeout] bounds the
// wait; [OnTimeout] says what then happens: fail (default), cancel,
// expire, or auto_resume (the handler runs again with one signal named
// "timeout"). [Task.CreateWaitpoint] makes a pending waitpoint before the
// suspend, to hand its token out first; signals that reach it in between
// are buffered, and if they already satisfy the condition the suspend
// keeps the lease and the worker runs the handler again at once. A
// suspension the engine refuses (a condition naming a waitpoint that is
// not there, a timeout in the past) fails the attempt permanently.
// Suspend and CreateWaitpoint need a transport implementing
// [WaitpointTransport]: a backend.Backend or the HTTP client.
//
// # Schedule ticks
//
// An execution created by a periodic schedule carries the schedule's id
// and its tick's time in its tags; [Task.ScheduleTick] reads them, so a
// handler can work on the period that ended at the tick (a nightly report
// for the day before tick, whenever the execution actually runs).
//
// # Budgets and usage
//
// An execution whose policy lists budget_ids (and quota_ids) is admitted
// by the claim only while none of its budgets is at a hard limit and its
// quotas have room; otherwise it waits rate_limited and comes back by
// itself when the budget resets or is raised, or the quota frees. A
// handler reports what it spent with [Task.ReportUsage] (or
// [Task.ReportUsageOnce] with a dedup key, counted once however often it
// is retried), against every budget of the policy, under the lease:
//
//	res, err := t.ReportUsage(ctx, map[string]int64{"tokens": used})
//	if errors.Is(err, worker.ErrBudgetExceeded) {
//		return nil, err // nothing was applied to the budget that refused
//	}
//
// A hard breach applies nothing to the budget that refused it and comes
// back as a [*BudgetExceededError] with the outcomes; returning it fails
// the attempt like any error, and a retry waits until the budget has room.
// The transport must implement [UsageReporter] (backend.Backend and the
// HTTP client do).
//
// # Tracing
//
// With Config.TracerProvider set, each handler run is a span
// "ff.handler <kind>", a child of the trace the execution carries (its
// fftrace.Tag, set by a traced engine at create and claim), else the root
// of a new trace; the handler's context carries it, so spans the handler
// starts, and requests it makes with package client, join that trace.
// Reporting the outcome is a child span ("ff.complete", "ff.fail",
// "ff.delay"), sent as the report request's traceparent. Nil (the
// default) starts no span. See package fftrace.
package worker
