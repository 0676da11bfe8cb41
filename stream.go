package flowfabric

import (
	"encoding/json"
	"unicode/utf8"
)

// Streams are per-attempt output: an ordered list of frames a worker
// appends under its lease, and one summary document it patches. The
// rules, in one place for every path and both stores:
//
//   - Frame ids are 1, 2, 3, … per attempt, assigned by the store at
//     append in commit order; a batch takes consecutive ids. After a
//     committed frame id n, every later frame of the attempt has an id
//     above n.
//   - A frame's payload is either JSON (any JSON value) or opaque bytes
//     (Binary): both are stored byte for byte.
//   - A stream is closed when its attempt ends (success, failure,
//     cancellation, interruption by a lost lease): the close is derived
//     from the attempt's end (StreamClose), never written separately, so
//     an attempt that never streamed costs nothing at its end.
//   - Durable frames commit like state changes. Best-effort frames
//     (Durable false) may be committed asynchronously by a store
//     (Postgres: synchronous_commit = off): a database crash may lose the
//     last ones acknowledged, and their ids may then be given again to
//     later frames.

// Stream limits: the defaults of StreamLimits, and fixed bounds.
const (
	DefaultMaxFrameBytes       = 64 << 10
	DefaultMaxFramesPerAttempt = 100_000
	DefaultMaxSummaryBytes     = 256 << 10
	// MaxFramesPerAppend bounds one append batch.
	MaxFramesPerAppend = 1000
	// MaxFrameTypeBytes bounds a frame's type and correlation id.
	MaxFrameTypeBytes     = 128
	MaxCorrelationIDBytes = 256
	// DefaultFrameType is the type of a frame appended without one.
	DefaultFrameType = "data"
	// maxPatchDepth bounds the nesting a merge patch may recurse into.
	maxPatchDepth = 32
)

// ErrStreamLimit: an append would take an attempt's stream past its
// frame cap (StreamLimits.MaxFramesPerAttempt).
const ErrStreamLimit ErrorKind = "stream_limit_exceeded"

// StreamLimits are a store's stream caps. Zero fields take the defaults.
type StreamLimits struct {
	MaxFrameBytes       int   // payload bytes per frame
	MaxFramesPerAttempt int64 // frames one attempt may append in all
	MaxSummaryBytes     int   // bytes of the summary document
}

// WithDefaults returns l with zero fields set to the defaults.
func (l StreamLimits) WithDefaults() StreamLimits {
	if l.MaxFrameBytes <= 0 {
		l.MaxFrameBytes = DefaultMaxFrameBytes
	}
	if l.MaxFramesPerAttempt <= 0 {
		l.MaxFramesPerAttempt = DefaultMaxFramesPerAttempt
	}
	if l.MaxSummaryBytes <= 0 {
		l.MaxSummaryBytes = DefaultMaxSummaryBytes
	}
	return l
}

// FrameInput is one frame as a worker appends it.
type FrameInput struct {
	Type          string
	CorrelationID string
	// Payload is JSON unless Binary; an empty JSON payload is null.
	Payload []byte
	Binary  bool
	Durable bool
}

// Normalize validates f against l and applies defaults (type "data",
// null payload). A payload over the cap is payload_too_large.
func (f *FrameInput) Normalize(l StreamLimits) error {
	if f.Type == "" {
		f.Type = DefaultFrameType
	}
	if err := ValidateName("frame type", f.Type, MaxFrameTypeBytes); err != nil {
		return err
	}
	if err := ValidateKey("correlation_id", f.CorrelationID, MaxCorrelationIDBytes); err != nil {
		return err
	}
	if len(f.Payload) > l.MaxFrameBytes {
		return Validation(ErrPayloadTooLarge, "frame payload: %d bytes, at most %d", len(f.Payload), l.MaxFrameBytes)
	}
	if f.Binary {
		if f.Payload == nil {
			f.Payload = []byte{}
		}
		return nil
	}
	if len(f.Payload) == 0 {
		f.Payload = []byte("null")
	}
	if !utf8.Valid(f.Payload) || !json.Valid(f.Payload) {
		return Validation(ErrInvalidInput, "frame payload is not valid JSON (send bytes as a binary frame)")
	}
	return nil
}

// StreamFrame is one stored frame.
type StreamFrame struct {
	ID            uint64
	Type          string
	CorrelationID string
	Payload       []byte // JSON unless Binary
	Binary        bool
	Durable       bool
	AtMs          int64
}

// Close reasons of a stream, one per way an attempt ends.
const (
	CloseSuccess     = "attempt_success"
	CloseFailure     = "attempt_failure"
	CloseCancelled   = "attempt_cancelled"
	CloseInterrupted = "attempt_interrupted"
)

// StreamClose derives an attempt's stream close from the attempt: the
// time and reason it ended, or ok false while it may still append
// (running, suspended, delayed).
func StreamClose(a Attempt) (atMs int64, reason string, ok bool) {
	switch a.Lifecycle {
	case AttemptEndedSuccess:
		return a.EndedAtMs, CloseSuccess, true
	case AttemptEndedFailure:
		return a.EndedAtMs, CloseFailure, true
	case AttemptEndedCancelled:
		return a.EndedAtMs, CloseCancelled, true
	case AttemptInterruptedReclaimed:
		return a.EndedAtMs, CloseInterrupted, true
	}
	return 0, "", false
}
