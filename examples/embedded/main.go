// Command embedded runs the FlowFabric engine inside a program of its
// own: one http.ServeMux serves the program's route (POST /signup) and
// the FlowFabric API under /flowfabric/, and an in-process worker sends
// the welcome e-mails that signups enqueue. See README.md.
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

// run serves the program on ln until ctx ends, then shuts down: the
// program's server and the engine drain together (the engine releases
// its long-polls, the worker finishes its e-mails), then the store
// closes. Sent e-mails are "delivered" to out.
func run(ctx context.Context, ln net.Listener, databaseURL string, out io.Writer, log *slog.Logger) error {
	srv, err := ffserver.Open(ctx, ffserver.Config{DatabaseURL: databaseURL, Logger: log})
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

// startWorker registers the in-process worker that sends welcome
// e-mails; srv runs it from Start and drains it in Stop.
func startWorker(srv *ffserver.Server, out io.Writer) error {
	w, err := srv.NewWorker(worker.Config{WorkerID: "mailer", Lanes: []string{"emails"}})
	if err != nil {
		return err
	}
	w.Register("welcome.send", worker.Typed(func(_ context.Context, _ *worker.Task, in welcome) (sent, error) {
		if in.Email == "" {
			return sent{}, worker.Permanent(errors.New("no e-mail address"))
		}
		fmt.Fprintf(out, "welcome sent to %s\n", in.Email)
		return sent{SentTo: in.Email}, nil
	}))
	return nil
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
