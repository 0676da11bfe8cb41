package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/client"
	"github.com/flowfabric-go/flowfabric/worker"
)

// newClient returns an API client for the server.
func newClient(url, token string) *client.Client {
	var opts []client.Option
	if token != "" {
		opts = append(opts, client.WithToken(token))
	}
	return client.New(url, append(opts, client.WithClaimWait(200*time.Millisecond))...)
}

// startWorker runs a remote worker over the HTTP client until the test
// ends (or it is stopped or killed first).
func startWorker(t *testing.T, url, token string, cfg worker.Config, handlers map[string]worker.Handler) *worker.Worker {
	t.Helper()
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 50 * time.Millisecond
	}
	if cfg.PollBackoffMax == 0 {
		cfg.PollBackoffMax = 100 * time.Millisecond
	}
	if cfg.ShutdownGrace == 0 {
		cfg.ShutdownGrace = 2 * time.Second
	}
	w, err := worker.New(newClient(url, token), cfg)
	require.NoError(t, err)
	for k, h := range handlers {
		w.Register(k, h)
	}
	done := make(chan error, 1)
	go func() { done <- w.Run(context.Background()) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = w.Stop(ctx)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Errorf("worker %s did not stop", cfg.WorkerID)
		}
	})
	return w
}

// waitState polls the execution until it reaches want.
func waitState(t *testing.T, c *client.Client, id ff.ExecutionID, want ff.PublicState) backend.ExecutionSnapshot {
	t.Helper()
	var snap backend.ExecutionSnapshot
	require.Eventually(t, func() bool {
		var err error
		snap, err = c.DescribeExecution(context.Background(), backend.DescribeExecutionParams{ExecutionID: id})
		return err == nil && snap.PublicState == want
	}, 20*time.Second, 20*time.Millisecond, "execution %s never reached %s (last %s)", id, want, snap.PublicState)
	return snap
}

// httpReply is a raw HTTP response.
type httpReply struct {
	status int
	body   []byte
}

// do sends a raw request; headers are name, value pairs.
func do(t *testing.T, method, url, body string, headers ...string) httpReply {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return httpReply{resp.StatusCode, data}
}

// requireAPIError checks the error contract: status, and a JSON body
// with a string "error", the given "kind" and a boolean "retryable".
func requireAPIError(t *testing.T, r httpReply, status int, kind ff.ErrorKind) {
	t.Helper()
	require.Equal(t, status, r.status, "body: %s", r.body)
	var body map[string]any
	require.NoError(t, json.Unmarshal(r.body, &body), "error body is JSON: %s", r.body)
	msg, ok := body["error"].(string)
	require.True(t, ok && msg != "", "error is a non-empty string: %s", r.body)
	require.Equal(t, string(kind), body["kind"], "body: %s", r.body)
	_, ok = body["retryable"].(bool)
	require.True(t, ok, "retryable is a bool: %s", r.body)
}

// scrape reads /metrics into "name{labels}" -> value, with the test
// token (metrics are behind it when the server has one).
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	req, err := http.NewRequest("GET", url+"/metrics", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err == nil {
			out[line[:i]] = v
		}
	}
	require.NoError(t, sc.Err())
	return out
}

// resultOf decodes a stored JSON result.
func resultOf(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m), "result: %s", raw)
	return m
}
