// Command approval-gate drafts a release note, asks a person to approve
// it, and waits for the answer without holding a worker: the handler
// creates a waitpoint, prints the exact commands (curl and the flowfabric
// CLI, token included) that approve or reject the draft, and suspends
// with a timeout. A signal resumes it on the same attempt: approve
// publishes the note, reject or the timeout gives up. See README.md.
//
// Environment: FF_DATABASE_URL (default ./approval-gate.db, SQLite),
// LISTEN_ADDR (default 127.0.0.1:8082), APPROVAL_TIMEOUT (default 24h)
// and, on Postgres, FF_WAITPOINT_HMAC_SECRET.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/engine"
	"github.com/flowfabric-go/flowfabric/ffserver"
	"github.com/flowfabric-go/flowfabric/worker"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	timeout, err := time.ParseDuration(envOr("APPROVAL_TIMEOUT", "24h"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "approval-gate: APPROVAL_TIMEOUT:", err)
		os.Exit(2)
	}
	opts := options{DatabaseURL: envOr("FF_DATABASE_URL", "./approval-gate.db"), Addr: envOr("LISTEN_ADDR", "127.0.0.1:8082"),
		Timeout: timeout, Secret: os.Getenv("FF_WAITPOINT_HMAC_SECRET"), Topic: "v1.4 release notes"}
	outcome, err := run(ctx, opts, os.Stdout, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		fmt.Fprintln(os.Stderr, "approval-gate:", err)
		os.Exit(1)
	}
	fmt.Println(outcome)
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// options configure run.
type options struct {
	DatabaseURL, Addr, Secret, Topic string
	Timeout                          time.Duration
	// SweepEvery paces the suspension timeout sweep (default 1 s).
	SweepEvery time.Duration
}

// draft is the input of a "note.publish" execution.
type draft struct {
	Topic string `json:"topic"`
}

// verdict is the payload a reviewer may send with a signal.
type verdict struct {
	By     string `json:"by,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// run starts the engine, submits one draft and returns how it ended:
// "published: …" or "gave up: …". Instructions for the reviewer go to out.
func run(ctx context.Context, o options, out io.Writer, log *slog.Logger) (string, error) {
	srv, err := ffserver.Open(ctx, ffserver.Config{DatabaseURL: o.DatabaseURL, Addr: o.Addr, Logger: log,
		WaitpointHMACSecret: o.Secret, Engine: engine.Config{SuspensionTimeoutInterval: o.SweepEvery}})
	if err != nil {
		return "", err
	}
	defer srv.Close()
	done := make(chan string, 1)
	w, err := srv.NewWorker(worker.Config{WorkerID: "publisher", Lanes: []string{"notes"}})
	if err != nil {
		return "", err
	}
	w.Register("note.publish", publisher{out: out, timeout: o.Timeout, done: done, base: func() string {
		return "http://" + srv.Addr().String()
	}}.handle)
	if err := srv.Start(ctx); err != nil {
		return "", err
	}
	defer stopServer(srv)
	input, _ := json.Marshal(draft{Topic: o.Topic})
	if _, err := srv.Backend().CreateExecution(ctx, backend.CreateExecutionParams{Lane: "notes", Kind: "note.publish",
		Input: input}); err != nil {
		return "", err
	}
	select {
	case outcome := <-done:
		return outcome, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func stopServer(srv *ffserver.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = srv.Stop(ctx)
}

// publisher is the handler of "note.publish".
type publisher struct {
	out     io.Writer
	timeout time.Duration
	done    chan<- string
	base    func() string // the API's URL
}

// handle runs twice: first it drafts, hands the waitpoint's token out and
// suspends; re-entered by a signal (or the timeout's), it finishes or
// gives up.
func (p publisher) handle(ctx context.Context, t *worker.Task) (any, error) {
	var in draft
	if err := t.Decode(&in); err != nil {
		return nil, worker.Permanent(err)
	}
	if sigs := t.ResumedSignals(); len(sigs) > 0 {
		return p.decide(in, sigs[0])
	}
	text := fmt.Sprintf("Draft for %q: faster claims, signed approval links, fewer knobs.", in.Topic)
	wp, err := t.CreateWaitpoint(ctx, "review", 0)
	if err != nil {
		return nil, err
	}
	p.instruct(text, wp)
	return nil, t.Suspend(worker.OnWaitpoints("review"), worker.ForAnySignal(), worker.Timeout(p.timeout),
		worker.OnTimeout(ff.TimeoutAutoResume), worker.Reason("waiting_for_approval"))
}

// decide ends the execution by the signal that resumed it.
func (p publisher) decide(in draft, sig ff.Signal) (any, error) {
	var v verdict
	_ = json.Unmarshal(sig.Payload, &v)
	switch sig.Name {
	case "approve":
		outcome := fmt.Sprintf("published: %s (approved by %s)", in.Topic, orAnon(v.By))
		p.done <- outcome
		return map[string]string{"published": in.Topic, "approved_by": v.By}, nil
	case ff.TimeoutSignalName:
		p.done <- "gave up: nobody answered in " + p.timeout.String()
		return nil, worker.Permanent(errors.New("approval timed out"))
	default:
		p.done <- fmt.Sprintf("gave up: %s said %s (%s)", orAnon(v.By), sig.Name, v.Reason)
		return nil, worker.Permanent(fmt.Errorf("draft %s: %s", sig.Name, v.Reason))
	}
}

func orAnon(s string) string {
	if s == "" {
		return "someone"
	}
	return s
}

// instruct prints the draft and the commands that answer it. The token
// in them is the only credential the signal route needs.
func (p publisher) instruct(text string, wp worker.Waitpoint) {
	signalURL := p.base() + "/v1/executions/" + url.PathEscape(wp.ExecutionID.String()) + "/signal"
	body := func(name, payload string) string {
		return fmt.Sprintf(`{"waitpoint_id":%q,"token":%q,"signal_name":%q,"payload":%s}`, wp.ID, wp.Token, name, payload)
	}
	fmt.Fprintf(p.out, "%s\n\nWaiting for a review (up to %s). To approve:\n", text, p.timeout)
	fmt.Fprintf(p.out, "  curl -sS -X POST '%s' -H 'Content-Type: application/json' -d '%s'\n", signalURL, body("approve", `{"by":"ann"}`))
	fmt.Fprintf(p.out, "  flowfabric signal '%s' --server %s --waitpoint %s --token %s --name approve --payload '{\"by\":\"ann\"}'\n",
		wp.ExecutionID, p.base(), wp.ID, wp.Token)
	fmt.Fprintf(p.out, "To reject:\n")
	fmt.Fprintf(p.out, "  curl -sS -X POST '%s' -H 'Content-Type: application/json' -d '%s'\n", signalURL,
		body("reject", `{"by":"bob","reason":"too vague"}`))
	fmt.Fprintf(p.out, "  flowfabric signal '%s' --server %s --waitpoint %s --token %s --name reject --payload '{\"reason\":\"too vague\"}'\n",
		wp.ExecutionID, p.base(), wp.ID, wp.Token)
}
