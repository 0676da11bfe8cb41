// Package fftest runs a FlowFabric engine inside a Go test: a temporary
// SQLite file (or a fresh schema on a Postgres server you name), a fake
// clock that moves only when the test says, reconcilers run
// synchronously, workers run until a condition holds, and assertions on
// the outcome. It builds on ffserver, so a test exercises the same
// assembly as production. Nothing in it sleeps: waits are woken by the
// workers' reports and the sweeps.
//
// Start with [New] and [Engine.RunUntil]; see Example.
//
//	func TestGreet(t *testing.T) {
//		e := fftest.New(t)
//		w := e.NewWorker(worker.Config{})
//		w.Register("greet", worker.Typed(greet))
//		id := e.Create(backend.CreateExecutionParams{Kind: "greet", Input: []byte(`{"name":"ada"}`)})
//		e.RunUntil(w, fftest.Completed(id))
//		fftest.RequireCompleted(t, e, id, `{"greeting":"hello, ada"}`)
//	}
//
// # Time
//
// The store reads now from a fake clock starting at [Epoch]. The
// reconcilers (lease expiry, delayed promotion, timeouts, deadlines,
// schedules) do not run in the background: [Engine.Advance] moves the
// clock and sweeps, stopping at every schedule tick on the way, so an
// Advance of three hours fires an hourly schedule three times.
// [WithRealClock] runs them in the background on real time instead.
//
// # Assertions
//
// Each Require function takes the narrowest reader it needs
// ([Reader] for executions): a backend.Backend, a *client.Client and an
// *Engine all satisfy them, and a failure prints the execution's state,
// attempts and failure. Beside the execution outcomes there are
// [RequireSuspended] (suspended on an active waitpoint), [RequireFlowState]
// and [RequireTicksFired]. Areas add their own conditions and assertions
// in files of their own, built on [Cond].
package fftest
