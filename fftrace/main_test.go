package fftrace_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a test leaves a server, worker or
// exporter goroutine behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
