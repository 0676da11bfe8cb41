package worker

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Blocking handlers: every submitted task must be running at once, even
// though a submit wakes at most one executor.
func TestExecutorPoolStartsABatchOfBlockingTasksTogether(t *testing.T) {
	t.Parallel()
	const n = 50
	var started sync.WaitGroup
	started.Add(n)
	release := make(chan struct{})
	var ran atomic.Int64
	p := newExecutorPool(n, func(*Task) {
		started.Done()
		<-release
		ran.Add(1)
	})
	for range n {
		p.submit(&Task{})
	}
	allStarted := make(chan struct{})
	go func() { started.Wait(); close(allStarted) }()
	select {
	case <-allStarted:
	case <-time.After(10 * time.Second):
		t.Fatal("not every blocking task started: an executor was left parked")
	}
	close(release)
	p.close()
	require.Equal(t, int64(n), ran.Load())
}

// Quick handlers from racing submitters: each task runs exactly once and
// close waits for all of them.
func TestExecutorPoolRunsEveryTaskOnce(t *testing.T) {
	t.Parallel()
	const submitters, each = 8, 500
	seen := make([]atomic.Int32, submitters*each)
	p := newExecutorPool(16, func(task *Task) { seen[task.AttemptIndex].Add(1) })
	var wg sync.WaitGroup
	for s := range submitters {
		wg.Go(func() {
			for i := range each {
				p.submit(&Task{AttemptIndex: uint32(s*each + i)})
			}
		})
	}
	wg.Wait()
	p.close()
	for i := range seen {
		require.Equal(t, int32(1), seen[i].Load(), "task %d", i)
	}
}

// Tasks queued when close is called still run before it returns.
func TestExecutorPoolCloseRunsQueuedTasks(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var ran atomic.Int64
	p := newExecutorPool(1, func(*Task) { <-release; ran.Add(1) })
	for range 5 {
		p.submit(&Task{})
	}
	closed := make(chan struct{})
	go func() { p.close(); close(closed) }()
	close(release)
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("close did not return")
	}
	require.Equal(t, int64(5), ran.Load())
}
