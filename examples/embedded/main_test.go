package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/client"
	"github.com/flowfabric-go/flowfabric/ffserver"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestEmbedded runs the program: a signup on its own route enqueues a
// welcome e-mail that the in-process worker sends; the FlowFabric API is
// served by the same mux; on Ctrl-C (a cancelled context) the program
// drains, so the e-mail's completion is in the database it closed.
func TestEmbedded(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	db := filepath.Join(t.TempDir(), "embedded.db")
	out, mail := io.Pipe()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, ln, db, mail, slog.New(slog.DiscardHandler))
		mail.Close()
	}()
	base := "http://" + ln.Addr().String()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}

	id := postSignup(t, hc, base, "ada@example.com")
	lines := bufio.NewScanner(out)
	require.True(t, lines.Scan(), "the worker sends the e-mail")
	require.Equal(t, "welcome sent to ada@example.com", lines.Text())
	go func() { _, _ = io.Copy(io.Discard, out) }()
	require.Equal(t, id, postSignup(t, hc, base, "ada@example.com"), "one e-mail per address")

	api := client.New(base+"/flowfabric", client.WithHTTPClient(hc))
	require.NoError(t, api.Healthz(t.Context()), "the FlowFabric API on the program's mux")
	snap, err := api.DescribeExecution(t.Context(), backend.DescribeExecutionParams{ExecutionID: id})
	require.NoError(t, err)
	require.Equal(t, "welcome.send", snap.Kind)

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("the program did not stop")
	}
	requireSent(t, db, id, "ada@example.com")
}

func postSignup(t *testing.T, hc *http.Client, base, email string) ff.ExecutionID {
	t.Helper()
	resp, err := hc.Post(base+"/signup", "application/json", strings.NewReader(`{"email":"`+email+`"}`))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	var body struct {
		ExecutionID string `json:"execution_id"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	id, err := ff.ParseExecutionID(body.ExecutionID)
	require.NoError(t, err)
	return id
}

// requireSent reopens the program's database: the worker's completion
// was written before the program closed it.
func requireSent(t *testing.T, db string, id ff.ExecutionID, email string) {
	t.Helper()
	srv, err := ffserver.Open(t.Context(), ffserver.Config{DatabaseURL: db, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	defer srv.Close()
	res, err := srv.Backend().GetExecutionResult(t.Context(), backend.GetExecutionResultParams{ExecutionID: id})
	require.NoError(t, err)
	require.JSONEq(t, `{"sent_to":"`+email+`"}`, string(res))
}
