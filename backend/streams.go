package backend

import (
	"context"

	ff "github.com/flowfabric-go/flowfabric"
)

// Streams are per-attempt output frames (a later wave).
type Streams interface {
	AppendFrame(ctx context.Context, h ff.Handle, f Frame) (AppendFrameResult, error)
	ReadStream(ctx context.Context, p ReadStreamParams) (StreamFrames, error)
	ReadSummary(ctx context.Context, id ff.ExecutionID, attempt uint32) ([]byte, error)
}

type Frame struct {
	Kind    string
	Type    string
	Payload []byte
	Mode    string
}

type AppendFrameResult struct {
	StreamID   string
	FrameCount int64
}

type ReadStreamParams struct {
	ExecutionID ff.ExecutionID
	Attempt     uint32
	From, To    string
	Limit       int
}

type StreamFrames struct {
	Frames       []Frame
	ClosedAtMs   int64
	ClosedReason string
}

// UnimplementedStreams answers every stream operation with
// Unavailable. A backend embeds it until it builds the area;
// Capabilities must agree.
type UnimplementedStreams struct{}

func (UnimplementedStreams) AppendFrame(context.Context, ff.Handle, Frame) (AppendFrameResult, error) {
	return AppendFrameResult{}, ff.Unavailable("append_frame")
}
func (UnimplementedStreams) ReadStream(context.Context, ReadStreamParams) (StreamFrames, error) {
	return StreamFrames{}, ff.Unavailable("read_stream")
}
func (UnimplementedStreams) ReadSummary(context.Context, ff.ExecutionID, uint32) ([]byte, error) {
	return nil, ff.Unavailable("read_summary")
}
