package backendtest

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
)

// EventRow is one outbox row as both stores keep it, for the test-only
// readers of the harnesses (Harness.Events). A store selects, in the order
// of Dest: type, action, execution_id, partition, lane, namespace, at_ms,
// attempt_index, attempt_id, attempt_type, lease_epoch, worker_id,
// worker_instance_id, acquired_at_ms, lease_end, acquired_action, data
// (as text).
type EventRow struct {
	Type, Action, ExecutionID, Lane, Namespace string
	Partition, AtMs, AttemptIndex, LeaseEpoch  int64
	AttemptID, AttemptType, Worker, Instance   string
	AcquiredAtMs                               int64
	LeaseEnd, AcquiredAction                   string
	Data                                       *string
}

// Dest is the scan destination of the row's columns.
func (r *EventRow) Dest() []any {
	return []any{&r.Type, &r.Action, &r.ExecutionID, &r.Partition, &r.Lane, &r.Namespace, &r.AtMs,
		&r.AttemptIndex, &r.AttemptID, &r.AttemptType, &r.LeaseEpoch, &r.Worker, &r.Instance, &r.AcquiredAtMs,
		&r.LeaseEnd, &r.AcquiredAction, &r.Data}
}

// Event rebuilds the event the row stores.
func (r *EventRow) Event(t *testing.T) ff.Event {
	t.Helper()
	ev := ff.Event{Type: ff.EventType(r.Type), Action: r.Action, Lane: r.Lane, Namespace: r.Namespace,
		Partition: uint16(r.Partition), AtMs: r.AtMs}
	if r.ExecutionID != "" {
		id, err := ff.ParseExecutionID(r.ExecutionID)
		require.NoError(t, err)
		ev.ExecutionID = id
	}
	if r.Data != nil {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(*r.Data), &m), "event data must be a JSON object")
		ev.Data = m
	}
	if r.AttemptIndex < 0 {
		require.Empty(t, r.AcquiredAction, "a row that ends no lease expands no lease start")
		require.Empty(t, r.LeaseEnd, "a row that ends no lease implies no lease end")
		return ev
	}
	require.Contains(t, []string{ff.LeaseAcquired, ff.LeaseReclaimed}, r.AcquiredAction)
	ev.Lease = &ff.LeaseRef{AttemptIndex: uint32(r.AttemptIndex), AttemptID: r.AttemptID,
		AttemptType: ff.AttemptType(r.AttemptType), LeaseEpoch: uint64(r.LeaseEpoch), WorkerID: r.Worker,
		WorkerInstanceID: r.Instance, AcquiredAtMs: r.AcquiredAtMs, Reclaim: r.AcquiredAction == ff.LeaseReclaimed,
		End: r.LeaseEnd}
	return ev
}
