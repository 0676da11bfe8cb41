// Package wire holds the JSON shapes of the HTTP API v1, shared by the
// server and the Go client so the two can never drift. These types own
// the contract: no backend or domain struct is encoded directly, so a
// change to one cannot change the API (convert.go maps them both ways). Field names are
// snake_case; a field with omitempty is optional in a request and may be
// absent in a response, every other field is required/always present (the
// OpenAPI document is generated from these types on that rule).
//
// Opaque payloads (execution input, completion result) travel as JSON when
// they are valid JSON (the "input"/"result" field, bytes exactly as
// stored) and as base64 otherwise (the "input_base64"/"result_base64"
// field), so bytes written by an embedded Go producer survive the HTTP
// round trip unchanged.
//
// Start with [CreateExecutionRequest]; Go programs normally use package
// client rather than these types.
package wire

import (
	"encoding/json"

	ff "github.com/flowfabric-go/flowfabric"
)

// CreateExecutionRequest is the body of POST /v1/executions.
type CreateExecutionRequest struct {
	Kind                 string            `json:"kind"`
	Lane                 string            `json:"lane,omitempty"`
	Input                json.RawMessage   `json:"input,omitempty"`
	InputBase64          []byte            `json:"input_base64,omitempty"`
	ExecutionID          string            `json:"execution_id,omitempty"`
	Namespace            string            `json:"namespace,omitempty"`
	Priority             int64             `json:"priority,omitempty"`
	RequiredCapabilities []string          `json:"required_capabilities,omitempty"`
	IdempotencyKey       string            `json:"idempotency_key,omitempty"`
	DelayUntilMs         int64             `json:"delay_until_ms,omitempty"`
	DeadlineAtMs         int64             `json:"deadline_at_ms,omitempty"`
	Tags                 map[string]string `json:"tags,omitempty"`
	Policy               json.RawMessage   `json:"policy,omitempty"`
	// FlowID makes the execution a member of that flow; DependsOn lists
	// upstream members (edges success_only) and Join combines them.
	FlowID    string         `json:"flow_id,omitempty"`
	DependsOn []string       `json:"depends_on,omitempty"`
	Join      *ff.JoinPolicy `json:"join,omitempty"`
}

// CreateExecutionResponse answers a create: 201 when created, 200 with
// Duplicate when the idempotency key matched an existing execution.
type CreateExecutionResponse struct {
	ExecutionID ff.ExecutionID `json:"execution_id"`
	PublicState ff.PublicState `json:"public_state"`
	Duplicate   bool           `json:"duplicate,omitempty"`
}

// CancelExecutionRequest is the optional body of
// POST /v1/executions/{id}/cancel.
type CancelExecutionRequest struct {
	Reason string `json:"reason,omitempty"`
	// Source labels who cancelled; default "operator_override".
	Source string `json:"source,omitempty"`
}

// CancelExecutionResponse is the state after an operator cancel.
type CancelExecutionResponse struct {
	ExecutionID ff.ExecutionID `json:"execution_id"`
	PublicState ff.PublicState `json:"public_state"`
}

// ClaimRequest is the body of POST /v1/workers/{worker_id}/claim.
type ClaimRequest struct {
	Lanes            []string `json:"lanes,omitempty"`
	Capabilities     []string `json:"capabilities,omitempty"`
	LeaseTTLMs       int64    `json:"lease_ttl_ms,omitempty"`
	Max              int      `json:"max,omitempty"`
	WorkerInstanceID string   `json:"worker_instance_id,omitempty"`
	// WaitMs long-polls up to this long (at most MaxClaimWaitMs) when
	// nothing is claimable at once.
	WaitMs int64 `json:"wait_ms,omitempty"`
}

// MaxClaimWaitMs bounds ClaimRequest.WaitMs.
const MaxClaimWaitMs = 30_000

// ClaimResponse is the 200 body of a claim (204 means nothing claimable).
type ClaimResponse struct {
	Tasks []ClaimedTask `json:"tasks"`
}

// ClaimedTask is one claimed execution. Handle is the lease proof every
// task call must present.
type ClaimedTask struct {
	Handle           string            `json:"handle"`
	ExecutionID      ff.ExecutionID    `json:"execution_id"`
	Lane             string            `json:"lane"`
	Kind             string            `json:"kind"`
	Input            json.RawMessage   `json:"input,omitempty"`
	InputBase64      []byte            `json:"input_base64,omitempty"`
	Priority         int32             `json:"priority"`
	Tags             map[string]string `json:"tags"`
	AttemptIndex     uint32            `json:"attempt_index"`
	AttemptID        string            `json:"attempt_id"`
	AttemptType      ff.AttemptType    `json:"attempt_type"`
	LeaseEpoch       uint64            `json:"lease_epoch"`
	LeaseExpiresAtMs int64             `json:"lease_expires_at_ms"`
	// ResumedSignals are the signals that resumed the suspension this
	// claim continues; absent for any other claim.
	ResumedSignals []Signal `json:"resumed_signals,omitempty"`
}

// HandleRequest is a body carrying only a handle (POST /v1/tasks/renew).
type HandleRequest struct {
	Handle string `json:"handle"`
}

// CompleteRequest is the body of POST /v1/tasks/complete and one item of
// complete-many.
type CompleteRequest struct {
	Handle       string          `json:"handle"`
	Result       json.RawMessage `json:"result,omitempty"`
	ResultBase64 []byte          `json:"result_base64,omitempty"`
}

// CompleteManyRequest is the body of POST /v1/tasks/complete-many.
type CompleteManyRequest struct {
	Items []CompleteRequest `json:"items"`
}

// MaxBatchItems bounds complete-many, renew-many and release.
const MaxBatchItems = 1000

// ItemResult is one entry of a batch answer; Error is absent on success.
type ItemResult struct {
	Error *ErrorBody `json:"error,omitempty"`
}

// CompleteManyResponse aligns with the request's items.
type CompleteManyResponse struct {
	Results []ItemResult `json:"results"`
}

// FailRequest is the body of POST /v1/tasks/fail. Classification is one of
// transient (default), permanent, infra_crash, timeout, cancelled.
type FailRequest struct {
	Handle         string `json:"handle"`
	Reason         string `json:"reason,omitempty"`
	Classification string `json:"classification,omitempty"`
}

// FailResponse tells whether a retry was scheduled.
type FailResponse struct {
	RetryScheduled bool  `json:"retry_scheduled"`
	DelayUntilMs   int64 `json:"delay_until_ms"`
}

// RenewResponse is the renewed lease.
type RenewResponse struct {
	LeaseExpiresAtMs int64  `json:"lease_expires_at_ms"`
	LeaseEpoch       uint64 `json:"lease_epoch"`
}

// RenewManyRequest is the body of POST /v1/tasks/renew-many.
type RenewManyRequest struct {
	Handles []string `json:"handles"`
}

// RenewItem is one entry of renew-many: the lease, or Error.
type RenewItem struct {
	LeaseExpiresAtMs int64      `json:"lease_expires_at_ms,omitempty"`
	LeaseEpoch       uint64     `json:"lease_epoch,omitempty"`
	Error            *ErrorBody `json:"error,omitempty"`
}

// RenewManyResponse aligns with the request's handles.
type RenewManyResponse struct {
	Results []RenewItem `json:"results"`
}

// ReleaseRequest is the body of POST /v1/tasks/release: leases a worker
// claimed but never started, given back so that their executions are
// claimable again at once without counting a reclaim.
type ReleaseRequest struct {
	Handles []string `json:"handles"`
}

// ReleaseResponse aligns with the request's handles; an entry's Error is
// absent when its lease was given back.
type ReleaseResponse struct {
	Results []ItemResult `json:"results"`
}

// ProgressRequest is the body of POST /v1/tasks/progress. An absent
// Percent leaves the stored percentage unchanged.
type ProgressRequest struct {
	Handle  string `json:"handle"`
	Percent *int   `json:"percent,omitempty"`
	Message string `json:"message,omitempty"`
}

// DelayRequest is the body of POST /v1/tasks/delay.
type DelayRequest struct {
	Handle       string `json:"handle"`
	DelayUntilMs int64  `json:"delay_until_ms"`
}

// TaskCancelRequest is the body of POST /v1/tasks/cancel.
type TaskCancelRequest struct {
	Handle string `json:"handle"`
	Reason string `json:"reason,omitempty"`
}

// Health is the body of GET /healthz.
type Health struct {
	Status  string `json:"status"`
	Backend string `json:"backend"`
}
