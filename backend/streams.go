package backend

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	ff "github.com/flowfabric-go/flowfabric"
)

// Streams are per-attempt output frames and a summary document (the
// rules are in package flowfabric, stream.go). An unknown execution is
// not_found (entity "execution"), an attempt it never started not_found
// (entity "attempt").
type Streams interface {
	// AppendFrames appends a batch of frames under the lease, in one
	// transaction: all or none. Fenced like every lease-bound write (an
	// ended attempt's handle fails with the fence's error, all 409s). A
	// frame over the size cap is payload_too_large; a batch that would
	// take the attempt past its frame cap is stream_limit_exceeded.
	AppendFrames(ctx context.Context, p AppendFramesParams) (AppendFramesResult, error)
	// ReadStream reads frames after p.After, in id order, and the
	// stream's close, derived from the attempt's end. The close is
	// reported only on a page that reaches the end of the stream.
	ReadStream(ctx context.Context, p ReadStreamParams) (StreamPage, error)
	// PatchSummary applies a JSON Merge Patch to the attempt's summary
	// under the lease and returns the new document.
	PatchSummary(ctx context.Context, p PatchSummaryParams) (Summary, error)
	// ReadSummary returns an attempt's summary (Document nil when none
	// was written).
	ReadSummary(ctx context.Context, p ReadSummaryParams) (Summary, error)
	// SubscribeStream returns a channel that receives (coalesced) after a
	// commit that appended to the stream, and a function that ends the
	// subscription (so does ctx; the channel is then closed). Wake-ups
	// are hints, as SubscribeWork's are; an attempt's end wakes nobody,
	// so a follower also polls.
	SubscribeStream(ctx context.Context, p StreamRef) (<-chan struct{}, func())
	// SweepStreams deletes the frames of up to p.Limit streams whose
	// attempt ended more than p.Retention ago, and returns how many
	// streams it emptied. Their summaries stay.
	SweepStreams(ctx context.Context, p SweepStreamsParams) (int, error)
}

// StreamRef names one attempt's stream.
type StreamRef struct {
	ExecutionID ff.ExecutionID
	Attempt     uint32
}

// WakeKey is the wake-up key of the stream in a store's wake-up hub
// (and a Postgres notification's payload); it cannot collide with a lane
// name, since lanes refuse control characters.
func (r StreamRef) WakeKey() string {
	return "\x1fstream\x1f" + r.ExecutionID.String() + "\x1f" + strconv.FormatUint(uint64(r.Attempt), 10)
}

// AppendFramesParams is the input of AppendFrames.
type AppendFramesParams struct {
	Handle ff.Handle
	Frames []ff.FrameInput
}

// Normalize validates p against the store's limits and applies the
// frames' defaults.
func (p *AppendFramesParams) Normalize(l ff.StreamLimits) error {
	if len(p.Frames) == 0 {
		return ff.Validation(ff.ErrInvalidInput, "frames: at least one frame")
	}
	if len(p.Frames) > ff.MaxFramesPerAppend {
		return ff.Validation(ff.ErrInvalidInput, "frames: %d in one append, at most %d", len(p.Frames), ff.MaxFramesPerAppend)
	}
	if int64(len(p.Frames)) > l.MaxFramesPerAttempt {
		return ff.Validation(ff.ErrStreamLimit, "frames: %d in one append, the stream holds at most %d", len(p.Frames), l.MaxFramesPerAttempt)
	}
	for i := range p.Frames {
		if err := p.Frames[i].Normalize(l); err != nil {
			return ff.Validation(ff.KindOf(err), "frame %d: %v", i, err)
		}
	}
	return nil
}

// Durable reports whether the batch must commit durably: when any of its
// frames is durable (a batch commits as one).
func (p *AppendFramesParams) Durable() bool {
	for _, f := range p.Frames {
		if f.Durable {
			return true
		}
	}
	return false
}

// AppendFramesResult is the id of the batch's last frame and the frames
// the attempt holds in all.
type AppendFramesResult struct {
	LastFrameID uint64
	FrameCount  int64
}

// Read bounds.
const (
	DefaultStreamReadLimit = 100
	MaxStreamReadLimit     = 1000
)

// ReadStreamParams is the input of ReadStream. After is exclusive: 0
// reads from the first frame.
type ReadStreamParams struct {
	StreamRef
	After uint64
	Limit int // 0 = DefaultStreamReadLimit; at most MaxStreamReadLimit
}

// Normalize validates p and applies defaults.
func (p *ReadStreamParams) Normalize() error {
	if p.Limit == 0 {
		p.Limit = DefaultStreamReadLimit
	}
	if p.Limit < 1 || p.Limit > MaxStreamReadLimit {
		return ff.Validation(ff.ErrInvalidInput, "limit %d outside [1, %d]", p.Limit, MaxStreamReadLimit)
	}
	return nil
}

// StreamPage is a page of frames and the stream's state. LastFrameID is
// the attempt's last frame id (0 before any). Closed is set once the
// attempt ended and the page reached the end of the stream.
type StreamPage struct {
	Frames       []ff.StreamFrame
	LastFrameID  uint64
	Closed       bool
	ClosedAtMs   int64
	ClosedReason string
}

// CheckAfter refuses an After that is not a frame id of the stream
// (above its last frame, as after a crash lost best-effort frames).
func CheckAfter(after, last uint64) error {
	if after > last {
		return ff.Validation(ff.ErrInvalidInput, "after %d is not a frame id of this stream (its last frame is %d)", after, last)
	}
	return nil
}

// FinishStreamPage applies the checks every store shares to a page read in one
// snapshot: the execution and attempt exist, After is a frame id, and the
// close is reported only on a page that reached the end.
func FinishStreamPage(page StreamPage, att ff.Attempt, seen bool, attemptCount int32, p ReadStreamParams) (StreamPage, error) {
	switch {
	case !seen:
		return StreamPage{}, ff.NotFound("execution", "%s", p.ExecutionID)
	case int64(p.Attempt) >= int64(attemptCount):
		return StreamPage{}, ff.NotFound("attempt", "%d of execution %s", p.Attempt, p.ExecutionID)
	}
	if err := CheckAfter(p.After, page.LastFrameID); err != nil {
		return StreamPage{}, err
	}
	if page.Frames == nil {
		page.Frames = []ff.StreamFrame{}
	}
	if at, reason, ok := ff.StreamClose(att); ok && len(page.Frames) < p.Limit {
		page.Closed, page.ClosedAtMs, page.ClosedReason = true, at, reason
	}
	return page, nil
}

// SummaryOf builds ReadSummary's answer, shared by the stores.
func SummaryOf(p ReadSummaryParams, attemptCount uint32, doc []byte, version, updated *int64) (Summary, error) {
	if attemptCount == 0 && p.Attempt == nil {
		return Summary{}, ff.NotFound("attempt", "of execution %s (none started yet)", p.ExecutionID)
	}
	idx := attemptCount - 1
	if p.Attempt != nil {
		idx = *p.Attempt
	}
	if idx >= attemptCount {
		return Summary{}, ff.NotFound("attempt", "%d of execution %s", idx, p.ExecutionID)
	}
	s := Summary{ExecutionID: p.ExecutionID, AttemptIndex: idx}
	if version != nil && *version > 0 {
		s.Document, s.Version, s.UpdatedAtMs = doc, *version, *updated
	}
	return s, nil
}

// PatchSummaryParams is the input of PatchSummary.
type PatchSummaryParams struct {
	Handle ff.Handle
	Patch  json.RawMessage
}

// Normalize validates p: the patch must be a JSON object of bounded size.
func (p *PatchSummaryParams) Normalize(l ff.StreamLimits) error {
	if len(p.Patch) > l.MaxSummaryBytes {
		return ff.Validation(ff.ErrPayloadTooLarge, "summary patch: %d bytes, at most %d", len(p.Patch), l.MaxSummaryBytes)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(p.Patch, &obj); err != nil || obj == nil {
		return ff.Validation(ff.ErrInvalidInput, "summary patch must be a JSON object (RFC 7386 merge patch)")
	}
	return nil
}

// ApplySummaryPatch merges patch into doc and checks the result's size.
func ApplySummaryPatch(doc, patch []byte, l ff.StreamLimits) ([]byte, error) {
	out, err := ff.MergePatch(doc, patch)
	if err != nil {
		return nil, err
	}
	if len(out) > l.MaxSummaryBytes {
		return nil, ff.Validation(ff.ErrPayloadTooLarge, "summary: %d bytes after the patch, at most %d", len(out), l.MaxSummaryBytes)
	}
	return out, nil
}

// ReadSummaryParams is the input of ReadSummary; Attempt nil means the
// execution's latest attempt.
type ReadSummaryParams struct {
	ExecutionID ff.ExecutionID
	Attempt     *uint32
}

// Summary is an attempt's summary document; Version counts the patches
// applied (0 and Document nil before the first).
type Summary struct {
	ExecutionID  ff.ExecutionID
	AttemptIndex uint32
	Document     json.RawMessage
	Version      int64
	UpdatedAtMs  int64
}

// SweepStreamsParams is the input of SweepStreams.
type SweepStreamsParams struct {
	Retention time.Duration // 0 = DefaultStreamRetention
	Limit     int           // as SweepParams
}

// DefaultStreamRetention is how long frames of an ended attempt are kept.
const DefaultStreamRetention = 7 * 24 * time.Hour

// Normalize validates p and applies defaults.
func (p *SweepStreamsParams) Normalize() error {
	if p.Retention == 0 {
		p.Retention = DefaultStreamRetention
	}
	if p.Retention < 0 {
		return ff.Validation(ff.ErrInvalidInput, "stream retention %v is negative", p.Retention)
	}
	sp := SweepParams{Limit: p.Limit}
	if err := sp.Normalize(); err != nil {
		return err
	}
	p.Limit = sp.Limit
	return nil
}

// UnimplementedStreams answers every stream operation with Unavailable. A
// backend embeds it until it builds the area; Capabilities must agree.
type UnimplementedStreams struct{}

func (UnimplementedStreams) AppendFrames(context.Context, AppendFramesParams) (AppendFramesResult, error) {
	return AppendFramesResult{}, ff.Unavailable("append_frames")
}

func (UnimplementedStreams) ReadStream(context.Context, ReadStreamParams) (StreamPage, error) {
	return StreamPage{}, ff.Unavailable("read_stream")
}

func (UnimplementedStreams) PatchSummary(context.Context, PatchSummaryParams) (Summary, error) {
	return Summary{}, ff.Unavailable("patch_summary")
}

func (UnimplementedStreams) ReadSummary(context.Context, ReadSummaryParams) (Summary, error) {
	return Summary{}, ff.Unavailable("read_summary")
}

// SubscribeStream returns a channel that is closed at once.
func (UnimplementedStreams) SubscribeStream(context.Context, StreamRef) (<-chan struct{}, func()) {
	ch := make(chan struct{})
	close(ch)
	return ch, func() {}
}

func (UnimplementedStreams) SweepStreams(context.Context, SweepStreamsParams) (int, error) {
	return 0, ff.Unavailable("sweep_streams")
}
