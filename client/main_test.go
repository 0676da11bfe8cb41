package client_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a test leaves goroutines behind (a
// long-poll that never returned, a subscription never cancelled).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
