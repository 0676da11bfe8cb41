package main

import (
	"context"
	"log/slog"
	"testing"
	"time"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/fftest"
)

// TestQuickstart walks the README: a server (here an fftest engine
// serving the API), this worker over HTTP, a submitted greet, its result;
// then Ctrl-C (a cancelled context).
func TestQuickstart(t *testing.T) {
	e := fftest.New(t, fftest.WithHTTP())
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- run(ctx, e.URL(), "", slog.New(slog.DiscardHandler)) }()

	c := e.Client()
	ada, err := c.CreateExecution(t.Context(), backend.CreateExecutionParams{Kind: "greet", Input: []byte(`{"name":"ada"}`)})
	if err != nil {
		t.Fatal(err)
	}
	nameless, err := c.CreateExecution(t.Context(), backend.CreateExecutionParams{Kind: "greet", Input: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	e.WaitFor(fftest.Ended(ada.ExecutionID, nameless.ExecutionID), fftest.Timeout(20*time.Second))
	fftest.RequireCompleted(t, c, ada.ExecutionID, `{"greeting":"hello, ada"}`)
	fftest.RequireFailed(t, c, nameless.ExecutionID, ff.FailurePermanent)

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the worker did not stop after Ctrl-C")
	}
}
