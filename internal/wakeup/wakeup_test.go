package wakeup

import (
	"context"
	"testing"
)

func pending(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestNotifyWakesOnlyThatLaneAndCoalesces(t *testing.T) {
	h := New()
	a, cancelA := h.Subscribe(context.Background(), []string{"a"})
	ab, cancelAB := h.Subscribe(context.Background(), []string{"a", "b"})
	defer cancelAB()

	h.Notify("b")
	if pending(a) {
		t.Fatal("a subscriber of lane a woke for lane b")
	}
	if !pending(ab) {
		t.Fatal("a subscriber of lanes a,b did not wake for lane b")
	}

	h.Notify("a")
	h.Notify("a")
	h.Notify("a")
	if !pending(a) || pending(a) {
		t.Fatal("three notifications must leave exactly one pending wake-up")
	}

	cancelA()
	cancelA() // idempotent
	h.Notify("a")
	if _, open := <-a; open {
		t.Fatal("woke after unsubscribing, or the channel was not closed")
	}
	if !h.HasSubscribers("a") {
		t.Fatal("lane a still has the a,b subscriber")
	}
	cancelAB()
	if h.HasSubscribers("a") || h.HasSubscribers("b") {
		t.Fatal("subscribers left after every cancel")
	}
}

// A subscription ends with its context: the subscriber is removed and
// its channel closed.
func TestSubscriptionEndsWithContext(t *testing.T) {
	h := New()
	ctx, cancel := context.WithCancel(context.Background())
	ch, unsubscribe := h.Subscribe(ctx, []string{"a"})
	defer unsubscribe()
	cancel()
	if _, open := <-ch; open {
		t.Fatal("the channel stays open after its context ended")
	}
	if h.HasSubscribers("a") {
		t.Fatal("the subscriber stays after its context ended")
	}
	h.Notify("a") // must not send on the closed channel
	unsubscribe() // after the context ended, still safe
}
