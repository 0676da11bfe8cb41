package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/flowfabric-go/flowfabric/backend/postgres"
	"github.com/flowfabric-go/flowfabric/internal/pgtest"
)

// TestMain lets the test binary serve as the worker process the run
// starts (os.Executable() is the test binary here).
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "worker" {
		if err := runWorker(os.Args[2:]); err != nil {
			os.Stderr.WriteString("cluster worker: " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// A small run of two servers and two worker processes of each kind: the
// leader is killed, leadership moves, every job completes once.
func TestClusterRunSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the flowfabric binary and starts 6 processes")
	}
	db := pgtest.Schema(t)
	_, err := postgres.MigrateURL(context.Background(), db)
	require.NoError(t, err)
	bin := filepath.Join(t.TempDir(), "flowfabric")
	build := exec.Command("go", "build", "-o", bin, "github.com/flowfabric-go/flowfabric/cmd/flowfabric")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)

	stdout := captureStdout(t, func() {
		err = runCluster([]string{"-bin", bin, "-db", db, "-dir", t.TempDir(), "-servers", "2", "-http-workers", "2",
			"-db-workers", "2", "-concurrency", "4", "-jobs", "300", "-steady-jobs", "60", "-rate", "60", "-port-base", "18390"})
	})
	require.NoError(t, err, stdout)
	for _, want := range []string{"drain_throughput_jobs_per_s=", "steady_pickup_ms=p50 ", "leader_killed=server-",
		"leader_moved_ms=", "handler_runs_by_kind=http ", "lost=0 ", "run_twice=0 ", "check=ok"} {
		require.Contains(t, stdout, want)
	}
	require.Regexp(t, `leader_moved_ms=\d+ \(to server-\d pid \d+\)`, stdout)
	require.NotContains(t, leaderLine(stdout, "leader_killed="), leaderLine(stdout, "leader_moved_ms="),
		"leadership moved to another server")
}

// leaderLine is the "server-N" a report line names.
func leaderLine(report, key string) string {
	for _, l := range strings.Split(report, "\n") {
		if strings.HasPrefix(l, key) {
			i := strings.Index(l, "server-")
			return l[i : i+len("server-0")]
		}
	}
	return "missing " + key
}

func captureStdout(t *testing.T, f func()) string {
	r, w, err := os.Pipe()
	require.NoError(t, err)
	old := os.Stdout
	os.Stdout = w
	done := make(chan string)
	go func() {
		var sb strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := r.Read(buf)
			sb.Write(buf[:n])
			if err != nil {
				done <- sb.String()
				return
			}
		}
	}()
	f()
	os.Stdout = old
	_ = w.Close()
	return <-done
}
