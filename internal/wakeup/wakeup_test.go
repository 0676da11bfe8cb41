package wakeup

import "testing"

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
	a, cancelA := h.Subscribe([]string{"a"})
	ab, cancelAB := h.Subscribe([]string{"a", "b"})
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
	if pending(a) {
		t.Fatal("woke after unsubscribing")
	}
	if !h.HasSubscribers("a") {
		t.Fatal("lane a still has the a,b subscriber")
	}
	cancelAB()
	if h.HasSubscribers("a") || h.HasSubscribers("b") {
		t.Fatal("subscribers left after every cancel")
	}
}
