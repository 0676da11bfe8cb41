// Package bench is the engine side of `flowfabric bench`: it prepares a
// dedicated database (a fresh Postgres schema or a fresh SQLite file),
// runs the reconcilers as production does, and drives the worker SDK
// in-process over the backend with no-op handlers through the shared
// workload of package workload, which the River peer harness uses too.
//
// Scenarios (Config.Mode):
//
//   - drain: insert every job, then start the workers and work them off;
//   - steady: start the workers, insert at Config.Rate jobs/s;
//   - caps: drain, with the jobs spread over Config.CapSets capability
//     sets on one shared lane and the worker concurrency split across as
//     many workers, each offering one set (routing by capability);
//   - crash: a worker claims Config.Workers jobs and is killed (no more
//     renewals, nothing reported); a second worker reclaims them after
//     the leases expire. Reported: lease expiry to reclaim latency.
//
// docs/benchmarks.md defines every reported figure.
package bench
