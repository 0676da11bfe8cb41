// Package clock is the time source FlowFabric runs on: [Real] in
// production, [Fake] in tests, where time moves only when the test says
// so.
//
// Stores read "now" from a [Clock] for every transition (lease expiry,
// delays, deadlines, attempt timeouts), so a test that advances a Fake by
// a lease TTL sees the lease expire without waiting for it. The engine's
// reconciler intervals stay in real time: they decide how often a sweep
// runs, not what it finds due.
//
// Start with [Clock]; pass a [Fake] as the Clock of postgres.Options,
// sqlite.Options or backendtest.Harness. See ExampleFake.
//
// The package imports only the standard library, so every layer (and a
// store written outside this module) can use it.
package clock
