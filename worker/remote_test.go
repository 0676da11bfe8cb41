package worker_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/client"
	"github.com/flowfabric-go/flowfabric/server"
	"github.com/flowfabric-go/flowfabric/worker"
)

// remote serves b over HTTP for the test and returns a client of it.
func remote(t *testing.T, b backend.Backend, opts ...client.Option) *client.Client {
	srv := httptest.NewServer(server.New(server.Config{Logger: slog.New(slog.DiscardHandler)}, b))
	hc := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(func() {
		srv.Close()
		hc.CloseIdleConnections()
	})
	return client.New(srv.URL, append([]client.Option{client.WithHTTPClient(hc)}, opts...)...)
}

// TestRemoteWorker runs the same worker over the HTTP client: claims,
// renewals, completions (batched), failures with retry, permanent
// failures and cancellation all cross the API.
func TestRemoteWorker(t *testing.T) {
	t.Parallel()
	for _, wait := range []time.Duration{0, time.Second} {
		name := "poll"
		if wait > 0 {
			name = "long-poll"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			forEachBackend(t, func(t *testing.T, b backend.Backend) {
				c := remote(t, b, client.WithClaimWait(wait))
				testRemote(t, c, b)
			})
		})
	}
}

func testRemote(t *testing.T, c *client.Client, b backend.Backend) {
	started := newSignal()
	var cause causeBox
	// The lease outlives a renewal delayed by a loaded machine under -race;
	// the cancellable task must end by the operator cancel, not by expiry.
	startWorker(t, c, worker.Config{Concurrency: 6, LeaseTTL: 3 * time.Second}, func(w *worker.Worker) {
		registerDouble(w)
		w.Register("flaky", func(_ context.Context, tk *worker.Task) (any, error) {
			if tk.AttemptIndex == 0 {
				return nil, errors.New("first try fails")
			}
			return map[string]uint32{"attempt": tk.AttemptIndex}, nil
		})
		w.Register("doomed", func(context.Context, *worker.Task) (any, error) {
			return nil, worker.Permanent(errors.New("no way"))
		})
		w.Register("cancellable", func(ctx context.Context, _ *worker.Task) (any, error) {
			started.fire()
			<-ctx.Done()
			cause.put(context.Cause(ctx))
			return nil, ctx.Err()
		})
	})
	create := func(kind string, input string, policy *ff.ExecutionPolicy) ff.ExecutionID {
		res, err := c.CreateExecution(t.Context(), backend.CreateExecutionParams{Kind: kind, Input: []byte(input), Policy: policy})
		require.NoError(t, err)
		return res.ExecutionID
	}
	var doubles []ff.ExecutionID
	for i := range 20 {
		doubles = append(doubles, create("double", `{"n":`+strconv.Itoa(i)+`}`, nil))
	}
	flaky := create("flaky", `null`, retryPolicy(2))
	doomed := create("doomed", `null`, retryPolicy(2))
	cancellable := create("cancellable", `null`, nil)

	for i, id := range doubles {
		waitState(t, b, id, ff.PublicCompleted)
		raw, err := c.GetExecutionResult(t.Context(), backend.GetExecutionResultParams{ExecutionID: id})
		require.NoError(t, err)
		require.JSONEq(t, `{"double":`+strconv.Itoa(2*i)+`}`, string(raw))
	}
	waitState(t, b, flaky, ff.PublicCompleted)
	raw, err := c.GetExecutionResult(t.Context(), backend.GetExecutionResultParams{ExecutionID: flaky})
	require.NoError(t, err)
	require.JSONEq(t, `{"attempt":1}`, string(raw))
	waitState(t, b, doomed, ff.PublicFailed)

	started.wait(t)
	_, err = c.CancelExecution(t.Context(), backend.CancelExecutionParams{ExecutionID: cancellable, Reason: "remote stop"})
	require.NoError(t, err)
	require.ErrorIs(t, cause.wait(t), worker.ErrExecutionCancelled)
	waitState(t, b, cancellable, ff.PublicCancelled)
}
