// Package workload is the benchmark workload shared by `flowfabric bench`
// and the River peer harness in bench/peers/river, so that both systems
// are driven, timed and reported by the same code:
//
//   - the job payload {"t": <unix nanos>, "n": <index>}, where t is read
//     from the client's clock immediately before the insert call;
//   - the insert driver: drain (insert every job, then start the
//     workers) or steady (start the workers, then insert at a fixed rate);
//   - the probes a system calls at handler start ([Probe.Started]) and
//     when a completion is acknowledged ([Probe.Completed]);
//   - the percentile math ([Summarize], nearest rank) and the printed
//     report, whose last line is exactly "throughput_jobs_per_s=<number>".
//
// It imports only the standard library: the peer module depends on it
// without building FlowFabric's engine.
//
// Definitions (docs/benchmarks.md repeats them):
//
//   - pickup latency of a job: handler start minus t. A job inserted
//     ready is ready at its creation, so this is ready-to-start latency.
//   - end-to-end latency: the moment the system acknowledged the job's
//     completion to the worker process minus t.
//   - insert rate: jobs inserted divided by the time from the first
//     insert call to the return of the last one.
//   - work window: from the first handler start to the last completion
//     acknowledgement; throughput is completed jobs divided by it.
package workload
