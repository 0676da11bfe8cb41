package backend

import (
	"context"
	"time"

	ff "github.com/flowfabric-go/flowfabric"
)

// Streams are per-attempt output frames (a later wave; the types below
// are placeholders its team will redesign). An unknown execution or
// attempt is not_found.
type Streams interface {
	// AppendFrame appends a frame under the lease; each call appends.
	AppendFrame(ctx context.Context, p AppendFrameParams) (AppendFrameResult, error)
	// ReadStream reads frames of one attempt; repeating it is safe.
	ReadStream(ctx context.Context, p ReadStreamParams) (StreamFrames, error)
	// ReadSummary returns an attempt's summary document.
	ReadSummary(ctx context.Context, p ReadSummaryParams) ([]byte, error)
}

// AppendFrameParams is the input of AppendFrame.
type AppendFrameParams struct {
	Handle ff.Handle
	Frame  Frame
}

// Frame is one output frame.
type Frame struct {
	Kind    string
	Type    string
	Payload []byte
	Mode    string
}

// AppendFrameResult is the result of AppendFrame.
type AppendFrameResult struct {
	StreamID   string
	FrameCount int64
}

// ReadStreamParams is the input of ReadStream.
type ReadStreamParams struct {
	ExecutionID ff.ExecutionID
	Attempt     uint32
	From, To    string
	Limit       int
}

// StreamFrames is a page of frames.
type StreamFrames struct {
	Frames       []Frame
	ClosedAt     time.Time // zero while the stream is open
	ClosedReason string
}

// ReadSummaryParams is the input of ReadSummary.
type ReadSummaryParams struct {
	ExecutionID ff.ExecutionID
	Attempt     uint32
}

// UnimplementedStreams answers every stream operation with Unavailable. A
// backend embeds it until it builds the area; Capabilities must agree.
type UnimplementedStreams struct{}

func (UnimplementedStreams) AppendFrame(context.Context, AppendFrameParams) (AppendFrameResult, error) {
	return AppendFrameResult{}, ff.Unavailable("append_frame")
}

func (UnimplementedStreams) ReadStream(context.Context, ReadStreamParams) (StreamFrames, error) {
	return StreamFrames{}, ff.Unavailable("read_stream")
}

func (UnimplementedStreams) ReadSummary(context.Context, ReadSummaryParams) ([]byte, error) {
	return nil, ff.Unavailable("read_summary")
}
