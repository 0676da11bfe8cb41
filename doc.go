// Package flowfabric holds the domain model of the FlowFabric durable
// execution engine: identifiers and partitions, the execution state vector
// and its derivation, lease fences and handles, retry and timeout policies,
// capability matching, typed errors, and the pure state transitions that
// every storage backend applies.
//
// Nothing in this package performs I/O. Backends (package backend and its
// implementations) load an execution record, apply a transition from this
// package, and store the result atomically, so the state machine is written
// once and behaves identically on every store.
package flowfabric
