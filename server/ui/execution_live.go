package ui

import (
	"context"
	"net/http"
	"strconv"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

// executionLive follows one execution for its page: "state" when its
// state changed, "frames" as its attempt's stream grows (after the frame
// id the page already shows), "closed" when the stream ends, "summary"
// when the summary changed and "attempt" once a later attempt started.
func (d *Dashboard) executionLive(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := &executionFollower{d: d, id: id}
	if f.attempt, f.after, err = streamPosition(q.Get("attempt"), q.Get("after")); err != nil {
		return err
	}
	if _, err := d.b.ReadExecutionState(r.Context(), backend.ReadExecutionStateParams{ExecutionID: id}); err != nil {
		return err
	}
	ctx := r.Context()
	var wake <-chan struct{}
	if f.attempt != nil {
		ch, stop := d.b.SubscribeStream(ctx, backend.StreamRef{ExecutionID: id, Attempt: *f.attempt})
		defer stop()
		wake = ch
	}
	f.s = startSSE(w, d.write)
	d.follow(ctx, f.s, wake, livePoll, f.step)
	return nil
}

// streamPosition parses the attempt (absent: no stream to follow) and
// the frame id the page shows up to.
func streamPosition(attempt, after string) (*uint32, uint64, error) {
	if attempt == "" {
		return nil, 0, nil
	}
	n, err := strconv.ParseUint(attempt, 10, 32)
	if err != nil {
		return nil, 0, ff.Validation(ff.ErrInvalidInput, "attempt %q: want an attempt index", ff.CutText(attempt, 32))
	}
	a := uint32(n)
	var from uint64
	if after != "" {
		if from, err = strconv.ParseUint(after, 10, 63); err != nil {
			return nil, 0, ff.Validation(ff.ErrInvalidInput, "after %q: not a frame id", ff.CutText(after, 32))
		}
	}
	return &a, from, nil
}

// executionFollower is one live connection's position.
type executionFollower struct {
	d         *Dashboard
	s         *sse
	id        ff.ExecutionID
	attempt   *uint32
	after     uint64
	closed    bool
	toldNewer bool
	state     []byte
	summary   int64
}

// stateView is the live part of the page; its keys are the data-k
// names of the elements showing them.
type stateView struct {
	wire.StateVector
	AttemptCount uint32 `json:"attempt_count"`
	Priority     int32  `json:"priority"`
	Progress     string `json:"progress"`
	Updated      string `json:"updated"`
}

func stateViewOf(s backend.ExecutionSnapshot) stateView {
	return stateView{StateVector: wire.StateVector(s.StateVector), AttemptCount: s.AttemptCount, Priority: s.Priority,
		Progress: progressText(s), Updated: when(s.UpdatedAt)}
}

func (f *executionFollower) step(ctx context.Context) error {
	snap, err := f.d.b.DescribeExecution(ctx, backend.DescribeExecutionParams{ExecutionID: f.id})
	if err != nil {
		return err
	}
	if err := f.s.sendChanged("state", stateViewOf(snap), &f.state); err != nil {
		return err
	}
	if err := f.newerAttempt(snap.AttemptCount); err != nil || f.attempt == nil {
		return err
	}
	if err := f.frames(ctx); err != nil {
		return err
	}
	return f.summaryChanged(ctx)
}

// newerAttempt tells the page, once, that an attempt later than the one
// it follows started (the page follows the attempt it loaded with).
func (f *executionFollower) newerAttempt(count uint32) error {
	if f.toldNewer || count == 0 || (f.attempt != nil && count-1 <= *f.attempt) {
		return nil
	}
	f.toldNewer = true
	return f.s.send("attempt", map[string]uint32{"attempt": count - 1})
}

// frames sends the frames after the follower's position, and the close.
func (f *executionFollower) frames(ctx context.Context) error {
	if f.closed {
		return nil
	}
	ref := backend.StreamRef{ExecutionID: f.id, Attempt: *f.attempt}
	page, err := f.d.b.ReadStream(ctx, backend.ReadStreamParams{StreamRef: ref, After: f.after})
	if err != nil {
		return err
	}
	if len(page.Frames) > 0 {
		out := make([]frameView, len(page.Frames))
		for i, fr := range page.Frames {
			out[i] = frameViewOf(fr)
		}
		if err := f.s.send("frames", out); err != nil {
			return err
		}
		f.after = page.Frames[len(page.Frames)-1].ID
	}
	if page.Closed {
		f.closed = true
		return f.s.send("closed", map[string]string{"reason": page.ClosedReason, "at": whenMs(page.ClosedAtMs)})
	}
	return nil
}

func (f *executionFollower) summaryChanged(ctx context.Context) error {
	sum, err := f.d.b.ReadSummary(ctx, backend.ReadSummaryParams{ExecutionID: f.id, Attempt: f.attempt})
	if err != nil || sum.Version == f.summary {
		return err
	}
	f.summary = sum.Version
	return f.s.send("summary", map[string]any{"version": sum.Version, "text": payloadText(sum.Document), "updated": whenMs(sum.UpdatedAtMs)})
}

// progressText is the progress as shown.
func progressText(s backend.ExecutionSnapshot) string {
	if s.ProgressPct == nil && s.ProgressMessage == "" {
		return "–"
	}
	out := s.ProgressMessage
	if s.ProgressPct != nil {
		out = strconv.Itoa(*s.ProgressPct) + "% " + out
	}
	return out
}
