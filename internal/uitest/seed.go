package uitest

import (
	"context"
	"testing"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// Create creates an execution and returns its id.
func Create(t testing.TB, b backend.Backend, p backend.CreateExecutionParams) ff.ExecutionID {
	t.Helper()
	res, err := b.CreateExecution(context.Background(), p)
	if err != nil {
		t.Fatalf("create execution: %v", err)
	}
	return res.ExecutionID
}

// Claim claims one execution of lane as worker "ui-test".
func Claim(t testing.TB, b backend.Backend, lane string) backend.ClaimedTask {
	t.Helper()
	tasks, err := b.Claim(context.Background(), backend.ClaimParams{WorkerID: "ui-test", Lanes: []string{lane}})
	if err != nil {
		t.Fatalf("claim %s: %v", lane, err)
	}
	if len(tasks) != 1 {
		t.Fatalf("claim %s: got %d tasks, want 1", lane, len(tasks))
	}
	return tasks[0]
}

// Complete completes a claimed task with result.
func Complete(t testing.TB, b backend.Backend, task backend.ClaimedTask, result []byte) {
	t.Helper()
	if err := b.Complete(context.Background(), backend.CompleteParams{Handle: task.Handle, Result: result}); err != nil {
		t.Fatalf("complete %s: %v", task.ExecutionID, err)
	}
}

// FailPermanently fails a claimed task with no retry.
func FailPermanently(t testing.TB, b backend.Backend, task backend.ClaimedTask, reason string) {
	t.Helper()
	_, err := b.Fail(context.Background(), backend.FailParams{Handle: task.Handle, Reason: reason, Classification: ff.FailurePermanent})
	if err != nil {
		t.Fatalf("fail %s: %v", task.ExecutionID, err)
	}
}

// Describe reads an execution's snapshot.
func Describe(t testing.TB, b backend.Backend, id ff.ExecutionID) backend.ExecutionSnapshot {
	t.Helper()
	snap, err := b.DescribeExecution(context.Background(), backend.DescribeExecutionParams{ExecutionID: id})
	if err != nil {
		t.Fatalf("describe %s: %v", id, err)
	}
	return snap
}

// Suspend parks a claimed task on the condition (its JSON wire form),
// seeding a waitpoint signing key first when the store holds none.
func Suspend(t testing.TB, b backend.Backend, task backend.ClaimedTask, condition string) backend.SuspendOutcome {
	t.Helper()
	ctx := context.Background()
	if _, err := b.SeedWaitpointKey(ctx, backend.SeedWaitpointKeyParams{Generate: true}); err != nil {
		t.Fatalf("seed waitpoint key: %v", err)
	}
	c, err := ff.DecodeCondition([]byte(condition))
	if err != nil {
		t.Fatalf("condition %s: %v", condition, err)
	}
	out, err := b.Suspend(ctx, backend.SuspendParams{Handle: task.Handle, Request: ff.SuspendRequest{Condition: &c}})
	if err != nil {
		t.Fatalf("suspend %s: %v", task.ExecutionID, err)
	}
	return out
}
