package fftest

import (
	"context"
	"fmt"
	"strings"
	"time"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// DefaultTimeout bounds WaitFor and RunUntil (real time).
const DefaultTimeout = 10 * time.Second

// recheck is the safety net of WaitFor for changes made outside fftest
// (an HTTP call by the code under test, a worker it built itself): the
// condition is also re-checked this often. Changes made through fftest
// wake it at once.
const recheck = 25 * time.Millisecond

// Condition is a named predicate over the engine's state. Build one with
// Cond (or the constructors below); IDs name the executions a failure
// message describes.
type Condition struct {
	Desc  string
	IDs   []ff.ExecutionID
	Check func(ctx context.Context, r Reader) (bool, error)
}

// Cond is a condition described by desc, checked by f; ids are the
// executions to describe when it does not hold.
func Cond(desc string, f func(ctx context.Context, r Reader) (bool, error), ids ...ff.ExecutionID) Condition {
	return Condition{Desc: desc, IDs: ids, Check: f}
}

// All holds when every c holds.
func All(cs ...Condition) Condition {
	var descs []string
	var ids []ff.ExecutionID
	for _, c := range cs {
		descs, ids = append(descs, c.Desc), append(ids, c.IDs...)
	}
	return Cond(strings.Join(descs, " and "), func(ctx context.Context, r Reader) (bool, error) {
		for _, c := range cs {
			if ok, err := c.Check(ctx, r); !ok || err != nil {
				return false, err
			}
		}
		return true, nil
	}, ids...)
}

// InState holds when execution id is in public state s.
func InState(id ff.ExecutionID, s ff.PublicState) Condition {
	return Cond(fmt.Sprintf("%s is %s", id, s), func(ctx context.Context, r Reader) (bool, error) {
		snap, err := r.DescribeExecution(ctx, backend.DescribeExecutionParams{ExecutionID: id})
		return err == nil && snap.PublicState == s, err
	}, id)
}

// Completed holds when every id completed.
func Completed(ids ...ff.ExecutionID) Condition {
	return eachState("completed", ids, func(s ff.PublicState) bool { return s == ff.PublicCompleted })
}

// Ended holds when every id is terminal, whatever the outcome.
func Ended(ids ...ff.ExecutionID) Condition {
	return eachState("ended", ids, func(s ff.PublicState) bool { return terminal(s) })
}

func terminal(s ff.PublicState) bool {
	switch s {
	case ff.PublicCompleted, ff.PublicFailed, ff.PublicCancelled, ff.PublicExpired, ff.PublicSkipped:
		return true
	}
	return false
}

func eachState(what string, ids []ff.ExecutionID, ok func(ff.PublicState) bool) Condition {
	desc := fmt.Sprintf("%v %s", ids, what)
	if len(ids) == 1 {
		desc = fmt.Sprintf("%s %s", ids[0], what)
	}
	return Cond(desc, func(ctx context.Context, r Reader) (bool, error) {
		for _, id := range ids {
			snap, err := r.DescribeExecution(ctx, backend.DescribeExecutionParams{ExecutionID: id})
			if err != nil || !ok(snap.PublicState) {
				return false, err
			}
		}
		return true, nil
	}, ids...)
}

// WaitOption tunes WaitFor and RunUntil.
type WaitOption func(*waitOptions)

type waitOptions struct{ timeout time.Duration }

// Timeout bounds the wait (real time; default DefaultTimeout).
func Timeout(d time.Duration) WaitOption { return func(o *waitOptions) { o.timeout = d } }

// WaitFor waits until c holds (workers started with Start keep running).
// It re-checks c whenever a worker of this engine reports, a sweep runs
// or Create is called, and every 25 ms for changes made elsewhere. On
// timeout it fails the test with c's description and the state of the
// executions c names.
func (e *Engine) WaitFor(c Condition, opts ...WaitOption) {
	e.t.Helper()
	o := waitOptions{timeout: DefaultTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	deadline := time.NewTimer(o.timeout)
	defer deadline.Stop()
	tick := time.NewTicker(recheck)
	defer tick.Stop()
	for {
		changed := e.sig.wait()
		ok, err := c.Check(e.ctx, e)
		if ok {
			return
		}
		select {
		case <-changed:
		case <-tick.C:
		case <-deadline.C:
			e.t.Fatalf("fftest: timed out after %v waiting for %s (last error: %v)%s", o.timeout, c.Desc, err,
				describeAll(e.ctx, e, c.IDs, e.hint()))
		}
	}
}

// hint says what a timed-out wait might be missing.
func (e *Engine) hint() string {
	if e.fake == nil {
		return ""
	}
	return fmt.Sprintf("; the fake clock is at %s: delayed work and retries need Advance", e.fake.Now().UTC().Format(time.RFC3339))
}
