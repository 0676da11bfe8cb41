// Command llm-stream shows output streams: a worker answers a prompt
// token by token on its attempt's stream (as an LLM call would), keeps a
// running summary, and a client follows the stream live and prints the
// tokens as they arrive, then how the attempt ended. See README.md.
//
// Environment: FF_SERVER_URL (default http://127.0.0.1:8080) and, when the
// server requires it, FF_API_TOKEN.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/flowfabric-go/flowfabric/backend"
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
	prompt := "why is the sky blue"
	if len(os.Args) > 1 {
		prompt = strings.Join(os.Args[1:], " ")
	}
	c := newClient(url, os.Getenv("FF_API_TOKEN"))
	if err := run(ctx, c, prompt, os.Stdout, slog.New(slog.NewTextHandler(os.Stderr, nil))); err != nil {
		fmt.Fprintln(os.Stderr, "llm-stream:", err)
		os.Exit(1)
	}
}

func newClient(url, token string) *client.Client {
	opts := []client.Option{client.WithClaimWait(5 * time.Second)}
	if token != "" {
		opts = append(opts, client.WithToken(token))
	}
	return client.New(url, opts...)
}

// answer is the handler: it "generates" an answer word by word, sending
// each as a token frame, and records its progress in the summary.
func answer(ctx context.Context, t *worker.Task) (any, error) {
	var in struct {
		Prompt string `json:"prompt"`
	}
	if err := t.Decode(&in); err != nil {
		return nil, worker.Permanent(err)
	}
	words := strings.Fields("Sunlight scatters off air molecules, and blue light, with its shorter wavelength, scatters the most.")
	for i, w := range words {
		if err := t.Stream().Send("token", map[string]string{"text": w}); err != nil {
			return nil, err
		}
		if i%5 == 4 {
			if _, err := t.Summary(ctx, map[string]any{"tokens": i + 1, "prompt": in.Prompt}); err != nil {
				return nil, err
			}
		}
	}
	if _, err := t.Summary(ctx, map[string]any{"tokens": len(words), "done": true}); err != nil {
		return nil, err
	}
	return map[string]int{"tokens": len(words)}, nil
}

// run starts a worker, submits the prompt, follows its stream and prints
// the tokens to out as they arrive, then the close and the summary.
func run(ctx context.Context, c *client.Client, prompt string, out io.Writer, log *slog.Logger) error {
	w, err := worker.New(c, worker.Config{WorkerID: "llm-stream", Lanes: []string{"llm"}, Logger: log})
	if err != nil {
		return err
	}
	w.Register("llm.answer", answer)
	wctx, stopWorker := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	defer func() {
		stopWorker()
		<-done
	}()

	input, _ := json.Marshal(map[string]string{"prompt": prompt})
	res, err := c.CreateExecution(ctx, backend.CreateExecutionParams{Lane: "llm", Kind: "llm.answer", Input: input})
	if err != nil {
		return err
	}
	// Following attempt 0 before a worker started it waits for it.
	for ev, err := range c.FollowStream(ctx, backend.StreamRef{ExecutionID: res.ExecutionID, Attempt: 0}, 0) {
		if err != nil {
			return err
		}
		if ev.Closed {
			fmt.Fprintf(out, "\n[%s]\n", ev.ClosedReason)
			break
		}
		var tok struct {
			Text string `json:"text"`
		}
		if err := json.Unmarshal(ev.Frame.Payload, &tok); err != nil {
			return err
		}
		fmt.Fprint(out, tok.Text, " ")
	}
	s, err := c.ReadSummary(ctx, backend.ReadSummaryParams{ExecutionID: res.ExecutionID})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "summary: %s\n", s.Document)
	return nil
}
