// Package flowfabric holds the domain model of the FlowFabric durable
// execution engine: identifiers and partitions, the execution state vector
// and its derivation, lease fences and handles, retry and timeout policies,
// capability matching, typed errors, and the pure state transitions that
// every storage backend applies.
//
// Errors are *[Error] values with a class and a stable kind. The kind and
// class constants are the sentinels to branch on:
//
//	if errors.Is(err, flowfabric.ErrNotFound) { ... }
//	if errors.Is(err, flowfabric.ClassContention) { ... } // any retryable conflict
//
// [KindOf] and [ClassOf] give the strings for logs and metric labels.
//
// Nothing in this package performs I/O. Backends (package backend and its
// implementations) load an execution record, apply a transition from this
// package, and store the result atomically, so the state machine is written
// once and behaves identically on every store.
//
// What to read first depends on what you build: a worker, package worker;
// a program that submits work, package client (over HTTP) or
// backend.Backend (in-process); the engine inside your program, package
// ffserver; tests, package fftest. In this package, [Execution] and
// [State] are the model the others share.
package flowfabric
