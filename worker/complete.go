package worker

import (
	"context"
	"time"

	"github.com/flowfabric-go/flowfabric/backend"
)

// Completion batching: a flush happens when completeBatchMax results are
// waiting, when no handler is running (nothing more can arrive soon), or
// after completeLinger, whichever comes first. A lone completion
// therefore never waits longer than completeLinger.
const (
	completeBatchMax = 500
	completeLinger   = time.Millisecond
)

type completion struct {
	task   *Task
	result []byte
}

// completer reports successful attempts, batching them with CompleteMany
// when several finish together.
type completer struct {
	w  *Worker
	in chan completion
}

func newCompleter(w *Worker, buffer int) *completer {
	return &completer{w: w, in: make(chan completion, buffer)}
}

// submit queues a completion; it blocks only while the queue is full.
func (c *completer) submit(x completion) { c.in <- x }

// close ends the queue; run flushes what is left and returns. Only call it
// once no handler can submit any more.
func (c *completer) close() { close(c.in) }

// run reports completions until the queue is closed and empty.
func (c *completer) run(ctx context.Context) {
	for x := range c.in {
		c.flush(ctx, c.gather([]completion{x}))
	}
}

// gather adds whatever else is ready to batch, lingering briefly while
// other handlers are still running.
func (c *completer) gather(batch []completion) []completion {
	var linger <-chan time.Time
	for len(batch) < completeBatchMax {
		select {
		case x, ok := <-c.in:
			if !ok {
				return batch
			}
			batch = append(batch, x)
			continue
		default:
		}
		if c.w.running.Load() == 0 {
			return batch
		}
		if linger == nil {
			t := time.NewTimer(completeLinger)
			defer t.Stop()
			linger = t.C
		}
		select {
		case x, ok := <-c.in:
			if !ok {
				return batch
			}
			batch = append(batch, x)
		case <-linger:
			return batch
		}
	}
	return batch
}

// flush reports batch: one Complete, or one CompleteMany. Entries that
// fail with a retryable error are retried one by one (Complete is safe to
// replay).
func (c *completer) flush(ctx context.Context, batch []completion) {
	if c.w.killed.Load() {
		return
	}
	ps := make([]backend.CompleteParams, len(batch))
	for i, x := range batch {
		ps[i] = backend.CompleteParams{Handle: x.task.handle, Result: x.result}
	}
	var errs []error
	if len(ps) == 1 {
		errs = []error{c.w.transport.Complete(ctx, ps[0])}
	} else {
		errs = c.w.transport.CompleteMany(ctx, ps)
	}
	for i, x := range batch {
		err := errMissingResult
		if i < len(errs) {
			err = errs[i]
		}
		if err != nil && retryable(err) {
			p := ps[i]
			err = c.w.retry(ctx, func() error { return c.w.transport.Complete(ctx, p) })
		}
		c.w.logOutcome(x.task, "complete", err)
	}
}
