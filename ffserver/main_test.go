package ffserver_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a test leaves goroutines behind: a
// listener, a reconciler or a worker that Stop did not end.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
