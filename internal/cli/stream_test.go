package cli

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/fftest"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

func TestExecTailAndSummary(t *testing.T) {
	e := fftest.New(t, fftest.WithHTTP())
	b, ctx := e.Backend(), e.Context()
	srv := []string{"--server", e.URL()}
	run := func(args ...string) string {
		t.Helper()
		out, errOut, code := runMain(t, nil, append(args, srv...)...)
		require.Zero(t, code, "%v: %s", args, errOut)
		return out
	}
	id := e.Create(backend.CreateExecutionParams{Kind: "llm", Lane: "default"})
	tasks, err := b.Claim(ctx, backend.ClaimParams{WorkerID: "w", Lanes: []string{"default"}, Max: 1})
	require.NoError(t, err)
	h := tasks[0].Handle
	_, err = b.AppendFrames(ctx, backend.AppendFramesParams{Handle: h, Frames: []ff.FrameInput{
		{Type: "token", Payload: []byte(`{"t":"hi"}`), Durable: true},
		{Type: "stdout", Payload: []byte("line\n"), Binary: true},
		{Type: "blob", Payload: []byte{0xff, 0}, Binary: true},
	}})
	require.NoError(t, err)

	require.Equal(t, "1\ttoken\t{\"t\":\"hi\"}\n2\tstdout\tline\n3\tblob\tbase64:\"/wA=\"\n", run("exec", "tail", id.String()))
	out := run("exec", "tail", id.String(), "--after", "2", "--json")
	var f wire.Frame
	require.NoError(t, json.Unmarshal([]byte(out), &f))
	require.Equal(t, uint64(3), f.ID)
	require.Equal(t, "attempt 0: no summary\n", run("exec", "summary", id.String()))

	// --follow prints what comes, then the close, and returns.
	done := make(chan string, 1)
	go func() {
		out, errOut, code := runMain(t, nil, append([]string{"exec", "tail", id.String(), "--follow", "--after", "3", "--json"}, srv...)...)
		if code != 0 {
			out = errOut
		}
		done <- out
	}()
	_, err = b.AppendFrames(ctx, backend.AppendFramesParams{Handle: h, Frames: []ff.FrameInput{{Payload: []byte(`4`), Durable: true}}})
	require.NoError(t, err)
	_, err = b.PatchSummary(ctx, backend.PatchSummaryParams{Handle: h, Patch: []byte(`{"tokens":4}`)})
	require.NoError(t, err)
	require.NoError(t, b.Complete(ctx, backend.CompleteParams{Handle: h}))
	var followed string
	select {
	case followed = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("tail --follow did not return after the attempt ended")
	}
	lines := strings.Split(strings.TrimSpace(followed), "\n")
	require.Len(t, lines, 2, followed)
	require.JSONEq(t, `{"id":4,"type":"data","payload":4,"durable":true,"at_ms":`+jsonInt(e.Now().UnixMilli())+`}`, lines[0])
	require.Contains(t, lines[1], `"closed_reason":"attempt_success"`)

	require.Contains(t, run("exec", "tail", id.String(), "--attempt", "0"), "-- closed: attempt_success")
	var sum wire.AttemptSummary
	require.NoError(t, json.Unmarshal([]byte(run("exec", "summary", id.String(), "--json")), &sum))
	require.JSONEq(t, `{"tokens":4}`, string(sum.Summary))

	_, errOut, code := runMain(t, nil, append([]string{"exec", "tail", id.String(), "--attempt", "3"}, srv...)...)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "not_found")
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }
