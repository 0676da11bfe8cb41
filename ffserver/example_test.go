package ffserver_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/ffserver"
	"github.com/flowfabric-go/flowfabric/worker"
)

// The engine mounted on the program's own mux under /ff, next to the
// program's own routes. (httptest stands in for the program's
// http.Server.)
func Example_mount() {
	dir, err := os.MkdirTemp("", "ffserver-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()

	srv, err := ffserver.Open(ctx, ffserver.Config{
		DatabaseURL: filepath.Join(dir, "ff.db"), // SQLite, created and migrated
		Logger:      slog.New(slog.DiscardHandler),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	mux := http.NewServeMux()
	mux.Handle("/ff/", http.StripPrefix("/ff", srv.Handler()))
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "hello") })
	hs := httptest.NewServer(mux)
	defer hs.Close()
	if err := srv.Start(ctx); err != nil {
		log.Fatal(err)
	}

	resp, err := http.Get(hs.URL + "/ff/healthz")
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println("GET /ff/healthz:", resp.Status)

	hs.Close() // the program drains its own server first
	if err := srv.Stop(ctx); err != nil {
		log.Fatal(err)
	}
	http.DefaultClient.CloseIdleConnections()
	// Output: GET /ff/healthz: 200 OK
}

// An in-process worker: it claims from the store directly, with no HTTP
// in between, and Stop waits for its outcome to be written.
func ExampleServer_NewWorker() {
	dir, err := os.MkdirTemp("", "ffserver-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	srv, err := ffserver.Open(ctx, ffserver.Config{DatabaseURL: filepath.Join(dir, "ff.db"), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	w, err := srv.NewWorker(worker.Config{WorkerID: "greeter"})
	if err != nil {
		log.Fatal(err)
	}
	handled := make(chan struct{})
	w.Register("greet", worker.Typed(func(_ context.Context, _ *worker.Task, in struct{ Name string }) (string, error) {
		defer close(handled)
		return "hello, " + in.Name, nil
	}))
	if err := srv.Start(ctx); err != nil {
		log.Fatal(err)
	}
	res, err := srv.Backend().CreateExecution(ctx, backend.CreateExecutionParams{Kind: "greet", Input: []byte(`{"Name":"ada"}`)})
	if err != nil {
		log.Fatal(err)
	}
	<-handled
	if err := srv.Stop(ctx); err != nil { // drains the worker: the result is written
		log.Fatal(err)
	}
	out, err := srv.Backend().GetExecutionResult(ctx, backend.GetExecutionResultParams{ExecutionID: res.ExecutionID})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(out))
	// Output: "hello, ada"
}

// Schedules declared by the program are stored at Open (created, or
// replaced when their definition changed) and fired by the reconcilers
// of whichever server leads.
func ExampleConfig_schedules() {
	dir, err := os.MkdirTemp("", "ffserver-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	srv, err := ffserver.Open(ctx, ffserver.Config{
		DatabaseURL: filepath.Join(dir, "ff.db"),
		Logger:      slog.New(slog.DiscardHandler),
		Schedules: []backend.CreateScheduleParams{{
			ID:        "nightly-report",
			Spec:      ff.ScheduleSpec{Cron: "0 2 * * *", Timezone: "Europe/Paris"},
			CatchUp:   ff.CatchUp{Policy: ff.CatchUpAll, Max: 1}, // a missed night runs once on restart
			Execution: backend.CreateExecutionParams{Lane: "reports", Kind: "report.nightly"},
		}},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	s, err := srv.Backend().GetSchedule(ctx, backend.GetScheduleParams{ID: "nightly-report"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.ID, s.Source, s.Spec.Cron, s.Spec.Timezone)
	// Output: nightly-report declared 0 2 * * * Europe/Paris
}
