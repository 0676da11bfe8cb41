package fftest

import "sync"

// signal is a broadcast: notify wakes every waiter of the current
// generation (a closed channel), and a new generation starts.
type signal struct {
	mu sync.Mutex
	ch chan struct{}
}

// wait returns the channel the next notify closes. Take it before
// checking the condition it guards, so no change is missed.
func (s *signal) wait() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch == nil {
		s.ch = make(chan struct{})
	}
	return s.ch
}

func (s *signal) notify() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch != nil {
		close(s.ch)
		s.ch = nil
	}
}

// close wakes the last waiters for good.
func (s *signal) close() { s.notify() }
