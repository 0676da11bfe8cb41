package worker

import "sync"

// executorPool runs started attempts on long-lived goroutines, so a task
// costs no goroutine start or stack growth, and wakes as few of them as
// the work needs.
//
// Tasks wait in a FIFO queue. Submitting wakes a parked executor only when
// none is already on its way to the queue; an executor that takes a task
// and sees more waiting wakes one more before it runs its own. A batch of
// blocking handlers thus still starts all at once, one wake-up after
// another, while a batch of quick ones is worked off by the few executors
// that are awake instead of waking one goroutine per task.
//
// Invariants, under mu: an executor is parked exactly when it is in
// parked; waking counts executors woken but not yet at the queue; the
// queue is non-empty only while executors are busy or waking > 0.
type executorPool struct {
	run func(*Task)

	mu     sync.Mutex
	queue  []*Task
	head   int
	parked []chan struct{} // LIFO: the most recently parked is the warmest
	waking int
	closed bool
	wg     sync.WaitGroup
}

// newExecutorPool starts n executors that call run for every task.
func newExecutorPool(n int, run func(*Task)) *executorPool {
	p := &executorPool{run: run}
	for range n {
		wake := make(chan struct{}, 1)
		p.wg.Go(func() { p.loop(wake) })
	}
	return p
}

// submit queues t and makes sure an executor will pick it up.
func (p *executorPool) submit(t *Task) {
	p.mu.Lock()
	p.queue = append(p.queue, t)
	p.wakeOneLocked()
	p.mu.Unlock()
}

// wakeOneLocked wakes a parked executor unless one is already waking.
func (p *executorPool) wakeOneLocked() {
	if p.waking > 0 || len(p.parked) == 0 {
		return
	}
	last := len(p.parked) - 1
	wake := p.parked[last]
	p.parked = p.parked[:last]
	p.waking++
	wake <- struct{}{}
}

// close lets the executors finish the queued tasks and return, and waits
// for them.
func (p *executorPool) close() {
	p.mu.Lock()
	p.closed = true
	for _, wake := range p.parked {
		close(wake)
	}
	p.parked = nil
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *executorPool) loop(wake chan struct{}) {
	p.mu.Lock()
	for {
		if t := p.takeLocked(); t != nil {
			// Another task waits: hand it to another executor before
			// this one is tied up by its handler.
			if p.head < len(p.queue) {
				p.wakeOneLocked()
			}
			p.mu.Unlock()
			p.run(t)
			p.mu.Lock()
			continue
		}
		if p.closed {
			p.mu.Unlock()
			return
		}
		p.parked = append(p.parked, wake)
		p.mu.Unlock()
		_, ok := <-wake
		p.mu.Lock()
		if ok {
			p.waking--
		}
	}
}

// takeLocked pops the oldest queued task, or returns nil.
func (p *executorPool) takeLocked() *Task {
	if p.head == len(p.queue) {
		return nil
	}
	t := p.queue[p.head]
	p.queue[p.head] = nil
	p.head++
	if p.head == len(p.queue) {
		p.queue, p.head = p.queue[:0], 0
	}
	return t
}
