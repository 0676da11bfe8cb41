package wire

import (
	"encoding/json"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// WaitpointBinding names one waitpoint of a suspension.
type WaitpointBinding struct {
	Key string `json:"key"`
}

// SuspendRequest is the body of POST /v1/tasks/suspend.
type SuspendRequest struct {
	Handle          string             `json:"handle"`
	Waitpoints      []WaitpointBinding `json:"waitpoints,omitempty"`
	Condition       json.RawMessage    `json:"condition,omitempty"`
	TimeoutAtMs     int64              `json:"timeout_at_ms,omitempty"`
	TimeoutBehavior string             `json:"timeout_behavior,omitempty"`
	ReasonCode      string             `json:"reason_code,omitempty"`
	IdempotencyKey  string             `json:"idempotency_key,omitempty"`
}

// WaitpointToken is a waitpoint with its token (the signal credential).
type WaitpointToken struct {
	WaitpointID  string `json:"waitpoint_id"`
	WaitpointKey string `json:"waitpoint_key"`
	Token        string `json:"token"`
}

// SuspendResponse answers a suspend: suspended with its waitpoints, or
// already_satisfied (the lease is kept).
type SuspendResponse struct {
	SuspensionID     string           `json:"suspension_id,omitempty"`
	PublicState      ff.PublicState   `json:"public_state,omitempty"`
	Waitpoints       []WaitpointToken `json:"waitpoints,omitempty"`
	AlreadySatisfied bool             `json:"already_satisfied,omitempty"`
	Signals          []Signal         `json:"signals,omitempty"`
}

// CreateWaitpointRequest is the body of POST /v1/tasks/waitpoints.
type CreateWaitpointRequest struct {
	Handle      string `json:"handle"`
	Key         string `json:"key,omitempty"`
	ExpiresAtMs int64  `json:"expires_at_ms,omitempty"`
}

// SignalSource says who sent a signal.
type SignalSource struct {
	Type     string `json:"type"`
	Identity string `json:"identity"`
}

// SignalRequest is the body of POST /v1/executions/{id}/signal. Token is
// the route's credential.
type SignalRequest struct {
	WaitpointID    string          `json:"waitpoint_id,omitempty"`
	WaitpointKey   string          `json:"waitpoint_key,omitempty"`
	Token          string          `json:"token"`
	SignalName     string          `json:"signal_name"`
	Payload        json.RawMessage `json:"payload,omitempty"`
	Source         *SignalSource   `json:"source,omitempty"`
	IdempotencyKey string          `json:"idempotency_key,omitempty"`
}

// SignalResponse answers a signal.
type SignalResponse struct {
	SignalID  string          `json:"signal_id"`
	Effect    ff.SignalEffect `json:"effect"`
	Duplicate bool            `json:"duplicate,omitempty"`
}

// Waitpoint is one open waitpoint, never with its token.
type Waitpoint struct {
	WaitpointID         string            `json:"waitpoint_id"`
	WaitpointKey        string            `json:"waitpoint_key"`
	State               ff.WaitpointState `json:"state"`
	RequiredSignalNames []string          `json:"required_signal_names"`
	CreatedAtMs         int64             `json:"created_at_ms"`
	ExpiresAtMs         int64             `json:"expires_at_ms"`
	TokenKid            string            `json:"token_kid"`
	TokenFingerprint    string            `json:"token_fingerprint"`
}

// WaitpointList is GET /v1/executions/{id}/waitpoints.
type WaitpointList struct {
	Waitpoints []Waitpoint `json:"waitpoints"`
}

// TokenResponse is the operator token read.
type TokenResponse struct {
	Token string `json:"token"`
}

// Signal is one received signal.
type Signal struct {
	SignalID     string          `json:"signal_id"`
	SignalName   string          `json:"signal_name"`
	Payload      json.RawMessage `json:"payload,omitempty"`
	Source       SignalSource    `json:"source"`
	WaitpointID  string          `json:"waitpoint_id"`
	Effect       ff.SignalEffect `json:"effect"`
	ReceivedAtMs int64           `json:"received_at_ms"`
}

// SignalList is GET /v1/executions/{id}/signals.
type SignalList struct {
	Signals []Signal `json:"signals"`
}

// RotateKeyRequest is the body of POST /v1/admin/waitpoint-keys/rotate.
type RotateKeyRequest struct {
	Kid       string `json:"kid,omitempty"`
	SecretHex string `json:"secret_hex,omitempty"`
	GraceMs   *int64 `json:"grace_ms,omitempty"`
}

// RotateKeyResponse answers a rotation.
type RotateKeyResponse struct {
	Kid                  string `json:"kid"`
	PreviousKid          string `json:"previous_kid,omitempty"`
	PreviousValidUntilMs int64  `json:"previous_valid_until_ms,omitempty"`
}

// ResumeExecutionResponse answers an operator resume.
type ResumeExecutionResponse struct {
	ExecutionID ff.ExecutionID `json:"execution_id"`
	PublicState ff.PublicState `json:"public_state"`
}

// SignalOf renders a signal.
func SignalOf(s ff.Signal) Signal {
	return Signal{SignalID: s.ID, SignalName: s.Name, Payload: json.RawMessage(s.Payload),
		Source: SignalSource(s.Source), WaitpointID: s.WaitpointID, Effect: s.Effect, ReceivedAtMs: s.ReceivedAtMs}
}

// SignalsOf renders signals (never nil).
func SignalsOf(ss []ff.Signal) []Signal {
	out := make([]Signal, 0, len(ss))
	for _, s := range ss {
		out = append(out, SignalOf(s))
	}
	return out
}

// ToDomain rebuilds a signal.
func (s Signal) ToDomain() ff.Signal {
	return ff.Signal{ID: s.SignalID, Name: s.SignalName, Payload: []byte(s.Payload), Source: ff.SignalSource(s.Source),
		WaitpointID: s.WaitpointID, Effect: s.Effect, ReceivedAtMs: s.ReceivedAtMs}
}

// WaitpointOf renders a waitpoint without its token.
func WaitpointOf(w ff.Waitpoint) Waitpoint {
	return Waitpoint{WaitpointID: w.ID, WaitpointKey: w.Key, State: w.State,
		RequiredSignalNames: nonNil(w.RequiredSignalNames), CreatedAtMs: w.CreatedAtMs, ExpiresAtMs: w.ExpiresAtMs,
		TokenKid: w.TokenKid, TokenFingerprint: w.TokenFingerprint}
}

// SuspendResponseOf renders a suspend outcome.
func SuspendResponseOf(o backend.SuspendOutcome) SuspendResponse {
	if o.AlreadySatisfied {
		return SuspendResponse{AlreadySatisfied: true, Signals: SignalsOf(o.Signals)}
	}
	out := SuspendResponse{SuspensionID: o.SuspensionID, PublicState: ff.PublicSuspended}
	for _, w := range o.Waitpoints {
		out.Waitpoints = append(out.Waitpoints, WaitpointToken(w))
	}
	return out
}

// ToBackend rebuilds a suspend outcome.
func (r SuspendResponse) ToBackend() backend.SuspendOutcome {
	out := backend.SuspendOutcome{AlreadySatisfied: r.AlreadySatisfied, SuspensionID: r.SuspensionID}
	for _, w := range r.Waitpoints {
		out.Waitpoints = append(out.Waitpoints, backend.WaitpointToken(w))
	}
	for _, s := range r.Signals {
		out.Signals = append(out.Signals, s.ToDomain())
	}
	return out
}
