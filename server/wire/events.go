package wire

import (
	"encoding/json"
	"errors"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// MaxEventsWaitMs bounds wait_ms of GET /v1/events.
const MaxEventsWaitMs = 30_000

// Event is one outbox event of GET /v1/events (and one SSE event's
// data). Fields that do not apply are left out.
type Event struct {
	Cursor      string          `json:"cursor"`
	Type        ff.EventType    `json:"type"`
	Action      string          `json:"action"`
	ExecutionID string          `json:"execution_id,omitempty"`
	Lane        string          `json:"lane,omitempty"`
	Namespace   string          `json:"namespace,omitempty"`
	AtMs        int64           `json:"at_ms"`
	Lease       *EventLease     `json:"lease,omitempty"`
	Data        json.RawMessage `json:"data,omitempty"`
}

// EventLease is the lease an event is about: a lease event's, or the one
// a completion ended (end: the lease action it implies).
type EventLease struct {
	AttemptIndex     uint32         `json:"attempt_index"`
	AttemptID        string         `json:"attempt_id"`
	AttemptType      ff.AttemptType `json:"attempt_type"`
	LeaseEpoch       uint64         `json:"lease_epoch"`
	WorkerID         string         `json:"worker_id"`
	WorkerInstanceID string         `json:"worker_instance_id"`
	AcquiredAtMs     int64          `json:"acquired_at_ms"`
	// Reclaim: the lease started a reclaim attempt (its start event is
	// reclaimed, not acquired).
	Reclaim bool   `json:"reclaim,omitempty"`
	End     string `json:"end,omitempty"`
}

// EventPage is the reply of GET /v1/events: next_cursor is the cursor to
// read on from (the last event's, or past the events filtered out).
type EventPage struct {
	Events     []Event `json:"events"`
	NextCursor string  `json:"next_cursor"`
}

// EventOf converts a backend event.
func EventOf(r backend.EventRecord) Event {
	out := Event{Cursor: string(r.Cursor), Type: r.Type, Action: r.Action, Lane: r.Lane, Namespace: r.Namespace, AtMs: r.AtMs}
	if !r.ExecutionID.IsZero() {
		out.ExecutionID = r.ExecutionID.String()
	}
	if raw, ok := r.Data.(json.RawMessage); ok {
		out.Data = raw
	}
	if l := r.Lease; l != nil {
		out.Lease = &EventLease{AttemptIndex: l.AttemptIndex, AttemptID: l.AttemptID, AttemptType: l.AttemptType,
			LeaseEpoch: l.LeaseEpoch, WorkerID: l.WorkerID, WorkerInstanceID: l.WorkerInstanceID,
			AcquiredAtMs: l.AcquiredAtMs, Reclaim: l.Reclaim, End: l.End}
	}
	return out
}

// Record converts e back (the client's view).
func (e Event) Record() (backend.EventRecord, error) {
	r := backend.EventRecord{Cursor: backend.EventCursor(e.Cursor), Event: ff.Event{Type: e.Type, Action: e.Action,
		Lane: e.Lane, Namespace: e.Namespace, AtMs: e.AtMs}}
	if e.ExecutionID != "" {
		id, err := ff.ParseExecutionID(e.ExecutionID)
		if err != nil {
			return r, err
		}
		r.ExecutionID, r.Partition = id, id.Partition
	}
	if len(e.Data) > 0 {
		r.Data = e.Data
	}
	if l := e.Lease; l != nil {
		r.Lease = &ff.LeaseRef{AttemptIndex: l.AttemptIndex, AttemptID: l.AttemptID, AttemptType: l.AttemptType,
			LeaseEpoch: l.LeaseEpoch, WorkerID: l.WorkerID, WorkerInstanceID: l.WorkerInstanceID,
			AcquiredAtMs: l.AcquiredAtMs, Reclaim: l.Reclaim, End: l.End}
	}
	return r, nil
}

// EventPageOf converts a backend page.
func EventPageOf(p backend.EventPage) EventPage {
	out := EventPage{Events: make([]Event, len(p.Events)), NextCursor: string(p.Next)}
	for i, ev := range p.Events {
		out.Events[i] = EventOf(ev)
	}
	return out
}

// OperatorRequest is the optional body of an operator action: who
// (source: a person, a tool; default "operator") and why (reason), both
// free text written to the action's operator event.
type OperatorRequest struct {
	Reason string `json:"reason,omitempty"`
	Source string `json:"source,omitempty"`
}

// Actor is the actor of r.
func (r OperatorRequest) Actor() ff.Actor { return ff.Actor{Source: r.Source, Reason: r.Reason} }

// OperatorOf is the request naming actor a (the inverse of Actor).
func OperatorOf(a ff.Actor) OperatorRequest {
	return OperatorRequest{Source: a.Source, Reason: a.Reason}
}

// PriorityRequest is the body of PUT /v1/executions/{id}/priority.
type PriorityRequest struct {
	Priority *int64 `json:"priority"`
	OperatorRequest
}

// PriorityResponse is its reply.
type PriorityResponse struct {
	ExecutionID ff.ExecutionID `json:"execution_id"`
	Priority    int64          `json:"priority"`
}

// ReplayResponse is the reply of POST /v1/executions/{id}/replay.
type ReplayResponse struct {
	ExecutionID ff.ExecutionID `json:"execution_id"`
	PublicState ff.PublicState `json:"public_state"`
}

// RevokeLeaseResponse is the reply of POST
// /v1/executions/{id}/revoke-lease; lease_epoch is the revoked lease's.
type RevokeLeaseResponse struct {
	Revoked    bool   `json:"revoked"`
	LeaseEpoch uint64 `json:"lease_epoch,omitempty"`
}

// LaneState is the reply of POST /v1/lanes/{lane}/pause|resume and an
// item of GET /v1/lanes/paused.
type LaneState struct {
	Lane       string `json:"lane"`
	Paused     bool   `json:"paused"`
	PausedAtMs int64  `json:"paused_at_ms,omitempty"`
	Source     string `json:"source,omitempty"`
	Reason     string `json:"reason,omitempty"`
}

// LaneStateOf converts a backend lane state.
func LaneStateOf(s backend.LaneState) LaneState {
	return LaneState{Lane: s.Lane, Paused: s.Paused, PausedAtMs: s.PausedAtMs, Source: s.Source, Reason: s.Reason}
}

// LaneStateList is the reply of GET /v1/lanes/paused.
type LaneStateList struct {
	Lanes []LaneState `json:"lanes"`
}

// BulkRequest is the body of POST /v1/lanes/{lane}/bulk-replay and
// bulk-cancel.
type BulkRequest struct {
	PublicState ff.PublicState `json:"public_state"`
	Cursor      string         `json:"cursor,omitempty"`
	Limit       int            `json:"limit,omitempty"`
	OperatorRequest
}

// BulkItem is the outcome for one execution: its state after the action,
// or the error that refused it.
type BulkItem struct {
	ExecutionID ff.ExecutionID `json:"execution_id"`
	PublicState ff.PublicState `json:"public_state,omitempty"`
	Error       *ErrorBody     `json:"error,omitempty"`
}

// BulkResponse is one bounded step; next_cursor is absent when done.
type BulkResponse struct {
	Items      []BulkItem `json:"items"`
	NextCursor string     `json:"next_cursor,omitempty"`
}

// BulkResponseOf converts a backend result.
func BulkResponseOf(r backend.BulkResult) BulkResponse {
	out := BulkResponse{Items: make([]BulkItem, len(r.Items)), NextCursor: r.NextCursor}
	for i, it := range r.Items {
		out.Items[i] = BulkItem{ExecutionID: it.ExecutionID, PublicState: it.PublicState}
		if it.Err != nil {
			var fe *ff.Error
			if !errors.As(it.Err, &fe) {
				fe = ff.Transport("bulk", it.Err, true)
			}
			body := BodyOf(fe)
			out.Items[i].Error = &body
			out.Items[i].PublicState = ""
		}
	}
	return out
}
