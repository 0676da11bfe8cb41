// Package fftrace adds OpenTelemetry traces to FlowFabric: a span per HTTP
// request (package server), per backend operation (Backend, a decorator
// like instrument.Wrap) and per handler run (package worker), tied into
// one trace per execution by the W3C traceparent stored with it.
//
// Read first: Config and Start (how tracing is switched on, following the
// OTEL_* environment conventions), then Backend. Tracing is off unless
// configured: with a nil or no-op tracer provider, Backend returns the
// backend unwrapped and the server and worker skip every span, so the
// disabled path costs nothing and stores nothing.
//
// How one trace spans processes. The client sends the caller's span as a
// traceparent header; the server continues it in its request span. The
// traced CreateExecution adds the tag Tag ("ff.traceparent") naming its
// own span to the new execution (only when tracing is on; the tags
// column is written anyway, so no statement or column is added). A traced
// Claim records, per claimed task that carries the tag, a span "ff.claim"
// in the execution's trace and hands the worker that span's traceparent
// in the task's tags. The worker starts its handler span as a child of it,
// and reports the outcome under a child of the handler span, whose
// context the client sends on the complete (or fail, or delay) request:
//
//	client span → POST /v1/executions → ff.backend.create_execution
//	  → ff.claim → ff.handler <kind> → ff.complete → POST /v1/tasks/complete
//	  → ff.backend.complete
//
// Executions created without the traced CreateExecution (flow members,
// schedule ticks, or a transactional enqueue that did not call WithTag)
// carry no tag; their handler spans start new traces.
package fftrace
