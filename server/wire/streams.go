package wire

import (
	"encoding/json"

	ff "github.com/flowfabric-go/flowfabric"
)

// Streams (DESIGN §5.1 "Streams"). A frame's payload travels as
// "payload" (any JSON) or, for bytes that are not JSON, "payload_base64"
// (exclusive), the convention of execution inputs and results.

// MaxStreamWaitMs bounds a stream read's long-poll.
const MaxStreamWaitMs = 30_000

// AppendFramesRequest is the body of POST /v1/tasks/frames.
type AppendFramesRequest struct {
	Handle string    `json:"handle"`
	Frames []FrameIn `json:"frames"`
}

// FrameIn is one frame to append; durable defaults to true.
type FrameIn struct {
	Type          string          `json:"type,omitempty"`
	Payload       json.RawMessage `json:"payload,omitempty"`
	PayloadBase64 []byte          `json:"payload_base64,omitempty"`
	CorrelationID string          `json:"correlation_id,omitempty"`
	Durable       *bool           `json:"durable,omitempty"`
}

// Input converts f to the domain form.
func (f FrameIn) Input(i int) (ff.FrameInput, error) {
	if len(f.Payload) > 0 && len(f.PayloadBase64) > 0 {
		return ff.FrameInput{}, ff.Validation(ff.ErrInvalidInput, "frames[%d]: payload and payload_base64 are exclusive", i)
	}
	in := ff.FrameInput{Type: f.Type, CorrelationID: f.CorrelationID, Payload: f.Payload, Durable: f.Durable == nil || *f.Durable}
	if f.PayloadBase64 != nil {
		in.Payload, in.Binary = f.PayloadBase64, true
	}
	return in, nil
}

// FrameInOf is the wire form of a frame to append.
func FrameInOf(f ff.FrameInput) FrameIn {
	out := FrameIn{Type: f.Type, CorrelationID: f.CorrelationID}
	if !f.Durable {
		out.Durable = new(bool)
	}
	if f.Binary {
		out.PayloadBase64 = f.Payload
		if out.PayloadBase64 == nil {
			out.PayloadBase64 = []byte{}
		}
	} else {
		out.Payload = json.RawMessage(f.Payload)
	}
	return out
}

// AppendFramesResponse answers an append.
type AppendFramesResponse struct {
	LastFrameID uint64 `json:"last_frame_id"`
	FrameCount  int64  `json:"frame_count"`
}

// Frame is one stored frame.
type Frame struct {
	ID            uint64          `json:"id"`
	Type          string          `json:"type"`
	Payload       json.RawMessage `json:"payload,omitempty"`
	PayloadBase64 []byte          `json:"payload_base64,omitempty"`
	CorrelationID string          `json:"correlation_id,omitempty"`
	Durable       bool            `json:"durable"`
	AtMs          int64           `json:"at_ms"`
}

// FrameOf renders a stored frame.
func FrameOf(f ff.StreamFrame) Frame {
	out := Frame{ID: f.ID, Type: f.Type, CorrelationID: f.CorrelationID, Durable: f.Durable, AtMs: f.AtMs}
	if f.Binary {
		out.PayloadBase64 = f.Payload
		if out.PayloadBase64 == nil {
			out.PayloadBase64 = []byte{}
		}
	} else {
		out.Payload = json.RawMessage(f.Payload)
	}
	return out
}

// StreamFrame converts f back to the domain form.
func (f Frame) StreamFrame() ff.StreamFrame {
	out := ff.StreamFrame{ID: f.ID, Type: f.Type, CorrelationID: f.CorrelationID, Durable: f.Durable, AtMs: f.AtMs, Payload: f.Payload}
	if f.PayloadBase64 != nil {
		out.Payload, out.Binary = f.PayloadBase64, true
	}
	return out
}

// StreamPage answers GET .../attempts/{n}/stream. closed_at_ms and
// closed_reason are null while the stream is open (or the page stopped
// before its end).
type StreamPage struct {
	Frames       []Frame `json:"frames"`
	LastFrameID  uint64  `json:"last_frame_id"`
	ClosedAtMs   *int64  `json:"closed_at_ms"`
	ClosedReason *string `json:"closed_reason"`
}

// StreamClosed is the data of the final SSE event "closed".
type StreamClosed struct {
	LastFrameID  uint64 `json:"last_frame_id"`
	ClosedAtMs   int64  `json:"closed_at_ms"`
	ClosedReason string `json:"closed_reason"`
}

// PatchSummaryRequest is the body of POST /v1/tasks/summary.
type PatchSummaryRequest struct {
	Handle string          `json:"handle"`
	Patch  json.RawMessage `json:"patch"`
}

// PatchSummaryResponse answers a patch with the merged document.
type PatchSummaryResponse struct {
	Summary json.RawMessage `json:"summary"`
	Version int64           `json:"version"`
}

// AttemptSummary answers GET /v1/executions/{id}/summary; summary is null
// before the attempt's first patch.
type AttemptSummary struct {
	AttemptIndex uint32          `json:"attempt_index"`
	Summary      json.RawMessage `json:"summary"`
	Version      int64           `json:"version"`
	UpdatedAtMs  int64           `json:"updated_at_ms,omitempty"`
}
