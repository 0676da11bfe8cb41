// Package backendtest is the conformance suite every backend must pass.
// It is written once against backend.Backend and run by each
// implementation's tests:
//
//	func TestConformance(t *testing.T) {
//		backendtest.Run(t, func(t *testing.T) backendtest.Harness { ... })
//	}
//
// Each test asks the factory for a fresh, isolated backend (its own schema
// or file) driven by a fake clock, and runs in parallel.
//
// A store written outside this module runs the suite the same way: the
// harness mentions only public types (package clock for the clock), and
// testdata/externalstore is such a store, built by TestExternalStore as a
// module of its own. Start with [Run] and [Harness].
package backendtest

import (
	"testing"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/clock"
)

// Harness is one isolated backend under test.
type Harness struct {
	Backend backend.Backend
	// Clock drives the backend's notion of now; tests advance it instead
	// of sleeping. Create it with clock.NewFake(Epoch) and make the store
	// read every "now" from it.
	Clock *clock.Fake
	// Reopen, when set, closes the backend and opens the same store again
	// (used for durability checks).
	Reopen func(t *testing.T) backend.Backend
	// OpenAnother, when set, opens a second backend on the same store,
	// as a second server process would, driven by the same Clock; the
	// test closes it. Tests of cross-process behaviour (each schedule
	// tick fires once) use it; nil skips them.
	OpenAnother func(t *testing.T) backend.Backend

	// The probes below reach into the store, beside the Backend
	// interface; a store that cannot offer one leaves it nil and the
	// tests that need it are skipped. This module's stores offer all.

	// SetHooks stores h as the hooks of execution id, directly in the
	// store, as the transition of a feature would; Hooks reads them back
	// (the waitpoint tests check HookWaitpoints with it).
	SetHooks func(t *testing.T, id ff.ExecutionID, h ff.Hooks)
	Hooks    func(t *testing.T, id ff.ExecutionID) ff.Hooks
	// Events reads every outbox row in cursor order, as ff.Event with
	// Data decoded as a JSON object (map[string]any, nil for none) and
	// Lease rebuilt from the lease columns (EventRow does both). It is a
	// test-only reader (the events reader belongs to the events area).
	Events func(t *testing.T) []ff.Event
}

// Factory builds a fresh harness; it registers its own cleanup.
type Factory func(t *testing.T) Harness
