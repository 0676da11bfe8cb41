package server_test

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// sseEvent is one parsed Server-Sent Event.
type sseEvent struct{ id, event, data string }

// sseWait bounds the wait for one event. On Postgres a read waits for
// every older running transaction of the whole server (other tests' too)
// to end.
const sseWait = 45 * time.Second

// openSSE starts GET path as an event stream and returns its events as
// they arrive, comments skipped; the channel closes when the stream ends.
// Cancel ctx to disconnect.
func (e *env) openSSE(ctx context.Context, path, lastID string) <-chan sseEvent {
	e.t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	e.t.Cleanup(cancel) // before the server closes, even when the test fails
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.ts.URL+path, nil)
	require.NoError(e.t, err)
	req.Header.Set("Accept", "text/event-stream")
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := e.ts.Client().Do(req)
	require.NoError(e.t, err)
	require.Equal(e.t, http.StatusOK, resp.StatusCode)
	require.Equal(e.t, "text/event-stream", resp.Header.Get("Content-Type"))
	out := make(chan sseEvent, 64)
	go func() {
		defer resp.Body.Close()
		defer close(out)
		readSSE(bufio.NewScanner(resp.Body), out)
	}()
	return out
}

// readSSE sends each event of sc to out, until sc ends.
func readSSE(sc *bufio.Scanner, out chan<- sseEvent) {
	var ev sseEvent
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if ev != (sseEvent{}) {
				out <- ev
			}
			ev = sseEvent{}
		case strings.HasPrefix(line, "id: "):
			ev.id = line[4:]
		case strings.HasPrefix(line, "event: "):
			ev.event = line[7:]
		case strings.HasPrefix(line, "data: "):
			ev.data = line[6:]
		}
	}
}

// next returns the next event of ch.
func next(t *testing.T, ch <-chan sseEvent) sseEvent {
	t.Helper()
	select {
	case ev, ok := <-ch:
		require.True(t, ok, "the stream ended")
		return ev
	case <-time.After(sseWait):
		t.Fatalf("no event within %s", sseWait)
	}
	return sseEvent{}
}

// streamEnds requires the server to end the stream ch with no more
// events.
func streamEnds(t *testing.T, ch <-chan sseEvent, msg string) {
	t.Helper()
	select {
	case ev, ok := <-ch:
		require.False(t, ok, "%s: got %+v", msg, ev)
	case <-time.After(sseWait):
		t.Fatalf("%s: still open after %s", msg, sseWait)
	}
}
