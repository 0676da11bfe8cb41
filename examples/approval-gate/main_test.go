package main

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// start runs the program and returns its printed curl commands (approve,
// reject) and the channel of its outcome.
func start(t *testing.T, timeout time.Duration) (approve, reject string, outcome <-chan string) {
	t.Helper()
	out, pw := io.Pipe()
	done := make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() {
		o := options{DatabaseURL: filepath.Join(t.TempDir(), "gate.db"), Addr: "127.0.0.1:0", Topic: "v1.4",
			Timeout: timeout, SweepEvery: 20 * time.Millisecond}
		res, err := run(ctx, o, pw, slog.New(slog.DiscardHandler))
		if err != nil {
			res = "error: " + err.Error()
		}
		pw.Close()
		done <- res
	}()
	sc := bufio.NewScanner(out)
	var curls []string
	for len(curls) < 2 && sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); strings.HasPrefix(line, "curl ") {
			curls = append(curls, line)
		}
	}
	require.Len(t, curls, 2, "the program prints the approve and reject commands")
	go func() { _, _ = io.Copy(io.Discard, out) }()
	return curls[0], curls[1], done
}

// post performs a printed curl command: its URL and -d body, with no
// Authorization header.
func post(t *testing.T, curl string) int {
	t.Helper()
	u := between(curl, "-X POST '", "'")
	body := curl[strings.Index(curl, "-d '")+4 : len(curl)-1]
	resp, err := http.Post(u, "application/json", strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	return resp.StatusCode
}

func between(s, from, to string) string {
	i := strings.Index(s, from) + len(from)
	return s[i : i+strings.Index(s[i:], to)]
}

func TestApprove(t *testing.T) {
	approve, _, outcome := start(t, time.Hour)
	require.Equal(t, http.StatusOK, post(t, approve))
	require.Equal(t, "published: v1.4 (approved by ann)", <-outcome)
}

func TestReject(t *testing.T) {
	_, reject, outcome := start(t, time.Hour)
	require.Equal(t, http.StatusOK, post(t, reject))
	require.Equal(t, "gave up: bob said reject (too vague)", <-outcome)
}

func TestTimeout(t *testing.T) {
	_, _, outcome := start(t, 50*time.Millisecond)
	require.Equal(t, "gave up: nobody answered in 50ms", <-outcome)
}
