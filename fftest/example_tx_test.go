package fftest_test

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/fftest"
	"github.com/flowfabric-go/flowfabric/worker"
)

// A handler that refuses its input for good fails the execution at
// once: RequireFailed checks the outcome and the class of the last
// attempt.
func ExampleRequireFailed() {
	t := &exampleT{}
	defer t.done()

	e := fftest.New(t)
	w := e.NewWorker(worker.Config{})
	w.Register("greet", worker.Typed(func(_ context.Context, _ *worker.Task, in struct{ Name string }) (string, error) {
		if in.Name == "" {
			return "", worker.Permanent(errors.New("name is required"))
		}
		return "hello, " + in.Name, nil
	}))
	id := e.Create(backend.CreateExecutionParams{Kind: "greet", Input: []byte(`{}`)})
	e.RunUntil(w, fftest.Ended(id))
	fftest.RequireFailed(t, e, id, ff.FailurePermanent)
	// Output:
}

// Testing code that enqueues in its own transaction: the engine on
// Postgres (skipped without a server), the program's transaction on the
// engine's database, and the worker run until the enqueued execution
// completed. A rolled-back transaction leaves nothing to run. In a real
// test, t is the test's *testing.T.
func ExampleEngine_Postgres() {
	t := &exampleT{}
	defer t.done()

	e := fftest.New(t, fftest.WithPostgresFromEnv())
	pg := e.Postgres()
	w := e.NewWorker(worker.Config{Lanes: []string{"receipts"}})
	w.Register("receipt.send", func(context.Context, *worker.Task) (any, error) { return "sent", nil })

	var id ff.ExecutionID
	err := pgx.BeginFunc(e.Context(), pg.Pool(), func(tx pgx.Tx) error {
		// ... the program's own writes in tx ...
		res, err := pg.CreateExecutionTx(e.Context(), tx, backend.CreateExecutionParams{Lane: "receipts", Kind: "receipt.send"})
		id = res.ExecutionID
		return err
	})
	if err != nil {
		t.Fatalf("enqueue: %v", err)
	}
	e.RunUntil(w, fftest.Completed(id))
	fftest.RequireCompleted(t, e, id, `"sent"`)
}
