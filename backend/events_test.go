package backend_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// memRows is an EventRowReader over rows positioned "1", "2", ...
func memRows(rows []backend.EventRow) backend.EventRowReader {
	for i := range rows {
		rows[i].Pos = strconv.Itoa(i + 1)
	}
	return func(_ context.Context, from backend.EventPosition, _ backend.EventRowFilter, limit int) ([]backend.EventRow, error) {
		start := 0
		if from.Pos != "" {
			n, _ := strconv.Atoi(from.Pos)
			start = n
			if from.Sub >= 0 {
				start = n - 1
			}
		}
		end := min(start+limit, len(rows))
		if start >= end {
			return nil, nil
		}
		return rows[start:end], nil
	}
}

func leaseRow(action string) backend.EventRow {
	return backend.EventRow{Type: "completion", Action: action, Lane: "l", AttemptIndex: 0, AttemptID: "a",
		AttemptType: "initial", LeaseEpoch: 1, LeaseEnd: ff.LeaseReleased, AcquiredAction: ff.LeaseAcquired}
}

func TestReadEventPageWalksInsideRows(t *testing.T) {
	read := memRows([]backend.EventRow{leaseRow("success"), {Type: "operator", Action: "replayed", AttemptIndex: -1}, leaseRow("failed")})
	var got []string
	var cursors []backend.EventCursor
	p := backend.ReadEventsParams{Limit: 1}
	for range 20 {
		page, err := backend.ReadEventPage(t.Context(), p, read)
		require.NoError(t, err)
		if len(page.Events) == 0 {
			break
		}
		got = append(got, string(page.Events[0].Type)+"/"+page.Events[0].Action)
		cursors = append(cursors, page.Next)
		p.After = page.Next
	}
	require.Equal(t, []string{"lease/acquired", "lease/released", "completion/success", "operator/replayed",
		"lease/acquired", "lease/released", "completion/failed"}, got)
	require.Equal(t, []backend.EventCursor{"1/0", "1/1", "1", "2", "3/0", "3/1", "3"}, cursors)
}

// A cursor past a row's last event (not minted, but possible) moves on
// instead of reading the row again forever.
func TestReadEventPageCursorPastARow(t *testing.T) {
	read := memRows([]backend.EventRow{leaseRow("success"), {Type: "operator", Action: "replayed", AttemptIndex: -1}})
	page, err := backend.ReadEventPage(t.Context(), backend.ReadEventsParams{After: "1/2", Limit: 1}, read)
	require.NoError(t, err)
	require.Len(t, page.Events, 1)
	require.Equal(t, "replayed", page.Events[0].Action)
}

// Filters skip events but the cursor moves past them.
func TestReadEventPageFilters(t *testing.T) {
	read := memRows([]backend.EventRow{leaseRow("success"), {Type: "operator", Action: "replayed", AttemptIndex: -1}})
	page, err := backend.ReadEventPage(t.Context(), backend.ReadEventsParams{Types: []ff.EventType{ff.EventCompletion}, Limit: 10}, read)
	require.NoError(t, err)
	require.Len(t, page.Events, 1)
	require.Equal(t, backend.EventCursor("2"), page.Next, "past the operator event filtered out")
	page, err = backend.ReadEventPage(t.Context(), backend.ReadEventsParams{Lane: "other", Limit: 10}, read)
	require.NoError(t, err)
	require.Empty(t, page.Events)
	require.Equal(t, backend.EventCursor("2"), page.Next)
}
