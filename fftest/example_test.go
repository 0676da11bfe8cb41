package fftest_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/fftest"
	"github.com/flowfabric-go/flowfabric/worker"
)

// exampleT stands in for the *testing.T a real test gets, so the
// examples run under go test: it overrides what fftest and its
// assertions call (embedding the interface only for its method set).
type exampleT struct {
	testing.TB
	dir      string
	cleanups []func()
}

func (t *exampleT) Helper()                           {}
func (t *exampleT) Cleanup(f func())                  { t.cleanups = append(t.cleanups, f) }
func (t *exampleT) Log(args ...any)                   {}
func (t *exampleT) Logf(string, ...any)               {}
func (t *exampleT) Errorf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
func (t *exampleT) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
func (t *exampleT) FailNow()                          { panic("failed") }
func (t *exampleT) Failed() bool                      { return false }

func (t *exampleT) TempDir() string {
	if t.dir == "" {
		var err error
		if t.dir, err = os.MkdirTemp("", "fftest-example"); err != nil {
			panic(err)
		}
		t.Cleanup(func() { os.RemoveAll(t.dir) })
	}
	return t.dir
}

// done runs the cleanups, last registered first, as the testing package
// does when a test ends.
func (t *exampleT) done() {
	for _, f := range slices.Backward(t.cleanups) {
		f()
	}
}

// A test written with fftest: an engine on a temporary SQLite file, a
// worker run until the execution completed, and an assertion on its
// result. In a real test, t is the test's *testing.T.
func Example() {
	t := &exampleT{}
	defer t.done()

	e := fftest.New(t)
	w := e.NewWorker(worker.Config{})
	w.Register("greet", worker.Typed(func(_ context.Context, _ *worker.Task, in struct{ Name string }) (map[string]string, error) {
		return map[string]string{"greeting": "hello, " + in.Name}, nil
	}))
	id := e.Create(backend.CreateExecutionParams{Kind: "greet", Input: []byte(`{"Name":"ada"}`)})
	e.RunUntil(w, fftest.Completed(id))
	fftest.RequireCompleted(t, e, id, `{"greeting":"hello, ada"}`)

	res, _ := e.Backend().GetExecutionResult(context.Background(), backend.GetExecutionResultParams{ExecutionID: id})
	fmt.Println("completed:", string(res))
	// Output: completed: {"greeting":"hello, ada"}
}

// Time moves only when the test moves it: a retry waits for its backoff
// until Advance, which also runs the reconcilers that promote it.
func ExampleEngine_Advance() {
	t := &exampleT{}
	defer t.done()

	e := fftest.New(t)
	tries := 0
	w := e.NewWorker(worker.Config{})
	w.Register("flaky", func(context.Context, *worker.Task) (any, error) {
		if tries++; tries == 1 {
			return nil, fmt.Errorf("try %d fails", tries)
		}
		return "ok", nil
	})
	id := e.Create(backend.CreateExecutionParams{Kind: "flaky", Policy: &ff.ExecutionPolicy{
		Retry: &ff.RetryPolicy{MaxRetries: 1, Backoff: ff.BackoffStrategy{Type: "fixed", DelayMs: 30_000}}}})
	e.Start(w)
	e.WaitFor(fftest.InState(id, ff.PublicDelayed))
	fmt.Println("after the first try:", fftest.RequireState(t, e, id, ff.PublicDelayed).PublicState)
	e.Advance(30 * time.Second)
	e.WaitFor(fftest.Completed(id))
	fmt.Println("after Advance:", fftest.RequireState(t, e, id, ff.PublicCompleted).PublicState)
	// Output:
	// after the first try: delayed
	// after Advance: completed
}
