package server

import "context"

// hooks are seams for tests (set through export_test.go); every field may
// be nil.
type hooks struct {
	// onWaiting receives the number of waiting long-polls after each
	// change.
	onWaiting func(n int)
	// onClaimed runs after a claim took tasks and before the reply is
	// written.
	onClaimed func(ctx context.Context)
	// onDelivered receives the outcome of writing a claim's reply: nil
	// when delivered, else why not, after the leases were released.
	onDelivered func(err error)
}

func (h hooks) waiting(n int) {
	if h.onWaiting != nil {
		h.onWaiting(n)
	}
}

func (h hooks) claimed(ctx context.Context) {
	if h.onClaimed != nil {
		h.onClaimed(ctx)
	}
}

func (h hooks) delivered(err error) {
	if h.onDelivered != nil {
		h.onDelivered(err)
	}
}
