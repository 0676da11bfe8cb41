package worker

import "sync"

// slots is the concurrency semaphore. Only the claim loop takes slots
// (several at a time, before a batch claim); handlers give them back one
// by one. Invariant: 0 <= free <= size.
type slots struct {
	mu    sync.Mutex
	free  int
	freed chan struct{} // one-slot buffer: "a slot was given back"
}

func newSlots(n int) *slots {
	return &slots{free: n, freed: make(chan struct{}, 1)}
}

// take reserves up to max free slots and returns how many it got.
func (s *slots) take(max int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := min(max, s.free)
	s.free -= n
	return n
}

// available is how many slots are free now.
func (s *slots) available() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.free
}

// put gives n slots back.
func (s *slots) put(n int) {
	if n <= 0 {
		return
	}
	s.mu.Lock()
	s.free += n
	s.mu.Unlock()
	select {
	case s.freed <- struct{}{}:
	default:
	}
}
