// Package engine runs the background reconcilers that make due-time work
// happen: lease expiry, attempt timeouts, execution deadlines and the
// delayed promoter. A Supervisor runs them only while it holds the
// backend's leader lease, so at most one process sweeps at a time.
//
// Each reconciler is one file with a runOnce(ctx) (int, error) that does a
// single batched sweep through backend.Maintenance; the backend re-checks
// every precondition under lock, so a sweep is always safe to repeat.
// Intervals are real time; whether work is due is decided by the
// backend's clock.
//
// Start with [New] and [Supervisor]; package ffserver runs it for you.
package engine
