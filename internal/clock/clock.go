// Package clock keeps the engine's former internal clock import path
// compiling: its types are aliases of the public package clock, which is
// the one to use (and the one public APIs mention). Start with
// github.com/flowfabric-go/flowfabric/clock.
package clock

import (
	"time"

	"github.com/flowfabric-go/flowfabric/clock"
)

// Clock is clock.Clock.
type Clock = clock.Clock

// Real is clock.Real.
type Real = clock.Real

// Fake is clock.Fake.
type Fake = clock.Fake

// NewFake returns clock.NewFake(start).
func NewFake(start time.Time) *Fake { return clock.NewFake(start) }
