package worker

import (
	"context"
	"sync"
	"time"
)

// SkipRetryWaits makes w's retry waits return at once: its clock runs
// ahead of real time by the waits it skipped. Tests of the retry
// behaviour over a real backend use it so they never sleep.
func SkipRetryWaits(w *Worker) { w.clock = &skipClock{} }

type skipClock struct {
	mu      sync.Mutex
	skipped time.Duration
}

func (c *skipClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.skipped)
}

func (c *skipClock) Sleep(ctx context.Context, d time.Duration) bool {
	c.mu.Lock()
	c.skipped += max(d, 0)
	c.mu.Unlock()
	return ctx.Err() == nil
}
