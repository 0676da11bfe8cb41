package engine

import "time"

// Observer receives the outcome of every reconciler sweep: the
// reconciler's name, how many items it changed, the error (nil on
// success) and how long it took. It is called from the reconciler's
// goroutine and must not block.
type Observer interface {
	Observe(name string, n int, err error, d time.Duration)
}

// LeaderObserver is optionally implemented by an Observer that also wants
// to know when this process gains or loses reconciler leadership.
type LeaderObserver interface {
	ObserveLeader(held bool)
}
