package main

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/backend/sqlite"
	"github.com/flowfabric-go/flowfabric/client"
	"github.com/flowfabric-go/flowfabric/server"
)

// TestQuickstart walks the README: a server on SQLite, this worker, a
// submitted greet, its result; then Ctrl-C (a cancelled context).
func TestQuickstart(t *testing.T) {
	b, err := sqlite.Open(t.Context(), sqlite.Options{Path: filepath.Join(t.TempDir(), "ff.db"), AutoMigrate: true})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, b.Close()) })
	quiet := slog.New(slog.DiscardHandler)
	srv := httptest.NewServer(server.New(server.Config{Logger: quiet}, b))
	t.Cleanup(srv.Close)

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- run(ctx, srv.URL, "", quiet) }()

	c := client.New(srv.URL)
	ada, err := c.CreateExecution(t.Context(), backend.CreateExecutionParams{Kind: "greet", Input: []byte(`{"name":"ada"}`)})
	require.NoError(t, err)
	nameless, err := c.CreateExecution(t.Context(), backend.CreateExecutionParams{Kind: "greet", Input: []byte(`{}`)})
	require.NoError(t, err)

	require.Eventually(t, func() bool {
		st, err := c.ReadExecutionState(t.Context(), backend.ReadExecutionStateParams{ExecutionID: nameless.ExecutionID})
		return err == nil && st == ff.PublicFailed
	}, 20*time.Second, 5*time.Millisecond)
	require.Eventually(t, func() bool {
		st, err := c.ReadExecutionState(t.Context(), backend.ReadExecutionStateParams{ExecutionID: ada.ExecutionID})
		return err == nil && st == ff.PublicCompleted
	}, 20*time.Second, 5*time.Millisecond)
	res, err := c.GetExecutionResult(t.Context(), backend.GetExecutionResultParams{ExecutionID: ada.ExecutionID})
	require.NoError(t, err)
	require.JSONEq(t, `{"greeting":"hello, ada"}`, string(res))

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(20 * time.Second):
		t.Fatal("the worker did not stop after Ctrl-C")
	}
}
