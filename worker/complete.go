package worker

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/trace"

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

// slowReport is how long a report call must have been in flight before
// the extra completers (Config.Completers beyond the first) take the
// next batch: most plain completions report within it, so they keep one
// completer and its large batches; a flow upstream's report (its
// downstreams promoted in the same statement) often takes a little
// longer, and the next batch need not wait for its commit. Measured
// against 5 ms on a 2-core machine: chain members/s +10 % (medians of 7
// alternating runs), the 20 000-job drain unchanged within the noise.
const slowReport = 2 * time.Millisecond

type completion struct {
	task   *Task
	result []byte
	tries  int // calls made so far
}

// completer reports successful attempts, batching them with CompleteMany
// when several finish together.
type completer struct {
	w  *Worker
	in chan completion
	// slow receives a token when a call has been in flight for
	// slowReport; done is closed by close.
	slow chan struct{}
	done chan struct{}
}

func newCompleter(w *Worker, buffer int) *completer {
	return &completer{w: w, in: make(chan completion, buffer), slow: make(chan struct{}, 1), done: make(chan struct{})}
}

// submit queues a completion; it blocks only while the queue is full.
func (c *completer) submit(x completion) { c.in <- x }

// close ends the queue; run flushes what is left and returns. Only call it
// once no handler can submit any more.
func (c *completer) close() {
	close(c.in)
	close(c.done)
}

// run reports completions until the queue is closed and every pending
// retry has ended. Completions that fail with a retryable error are
// retried together, with whatever else arrived meanwhile, after a
// backoff, each until its lease's expiry as the worker knows it.
// Config.Completers loops run side by side on the one queue; an extra
// one waits until a call has been in flight for slowReport, then takes
// the next batch (the next completion may arrive after that call ended).
func (c *completer) run(ctx context.Context, extra bool) {
	var retry []completion
	bo := newBackoff(c.w.rnd)
	open := true
	for open || len(retry) > 0 {
		var batch []completion
		if len(retry) == 0 {
			if extra && !c.awaitSlow() {
				return
			}
			x, ok := <-c.in
			if !ok {
				return
			}
			batch = c.gather([]completion{x})
			bo = newBackoff(c.w.rnd)
		} else {
			if !c.w.clock.Sleep(ctx, c.retryWait(retry, &bo)) {
				return // killed: nothing more is reported
			}
			batch, open = c.queued(retry, open)
		}
		retry = c.flushAll(ctx, batch)
	}
}

// awaitSlow waits until a call has been in flight for slowReport; false
// once the queue is closed (the first completer drains it).
func (c *completer) awaitSlow() bool {
	select {
	case <-c.slow:
		return true
	case <-c.done:
		return false
	}
}

// watchSlow signals c.slow if the call it starts for is still in flight
// after slowReport; call the returned func when the call ends.
func (c *completer) watchSlow() (stop func() bool) {
	return time.AfterFunc(slowReport, func() {
		select {
		case c.slow <- struct{}{}:
		default:
		}
	}).Stop
}

// retryWait is the wait before retrying pending: the next backoff, but
// never past the earliest lease expiry among them.
func (c *completer) retryWait(pending []completion, bo *backoff) time.Duration {
	wait := bo.next()
	now := c.w.clock.Now()
	for _, x := range pending {
		wait = min(wait, max(x.task.leaseExpiry().Sub(now), 0))
	}
	return wait
}

// queued appends to batch every completion waiting in the queue, without
// blocking, and reports whether the queue is still open.
func (c *completer) queued(batch []completion, open bool) ([]completion, bool) {
	for open {
		select {
		case x, ok := <-c.in:
			if !ok {
				return batch, false
			}
			batch = append(batch, x)
		default:
			return batch, true
		}
	}
	return batch, false
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

// flushAll reports batch in calls of at most completeBatchMax and
// returns the completions to retry.
func (c *completer) flushAll(ctx context.Context, batch []completion) []completion {
	var retry []completion
	for len(batch) > 0 {
		n := min(len(batch), completeBatchMax)
		retry = append(retry, c.flush(ctx, batch[:n])...)
		batch = batch[n:]
	}
	return retry
}

// flush reports batch: one Complete, or one CompleteMany. It returns the
// entries that failed with a retryable error while their lease may still
// be valid; the others are settled (reported, refused, or given up).
func (c *completer) flush(ctx context.Context, batch []completion) []completion {
	if c.w.killed.Load() {
		return nil
	}
	errs := c.call(ctx, batch)
	var retry []completion
	for i, x := range batch {
		x.tries++
		err := errs[i]
		if err != nil && retryable(err) && ctx.Err() == nil {
			if x.task.leaseExpiry().After(c.w.clock.Now()) {
				retry = append(retry, x)
				continue
			}
			err = c.w.gaveUp(x.task, "complete", x.tries, err)
		}
		c.w.logOutcome(x.task, "complete", err)
	}
	return retry
}

// call sends batch, bounded by its latest lease expiry; the errors align
// with batch.
func (c *completer) call(ctx context.Context, batch []completion) []error {
	ps := make([]backend.CompleteParams, len(batch))
	tasks := make([]*Task, len(batch))
	for i, x := range batch {
		ps[i] = backend.CompleteParams{Handle: x.task.handle, Result: x.result}
		tasks[i] = x.task
	}
	errs := make([]error, len(batch))
	ctx, spans := c.spans(ctx, tasks)
	defer endSpans(spans, errs)
	defer c.watchSlow()()
	_ = c.w.try(ctx, latestExpiry(tasks), func(cctx context.Context) error {
		if len(ps) == 1 {
			errs[0] = c.w.transport.Complete(cctx, ps[0])
			return nil
		}
		got := c.w.transport.CompleteMany(cctx, ps)
		for i := range errs {
			errs[i] = errMissingResult
			if i < len(got) {
				errs[i] = got[i]
			}
		}
		return nil
	})
	return errs
}

// spans starts one "ff.complete" span per traced task of a call (each a
// child of its handler span); a call for one task runs in its span, so
// the request carries it. Nil when tracing is off.
func (c *completer) spans(ctx context.Context, tasks []*Task) (context.Context, []trace.Span) {
	if c.w.tracer == nil {
		return ctx, nil
	}
	spans := make([]trace.Span, len(tasks))
	for i, t := range tasks {
		sctx, span := c.w.reportSpan(ctx, t, "complete")
		if len(tasks) == 1 {
			ctx = sctx
		}
		spans[i] = span
	}
	return ctx, spans
}

// endSpans ends the spans of a call with their entries' errors.
func endSpans(spans []trace.Span, errs []error) {
	for i, s := range spans {
		endReportSpan(s, errs[i])
	}
}
