// Package backend defines the engine's storage seam: the Backend interface
// every store implements, its parameter and result types, and the
// capability snapshot. The engine, server and worker depend on this package
// only, never on an implementation.
//
// Methods take (ctx, params) and return domain types or typed
// *flowfabric.Error values. An operation a backend does not implement
// returns flowfabric.Unavailable and is reported false in Capabilities.
//
// Start with [Backend] and [Lifecycle]; the stores are packages postgres
// and sqlite, and backendtest is the suite a new store must pass.
package backend

// Backend is the whole storage surface, grouped as the spec groups it.
type Backend interface {
	Lifecycle
	Reads
	Operator
	Flows
	Waitpoints
	Budgets
	Streams
	Events
	Schedules
	Maintenance
	Admin
}
