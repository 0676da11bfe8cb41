package ui_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/internal/uitest"
)

// seeded is what seed wrote: one execution per interesting state.
type seeded struct {
	waiting, active, completed, failed ff.ExecutionID
}

// seed writes executions on three lanes: mail (waiting, active with a
// stream and a summary, completed with a result, failed), reports (one
// waiting) and billing (three waiting, one delayed).
func seed(t *testing.T, b backend.Backend) seeded {
	t.Helper()
	ctx := context.Background()
	mk := func(lane, kind string, tags map[string]string) ff.ExecutionID {
		return uitest.Create(t, b, backend.CreateExecutionParams{Lane: lane, Kind: kind, Tags: tags,
			Input: []byte(`{"to":"ada@example.com","n":1}`)})
	}
	var s seeded
	s.completed = mk("mail", "email.send", map[string]string{"acme.team": "growth"})
	uitest.Complete(t, b, uitest.Claim(t, b, "mail"), []byte(`{"delivered":true}`))
	s.failed = mk("mail", "email.bounce", nil)
	uitest.FailPermanently(t, b, uitest.Claim(t, b, "mail"), "mailbox full")
	s.active = mk("mail", "email.digest", map[string]string{"acme.team": "ops"})
	task := uitest.Claim(t, b, "mail")
	_, err := b.AppendFrames(ctx, backend.AppendFramesParams{Handle: task.Handle, Frames: []ff.FrameInput{
		{Type: "log", Payload: []byte(`"rendering digest"`)}, {Type: "log", Payload: []byte(`"sent 3 of 10"`)}}})
	require.NoError(t, err)
	_, err = b.PatchSummary(ctx, backend.PatchSummaryParams{Handle: task.Handle, Patch: []byte(`{"sent":3}`)})
	require.NoError(t, err)
	s.waiting = mk("mail", "email.send", nil)
	mk("reports", "report.build", nil)
	for range 3 {
		mk("billing", "invoice.render", nil)
	}
	uitest.Create(t, b, backend.CreateExecutionParams{Lane: "billing", Kind: "invoice.remind", DelayUntil: time.Now().Add(time.Hour)})
	require.Equal(t, ff.PublicFailed, uitest.Describe(t, b, s.failed).PublicState)
	return s
}
