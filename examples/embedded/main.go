// Command embedded runs the FlowFabric engine inside a program of its
// own: one http.ServeMux serves the program's route (POST /signup) and
// the FlowFabric API under /flowfabric/, and an in-process worker sends
// the welcome e-mails that signups enqueue and the daily digest that a
// schedule declared in Go enqueues every morning. See README.md.
//
// Environment: FF_DATABASE_URL (default ./embedded.db, SQLite) and
// LISTEN_ADDR (default 127.0.0.1:8081).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/ffserver"
	"github.com/flowfabric-go/flowfabric/worker"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	addr := envOr("LISTEN_ADDR", "127.0.0.1:8081")
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "embedded:", err)
		os.Exit(1)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	log.Info("embedded: listening", "addr", ln.Addr().String(), "api", "http://"+ln.Addr().String()+"/flowfabric/v1")
	if err := run(ctx, ln, envOr("FF_DATABASE_URL", "./embedded.db"), os.Stdout, log); err != nil {
		fmt.Fprintln(os.Stderr, "embedded:", err)
		os.Exit(1)
	}
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// welcome is the input of a "welcome.send" execution.
type welcome struct {
	Email string `json:"email"`
}

// sent is its result.
type sent struct {
	SentTo string `json:"sent_to"`
}

// digest is the result of a "digest.send" execution.
type digest struct {
	DigestFor string `json:"digest_for"`
}

// schedules are the program's periodic schedules, declared at startup:
// the digest of the day before, every morning at 08:00 UTC. Several
// copies of the program on one database create each morning's execution
// once.
func schedules() []backend.CreateScheduleParams {
	return []backend.CreateScheduleParams{{
		ID:        "daily-digest",
		Spec:      ff.ScheduleSpec{Cron: "0 8 * * *"},
		Execution: backend.CreateExecutionParams{Lane: "emails", Kind: "digest.send"},
	}}
}

// run serves the program on ln until ctx ends, then shuts down: the
// program's server and the engine drain together (the engine releases
// its long-polls, the worker finishes its e-mails), then the store
// closes. Sent e-mails are "delivered" to out.
func run(ctx context.Context, ln net.Listener, databaseURL string, out io.Writer, log *slog.Logger) error {
	srv, err := ffserver.Open(ctx, ffserver.Config{DatabaseURL: databaseURL, Logger: log, Schedules: schedules()})
	if err != nil {
		return err
	}
	defer srv.Close() // last: closes the store
	if err := startWorker(srv, out); err != nil {
		return err
	}

	mux := http.NewServeMux()
	mux.Handle("/flowfabric/", http.StripPrefix("/flowfabric", srv.Handler())) // the FlowFabric API
	mux.Handle("POST /signup", signup(srv.Backend()))                          // the program's own route
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}

	if err := srv.Start(ctx); err != nil { // reconcilers and the worker; no listener of its own
		return err
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-served: // the listener failed
	}
	return errors.Join(serveErr, shutdown(srv, hs))
}

// startWorker registers the in-process worker that sends the e-mails;
// srv runs it from Start and drains it in Stop.
func startWorker(srv *ffserver.Server, out io.Writer) error {
	w, err := srv.NewWorker(worker.Config{WorkerID: "mailer", Lanes: []string{"emails"}})
	if err != nil {
		return err
	}
	register(w, out)
	return nil
}

// register gives w the mailer's handlers; e-mails are "delivered" to out.
func register(w *worker.Worker, out io.Writer) {
	w.Register("welcome.send", worker.Typed(func(_ context.Context, _ *worker.Task, in welcome) (sent, error) {
		if in.Email == "" {
			return sent{}, worker.Permanent(errors.New("no e-mail address"))
		}
		fmt.Fprintf(out, "welcome sent to %s\n", in.Email)
		return sent{SentTo: in.Email}, nil
	}))
	w.Register("digest.send", func(_ context.Context, t *worker.Task) (any, error) {
		_, tick, ok := t.ScheduleTick()
		if !ok {
			return nil, worker.Permanent(errors.New("digest.send runs from its schedule"))
		}
		day := tick.AddDate(0, 0, -1).Format(time.DateOnly)
		fmt.Fprintf(out, "digest for %s sent\n", day)
		return digest{DigestFor: day}, nil
	})
}

// signup enqueues a welcome e-mail, once per address (the idempotency
// key), and answers with the execution's id.
func signup(b backend.Backend) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in welcome
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10)).Decode(&in); err != nil || in.Email == "" {
			http.Error(w, `want {"email": "..."}`, http.StatusBadRequest)
			return
		}
		input, _ := json.Marshal(in)
		res, err := b.CreateExecution(r.Context(), backend.CreateExecutionParams{
			Lane: "emails", Kind: "welcome.send", Input: input, IdempotencyKey: "welcome:" + in.Email,
		})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_ = json.NewEncoder(w).Encode(map[string]string{"execution_id": res.ExecutionID.String()})
	})
}

// shutdown drains the program's server and the engine together: Stop
// releases the API's long-polling claims (which would otherwise hold
// hs.Shutdown for their whole wait) and drains the worker, then stops
// the reconcilers. The store stays open until run's deferred Close.
func shutdown(srv *ffserver.Server, hs *http.Server) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	httpDone := make(chan error, 1)
	go func() { httpDone <- hs.Shutdown(ctx) }()
	return errors.Join(srv.Stop(ctx), <-httpDone)
}
