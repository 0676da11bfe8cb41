// Command quickstart is the smallest FlowFabric worker: it connects to a
// FlowFabric server over HTTP and answers executions of kind "greet" on
// lane "default" until interrupted. See README.md for the walk-through.
//
// Environment: FF_SERVER_URL (default http://127.0.0.1:8080) and, when the
// server requires it, FF_API_TOKEN.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/flowfabric-go/flowfabric/client"
	"github.com/flowfabric-go/flowfabric/worker"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	url := os.Getenv("FF_SERVER_URL")
	if url == "" {
		url = "http://127.0.0.1:8080"
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(ctx, url, os.Getenv("FF_API_TOKEN"), log); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

// greetInput is the execution's input: {"name": "ada"}.
type greetInput struct {
	Name string `json:"name"`
}

// greeting is the execution's result: {"greeting": "hello, ada"}.
type greeting struct {
	Greeting string `json:"greeting"`
}

// greet handles one "greet" execution. A missing name cannot be fixed by
// retrying, so it fails permanently.
func greet(_ context.Context, _ *worker.Task, in greetInput) (greeting, error) {
	if in.Name == "" {
		return greeting{}, worker.Permanent(errors.New(`input needs a "name"`))
	}
	return greeting{Greeting: "hello, " + in.Name}, nil
}

// run serves "greet" executions from the server at url until ctx ends,
// then finishes the running ones and returns.
func run(ctx context.Context, url, token string, log *slog.Logger) error {
	opts := []client.Option{client.WithClaimWait(5 * time.Second)} // long-poll: no busy polling when idle
	if token != "" {
		opts = append(opts, client.WithToken(token))
	}
	w, err := worker.New(client.New(url, opts...), worker.Config{
		WorkerID: "quickstart",
		Lanes:    []string{"default"},
		Logger:   log,
	})
	if err != nil {
		return err
	}
	w.Register("greet", worker.Typed(greet))
	log.Info("quickstart: waiting for greet executions; press Ctrl-C to stop", "server", url)
	return w.Run(ctx)
}
