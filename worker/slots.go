package worker

import "sync"

// slots is the concurrency semaphore. Only the claim loop takes slots
// (several at a time, before a batch claim); handlers give them back one
// by one. Invariant: 0 <= free <= size.
type slots struct {
	mu   sync.Mutex
	free int
	// want is the free count a waiting claim loop needs (0: none waits).
	// put signals freed only when free reaches it, so handlers finishing
	// one by one do not wake the claim loop once each.
	want  int
	freed chan struct{} // one-slot buffer: "free reached want"
	// awaited, when set (tests only), is told every await's answer.
	awaited func(ok bool)
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

// await reports whether at least n slots are free; if not, freed is
// signalled once they are (a signal may also be left over from an
// earlier await, so the waiter checks again).
func (s *slots) await(n int) bool {
	s.mu.Lock()
	ok := s.free >= n
	if ok {
		s.want = 0
	} else {
		s.want = n
	}
	hook := s.awaited
	s.mu.Unlock()
	if hook != nil {
		hook(ok)
	}
	return ok
}

// put gives n slots back.
func (s *slots) put(n int) {
	if n <= 0 {
		return
	}
	s.mu.Lock()
	s.free += n
	signal := s.want > 0 && s.free >= s.want
	if signal {
		s.want = 0
	}
	s.mu.Unlock()
	if signal {
		select {
		case s.freed <- struct{}{}:
		default:
		}
	}
}
