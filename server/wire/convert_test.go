package wire_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

// The JSON below is the HTTP contract: a change to a backend type must
// not change it.

var testID = ff.NewExecutionID("emails")

func fullSnapshot() backend.ExecutionSnapshot {
	pct := 40
	return backend.ExecutionSnapshot{
		ExecutionID: testID, Namespace: "ns", Lane: "emails", Kind: "email.send", Priority: 7,
		PublicState: ff.PublicActive,
		StateVector: ff.StateVector{LifecyclePhase: ff.PhaseActive, OwnershipState: ff.OwnershipLeased,
			EligibilityState: ff.EligibilityNotApplicable, BlockingReason: ff.BlockingNone,
			TerminalOutcome: ff.OutcomeNone, AttemptState: ff.AttemptRunning, PublicState: ff.PublicActive},
		BlockingDetail: "b", RequiredCaps: []string{"gpu"}, Tags: map[string]string{"app.user": "u1"},
		Policy: json.RawMessage(`{"retry_policy":{"max_retries":2}}`), AttemptCount: 2,
		CurrentAttempt: &backend.AttemptRef{Index: 1, ID: "a1"},
		Lease: &backend.LeaseSummary{LeaseID: "l1", Epoch: 3, WorkerID: "w", WorkerInstanceID: "wi",
			ExpiresAt: ff.TimeFromMs(1_700_000_030_000), LastHeartbeatAt: ff.TimeFromMs(1_700_000_001_000)},
		RetryCount: 1, ReclaimCount: 1, ProgressPct: &pct, ProgressMessage: "half", FailureReason: "boom",
		CancelReason: "c", ReadyAt: ff.TimeFromMs(1_700_000_002_000), DeadlineAt: ff.TimeFromMs(1_700_000_100_000),
		CreatedAt: ff.TimeFromMs(1_700_000_000_000), StartedAt: ff.TimeFromMs(1_700_000_000_500),
		CompletedAt: ff.TimeFromMs(1_700_000_003_000), UpdatedAt: ff.TimeFromMs(1_700_000_003_000),
	}
}

func TestExecutionSnapshotJSON(t *testing.T) {
	s := fullSnapshot()
	raw, err := json.Marshal(wire.ExecutionSnapshotOf(s))
	require.NoError(t, err)
	require.JSONEq(t, `{"execution_id":"`+testID.String()+`","namespace":"ns","lane":"emails","kind":"email.send",
		"priority":7,"public_state":"active","state_vector":{"lifecycle_phase":"active","ownership_state":"leased",
		"eligibility_state":"not_applicable","blocking_reason":"none","terminal_outcome":"none",
		"attempt_state":"running_attempt","public_state":"active"},"blocking_detail":"b",
		"required_capabilities":["gpu"],"tags":{"app.user":"u1"},"policy":{"retry_policy":{"max_retries":2}},
		"attempt_count":2,"current_attempt":{"index":1,"id":"a1"},"lease":{"lease_id":"l1","epoch":3,
		"worker_id":"w","worker_instance_id":"wi","expires_at_ms":1700000030000,"last_heartbeat_ms":1700000001000},
		"retry_count":1,"reclaim_count":1,"progress_pct":40,"progress_message":"half","failure_reason":"boom",
		"cancel_reason":"c","ready_at_ms":1700000002000,"deadline_at_ms":1700000100000,
		"created_at_ms":1700000000000,"started_at_ms":1700000000500,"completed_at_ms":1700000003000,
		"updated_at_ms":1700000003000}`, string(raw))

	var back wire.ExecutionSnapshot
	require.NoError(t, json.Unmarshal(raw, &back))
	require.Equal(t, s, back.ToBackend())

	// A fresh execution: optional fields are absent, arrays and objects
	// present.
	bare := backend.ExecutionSnapshot{ExecutionID: testID, Lane: "l", Kind: "k", PublicState: ff.PublicWaiting,
		CreatedAt: ff.TimeFromMs(1), UpdatedAt: ff.TimeFromMs(1)}
	raw, err = json.Marshal(wire.ExecutionSnapshotOf(bare))
	require.NoError(t, err)
	require.JSONEq(t, `{"execution_id":"`+testID.String()+`","lane":"l","kind":"k","priority":0,
		"public_state":"waiting","state_vector":{"lifecycle_phase":"","ownership_state":"","eligibility_state":"",
		"blocking_reason":"","terminal_outcome":"","attempt_state":"","public_state":""},
		"required_capabilities":[],"tags":{},"attempt_count":0,"retry_count":0,"reclaim_count":0,
		"created_at_ms":1,"updated_at_ms":1}`, string(raw))
}

func TestListingsJSON(t *testing.T) {
	page := backend.ExecutionPage{Executions: []backend.ExecutionSummary{{ExecutionID: testID, Lane: "l", Kind: "k",
		PublicState: ff.PublicWaiting, Priority: 3, CreatedAt: ff.TimeFromMs(5)}}, NextCursor: testID.String()}
	raw, err := json.Marshal(wire.ExecutionPageOf(page))
	require.NoError(t, err)
	require.JSONEq(t, `{"executions":[{"execution_id":"`+testID.String()+`","lane":"l","kind":"k",
		"public_state":"waiting","priority":3,"created_at_ms":5}],"next_cursor":"`+testID.String()+`"}`, string(raw))
	var wp wire.ExecutionPage
	require.NoError(t, json.Unmarshal(raw, &wp))
	require.Equal(t, page, wp.ToBackend())

	raw, err = json.Marshal(wire.ExecutionPageOf(backend.ExecutionPage{}))
	require.NoError(t, err)
	require.JSONEq(t, `{"executions":[]}`, string(raw))

	lanes := backend.LanePage{Lanes: []backend.LaneInfo{{Name: "l", Counts: map[ff.PublicState]int64{ff.PublicWaiting: 2}}},
		NextCursor: "l"}
	raw, err = json.Marshal(wire.LanePageOf(lanes))
	require.NoError(t, err)
	require.JSONEq(t, `{"lanes":[{"name":"l","counts":{"waiting":2}}],"next_cursor":"l"}`, string(raw))
	var wl wire.LanePage
	require.NoError(t, json.Unmarshal(raw, &wl))
	require.Equal(t, lanes, wl.ToBackend())
}

func TestAttemptsJSON(t *testing.T) {
	as := []ff.Attempt{{ExecutionID: testID, Index: 0, ID: "a0", Type: ff.AttemptInitial, Lifecycle: ff.AttemptEndedFailure,
		LeaseEpoch: 1, WorkerID: "w", WorkerInstanceID: "wi", StartedAtMs: 10, EndedAtMs: 20,
		FailureReason: "boom", FailureClass: "transient"},
		{ExecutionID: testID, Index: 1, ID: "a1", Type: ff.AttemptRetry, Lifecycle: ff.AttemptStarted, LeaseEpoch: 2,
			WorkerID: "w", WorkerInstanceID: "wi", StartedAtMs: 30}}
	raw, err := json.Marshal(wire.AttemptListOf(as))
	require.NoError(t, err)
	id := testID.String()
	require.JSONEq(t, `{"attempts":[{"execution_id":"`+id+`","attempt_index":0,"attempt_id":"a0",
		"attempt_type":"initial","lifecycle":"ended_failure","lease_epoch":1,"worker_id":"w","worker_instance_id":"wi",
		"started_at_ms":10,"ended_at_ms":20,"failure_reason":"boom","failure_class":"transient"},
		{"execution_id":"`+id+`","attempt_index":1,"attempt_id":"a1","attempt_type":"retry","lifecycle":"started",
		"lease_epoch":2,"worker_id":"w","worker_instance_id":"wi","started_at_ms":30}]}`, string(raw))
	var w wire.AttemptList
	require.NoError(t, json.Unmarshal(raw, &w))
	require.Equal(t, as, w.ToBackend())
}

func TestCapabilitiesJSON(t *testing.T) {
	c := backend.Capabilities{Family: "sqlite", Version: "0.1.0", Supports: backend.CoreSupports()}
	raw, err := json.Marshal(wire.CapabilitiesOf(c))
	require.NoError(t, err)
	require.JSONEq(t, `{"family":"sqlite","version":"0.1.0","supports":{"create_execution":true,"claim":true,
		"claim_batch":true,"renew":true,"progress":true,"complete":true,"fail":true,"cancel":true,"delay":true,
		"cancel_execution":true,"change_priority":false,"replay_execution":false,"revoke_lease":false,
		"describe_execution":true,"read_execution_state":true,"get_execution_result":true,"list_executions":true,
		"list_lanes":true,"flows":false,"waitpoints":false,"budget_admin":false,"quota_admin":false,"streams":false,
		"subscribe_completion":true,"events":false,"lane_control":false,"leader_election":true,"schedules":false}}`, string(raw))
	var w wire.Capabilities
	require.NoError(t, json.Unmarshal(raw, &w))
	require.Equal(t, c, w.ToBackend())
}

func TestClaimedTaskRoundTrip(t *testing.T) {
	h := ff.Handle{Backend: ff.BackendSQLite, Kind: ff.HandleFresh, Lease: ff.Lease{ExecutionID: testID,
		AttemptID: "a", LeaseID: "l", LeaseEpoch: 1, LeaseTTLMs: 30_000, Lane: "q", WorkerInstanceID: "w"}}
	task := backend.ClaimedTask{Handle: h, ExecutionID: testID, Lane: "q", Kind: "k", Input: []byte(`{"a":1}`),
		Priority: 2, Tags: map[string]string{"app.x": "y"}, AttemptIndex: 0, AttemptID: "a",
		AttemptType: ff.AttemptInitial, LeaseEpoch: 1, LeaseExpiresAt: ff.TimeFromMs(1_700_000_030_000)}
	raw, err := json.Marshal(wire.ClaimedTaskOf(task))
	require.NoError(t, err)
	require.JSONEq(t, `{"handle":"`+h.String()+`","execution_id":"`+testID.String()+`","lane":"q","kind":"k",
		"input":{"a":1},"priority":2,"tags":{"app.x":"y"},"attempt_index":0,"attempt_id":"a",
		"attempt_type":"initial","lease_epoch":1,"lease_expires_at_ms":1700000030000}`, string(raw))
	var w wire.ClaimedTask
	require.NoError(t, json.Unmarshal(raw, &w))
	got, err := w.ToBackend()
	require.NoError(t, err)
	require.Equal(t, task, got)

	w.Handle = "garbage"
	_, err = w.ToBackend()
	require.ErrorIs(t, err, ff.ErrInvalidHandle)
}
