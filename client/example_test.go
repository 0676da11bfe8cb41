package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/client"
	"github.com/flowfabric-go/flowfabric/ffserver"
	"github.com/flowfabric-go/flowfabric/worker"
)

// startServer stands in for `flowfabric server`: the engine on a
// temporary SQLite file, its API served by httptest. It returns the base
// URL a client is given, and a function that stops it all.
func startServer() (string, func()) {
	dir, err := os.MkdirTemp("", "client-example")
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	srv, err := ffserver.Open(ctx, ffserver.Config{DatabaseURL: filepath.Join(dir, "ff.db"), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		log.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	if err := srv.Start(ctx); err != nil {
		log.Fatal(err)
	}
	return hs.URL, func() {
		hs.Close()
		_ = srv.Stop(ctx)
		_ = srv.Close()
		_ = os.RemoveAll(dir)
	}
}

// Submit an execution over HTTP and read it back. The idempotency key
// makes a repeated submit (a retry after a lost reply) return the same
// execution instead of a second one.
func Example() {
	url, stop := startServer()
	defer stop()
	ctx := context.Background()

	c := client.New(url) // client.WithToken(...) when the server requires a bearer token
	p := backend.CreateExecutionParams{
		Lane: "emails", Kind: "welcome.send",
		Input:          []byte(`{"email":"ada@example.com"}`),
		IdempotencyKey: "welcome:ada@example.com",
	}
	first, err := c.CreateExecution(ctx, p)
	if err != nil {
		log.Fatal(err)
	}
	again, err := c.CreateExecution(ctx, p)
	if err != nil {
		log.Fatal(err)
	}
	snap, err := c.DescribeExecution(ctx, backend.DescribeExecutionParams{ExecutionID: first.ExecutionID})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("state:", first.PublicState)
	fmt.Println("repeat is a duplicate of the same execution:", again.Duplicate && again.ExecutionID == first.ExecutionID)
	fmt.Println("kind:", snap.Kind, "lane:", snap.Lane)
	// Output:
	// state: waiting
	// repeat is a duplicate of the same execution: true
	// kind: welcome.send lane: emails
}

// A client is also a worker transport: this worker claims over HTTP from
// a server in another process (here, the same one), runs the handler and
// reports the result, which the client then reads.
func Example_worker() {
	url, stop := startServer()
	defer stop()
	ctx := context.Background()
	c := client.New(url)

	w, err := worker.New(c, worker.Config{WorkerID: "greeter", Lanes: []string{"default"}})
	if err != nil {
		log.Fatal(err)
	}
	handled := make(chan struct{})
	w.Register("greet", worker.Typed(func(_ context.Context, _ *worker.Task, in struct{ Name string }) (map[string]string, error) {
		defer close(handled)
		return map[string]string{"greeting": "hello, " + in.Name}, nil
	}))
	wctx, stopWorker := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- w.Run(wctx) }()

	res, err := c.CreateExecution(ctx, backend.CreateExecutionParams{Kind: "greet", Input: []byte(`{"Name":"ada"}`)})
	if err != nil {
		log.Fatal(err)
	}
	<-handled
	stopWorker() // a graceful stop: the outcome is reported before Run returns
	if err := <-ran; err != nil {
		log.Fatal(err)
	}
	out, err := c.GetExecutionResult(ctx, backend.GetExecutionResultParams{ExecutionID: res.ExecutionID})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(out))
	// Output: {"greeting":"hello, ada"}
}

// Errors carry a stable kind: test them with errors.Is against the
// flowfabric error kinds, whatever the transport.
func ExampleClient_DescribeExecution_notFound() {
	url, stop := startServer()
	defer stop()

	c := client.New(url)
	_, err := c.DescribeExecution(context.Background(), backend.DescribeExecutionParams{ExecutionID: ff.NewExecutionID("default")})
	fmt.Println("not found:", errors.Is(err, ff.ErrNotFound))
	// Output: not found: true
}
