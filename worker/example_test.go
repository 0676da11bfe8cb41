package worker_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/backend/sqlite"
	"github.com/flowfabric-go/flowfabric/worker"
)

// openStore opens an embedded store on a temporary SQLite file; a real
// program opens its database (postgres.Open, sqlite.Open) or gives the
// worker a client.Client.
func openStore() (*sqlite.Backend, func()) {
	dir, err := os.MkdirTemp("", "worker-example")
	if err != nil {
		log.Fatal(err)
	}
	b, err := sqlite.Open(context.Background(), sqlite.Options{Path: filepath.Join(dir, "ff.db"), AutoMigrate: true})
	if err != nil {
		log.Fatal(err)
	}
	return b, func() { _ = b.Close(); _ = os.RemoveAll(dir) }
}

// runUntil runs w until done is closed, then stops it gracefully:
// Run returns once the outcomes of running handlers are written.
func runUntil(w *worker.Worker, done <-chan struct{}) {
	ctx, stop := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- w.Run(ctx) }()
	<-done
	stop()
	if err := <-ran; err != nil {
		log.Fatal(err)
	}
}

type greet struct {
	Name string `json:"name"`
}

// A worker in-process over the store: a typed handler decodes the input,
// and what it returns is stored as the execution's JSON result.
func Example() {
	b, closeStore := openStore()
	defer closeStore()
	ctx := context.Background()

	w, err := worker.New(b, worker.Config{WorkerID: "greeter", Lanes: []string{"default"}})
	if err != nil {
		log.Fatal(err)
	}
	done := make(chan struct{})
	w.Register("greet", worker.Typed(func(ctx context.Context, t *worker.Task, in greet) (map[string]string, error) {
		defer close(done)
		return map[string]string{"greeting": "hello, " + in.Name}, nil
	}))
	res, err := b.CreateExecution(ctx, backend.CreateExecutionParams{Kind: "greet", Input: []byte(`{"name":"ada"}`)})
	if err != nil {
		log.Fatal(err)
	}
	runUntil(w, done)

	out, err := b.GetExecutionResult(ctx, backend.GetExecutionResultParams{ExecutionID: res.ExecutionID})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(out))
	// Output: {"greeting":"hello, ada"}
}

// An error the handler knows retrying cannot fix is returned as
// Permanent: the execution fails at once, whatever its retry policy.
// Any other error is transient, and the policy decides on a retry.
func ExamplePermanent() {
	b, closeStore := openStore()
	defer closeStore()
	ctx := context.Background()

	w, err := worker.New(b, worker.Config{WorkerID: "greeter"})
	if err != nil {
		log.Fatal(err)
	}
	done := make(chan struct{})
	w.Register("greet", worker.Typed(func(ctx context.Context, t *worker.Task, in greet) (string, error) {
		defer close(done)
		if in.Name == "" {
			return "", worker.Permanent(errors.New("name is required"))
		}
		return "hello, " + in.Name, nil
	}))
	res, err := b.CreateExecution(ctx, backend.CreateExecutionParams{Kind: "greet", Input: []byte(`{}`)})
	if err != nil {
		log.Fatal(err)
	}
	runUntil(w, done)

	snap, err := b.DescribeExecution(ctx, backend.DescribeExecutionParams{ExecutionID: res.ExecutionID})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(snap.PublicState)
	// Output: failed
}
