package worker

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func newGatherWorker(batch, free, running int) *Worker {
	w := &Worker{cfg: Config{ClaimBatch: batch}, slots: newSlots(batch)}
	w.slots.take(batch - free)
	w.running.Store(int64(running))
	return w
}

func stoppedTimer() *time.Timer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}

func TestGatherSlotsClaimsAtOnceWhenIdleOrHalfFree(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name                 string
		batch, free, running int
	}{
		{"half a batch free", 10, 5, 5},
		{"no handler running", 10, 1, 0},
		{"batch of one", 1, 1, 3},
	} {
		w := newGatherWorker(c.batch, c.free, c.running)
		// The freed channel stays empty, so a gather that waited would
		// only return through its linger; the slot count proves it did not
		// take slots either.
		w.gatherSlots(context.Background(), stoppedTimer(), time.Hour)
		require.Equal(t, c.free, w.slots.available(), c.name)
	}
}

func TestGatherSlotsWaitsForRunningHandlers(t *testing.T) {
	t.Parallel()
	w := newGatherWorker(10, 1, 9)
	awaits := make(chan bool, 16)
	w.slots.awaited = func(ok bool) { awaits <- ok }
	done := make(chan struct{})
	go func() {
		w.gatherSlots(context.Background(), stoppedTimer(), time.Hour)
		close(done)
	}()
	select {
	case ok := <-awaits:
		require.False(t, ok, "1 of 10 free: gather waits")
	case <-time.After(10 * time.Second):
		t.Fatal("gatherSlots never awaited the slots")
	}
	// Handlers finishing one by one: gather returns once half a batch
	// (5) is free, not before. Up to 4 free nothing wakes it (the linger
	// is an hour), so its next await is the one after the fifth slot.
	for range 3 {
		w.running.Add(-1)
		w.slots.put(1)
	}
	select {
	case <-done:
		t.Fatal("gatherSlots returned with 4 of 10 slots free and handlers running")
	default:
	}
	w.running.Add(-1)
	w.slots.put(1)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("gatherSlots did not return after half a batch was freed")
	}
	close(awaits)
	var rest []bool
	for ok := range awaits {
		rest = append(rest, ok)
	}
	require.Equal(t, []bool{true}, rest, "woken once, when half a batch was free")
	require.Equal(t, 5, w.slots.available(), "gathering reserves nothing")
}

func TestGatherSlotsLingerIsBounded(t *testing.T) {
	t.Parallel()
	w := newGatherWorker(10, 1, 9) // handlers that never finish
	done := make(chan struct{})
	go func() {
		w.gatherSlots(context.Background(), stoppedTimer(), claimLinger)
		close(done)
	}()
	// Liveness only: the linger ends the wait by itself.
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("gatherSlots waited without bound")
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	w.gatherSlots(ctx, stoppedTimer(), time.Hour) // a cancelled ctx ends the wait too
}

func TestSlotsSignalOnlyWhenTheWaitedCountIsFree(t *testing.T) {
	t.Parallel()
	s := newSlots(4)
	require.Equal(t, 4, s.take(10))
	require.False(t, s.await(3))
	signalled := func() bool {
		select {
		case <-s.freed:
			return true
		default:
			return false
		}
	}
	s.put(1)
	s.put(1)
	require.False(t, signalled(), "2 of the 3 awaited slots free")
	s.put(1)
	require.True(t, signalled(), "3 free")
	s.put(1)
	require.False(t, signalled(), "nobody waits any more")
	require.True(t, s.await(4))
}
