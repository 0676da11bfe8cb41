package ui

import (
	"context"
	"fmt"
	"net/http"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// shownFrames is how many frames of the latest attempt the page shows
// when it loads; the live feed appends the rest.
const shownFrames = 200

// executionData is the detail page of one execution.
type executionData struct {
	Snap       backend.ExecutionSnapshot
	Input      []byte
	Attempts   []ff.Attempt
	Result     []byte
	HasResult  bool
	Summary    *backend.Summary
	Stream     *streamView // nil before the first attempt
	Waitpoints []ff.Waitpoint
	Signals    []ff.Signal
	Unread     []string // parts the backend could not answer (unsupported)
}

// streamView is the latest attempt's stream as the page loads.
type streamView struct {
	Attempt uint32
	Frames  []frameView
	LastID  uint64
	Closed  string // the close reason, "" while open
	Earlier bool   // frames before the shown ones exist
}

// frameView is one frame as shown (and as the live feed sends it).
type frameView struct {
	ID   uint64 `json:"id"`
	Type string `json:"type"`
	At   string `json:"at"`
	Text string `json:"text"`
}

func frameViewOf(f ff.StreamFrame) frameView {
	text := payloadText(f.Payload)
	if f.Binary {
		text = sizeText(len(f.Payload)) + " (binary)"
	}
	return frameView{ID: f.ID, Type: f.Type, At: whenMs(f.AtMs), Text: text}
}

func (d *Dashboard) execution(r *http.Request) (page, error) {
	id, err := ff.ParseExecutionID(r.PathValue("id"))
	if err != nil {
		return page{}, err
	}
	ctx := r.Context()
	snap, err := d.b.DescribeExecution(ctx, backend.DescribeExecutionParams{ExecutionID: id, WithInput: true})
	if err != nil {
		return page{}, err
	}
	data := executionData{Snap: snap, Input: snap.Input}
	if err := d.readExecutionParts(ctx, &data); err != nil {
		return page{}, err
	}
	return page{Template: "execution", Title: "Execution " + id.String(), Data: data}, nil
}

// readExecutionParts reads the attempts and result, then the parts a
// backend may not support (summary, stream, waitpoints, signals): those
// are noted as unread, not failed.
func (d *Dashboard) readExecutionParts(ctx context.Context, data *executionData) error {
	if err := d.readAttemptsAndResult(ctx, data); err != nil {
		return err
	}
	id := data.Snap.ExecutionID
	optional := []struct {
		name string
		read func() error
	}{
		{"summary", func() error { return d.readSummary(ctx, data) }},
		{"stream", func() error { return d.readStream(ctx, data) }},
		{"waitpoints", func() (err error) {
			data.Waitpoints, err = d.b.ListWaitpoints(ctx, backend.ListWaitpointsParams{ExecutionID: id})
			return err
		}},
		{"signals", func() (err error) {
			data.Signals, err = d.b.ListSignals(ctx, backend.ListSignalsParams{ExecutionID: id})
			return err
		}},
	}
	for _, p := range optional {
		err := p.read()
		switch {
		case ff.KindOf(err) == ff.ErrUnavailable:
			data.Unread = append(data.Unread, p.name)
		case err != nil:
			return fmt.Errorf("read %s: %w", p.name, err)
		}
	}
	return nil
}

func (d *Dashboard) readAttemptsAndResult(ctx context.Context, data *executionData) error {
	id := data.Snap.ExecutionID
	var err error
	if data.Attempts, err = d.b.ListAttempts(ctx, backend.ListAttemptsParams{ExecutionID: id}); err != nil {
		return fmt.Errorf("list attempts: %w", err)
	}
	if data.Snap.PublicState != ff.PublicCompleted {
		return nil
	}
	if data.Result, err = d.b.GetExecutionResult(ctx, backend.GetExecutionResultParams{ExecutionID: id}); err != nil {
		return fmt.Errorf("read result: %w", err)
	}
	data.HasResult = true
	return nil
}

func (d *Dashboard) readSummary(ctx context.Context, data *executionData) error {
	if data.Snap.AttemptCount == 0 {
		return nil
	}
	sum, err := d.b.ReadSummary(ctx, backend.ReadSummaryParams{ExecutionID: data.Snap.ExecutionID})
	if err != nil {
		return err
	}
	if sum.Version > 0 {
		data.Summary = &sum
	}
	return nil
}

// readStream reads the last frames of the latest attempt: its last frame
// id first, then the page ending there.
func (d *Dashboard) readStream(ctx context.Context, data *executionData) error {
	if data.Snap.AttemptCount == 0 {
		return nil
	}
	ref := backend.StreamRef{ExecutionID: data.Snap.ExecutionID, Attempt: data.Snap.AttemptCount - 1}
	head, err := d.b.ReadStream(ctx, backend.ReadStreamParams{StreamRef: ref, Limit: 1})
	if err != nil {
		return err
	}
	from := head.LastFrameID - min(head.LastFrameID, shownFrames)
	page, err := d.b.ReadStream(ctx, backend.ReadStreamParams{StreamRef: ref, After: from, Limit: shownFrames})
	if err != nil {
		return err
	}
	sv := &streamView{Attempt: ref.Attempt, LastID: from, Earlier: from > 0}
	for _, f := range page.Frames {
		sv.Frames = append(sv.Frames, frameViewOf(f))
		sv.LastID = f.ID
	}
	if page.Closed {
		sv.Closed = page.ClosedReason
	}
	data.Stream = sv
	return nil
}
