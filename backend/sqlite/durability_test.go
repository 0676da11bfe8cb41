package sqlite

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// helperEnv carries the database path to the child process of
// TestDurabilityAfterSIGKILL.
const helperEnv = "FF_SQLITE_DURABILITY_HELPER_DB"

// TestDurabilityAfterSIGKILL: a completion acknowledged to the caller
// survives the process being killed without any chance to clean up
// (synchronous=NORMAL in WAL mode, see openWriter). The child creates,
// claims and completes an execution, prints its id, then waits; the
// parent SIGKILLs it as soon as it reads the line and reopens the file.
func TestDurabilityAfterSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	path := filepath.Join(t.TempDir(), "ff.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	killed := false
	t.Cleanup(func() {
		if !killed {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})

	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if l := sc.Text(); strings.HasPrefix(l, "DONE ") {
				lines <- l
				return
			}
		}
		close(lines)
	}()
	var line string
	select {
	case l, ok := <-lines:
		require.True(t, ok, "the helper process ended without reporting")
		line = l
	case <-time.After(2 * time.Minute):
		t.Fatal("the helper process did not report within 2 minutes")
	}
	require.NoError(t, cmd.Process.Kill()) // SIGKILL on Unix: no deferred code, no Close
	_ = cmd.Wait()
	killed = true
	require.False(t, cmd.ProcessState.Success(), "the helper must have been killed, not have exited")

	id, err := ff.ParseExecutionID(strings.TrimPrefix(line, "DONE "))
	require.NoError(t, err)
	b, err := Open(context.Background(), Options{Path: path})
	require.NoError(t, err)
	defer b.Close()
	s, err := b.DescribeExecution(context.Background(), backend.DescribeExecutionParams{ExecutionID: id})
	require.NoError(t, err)
	require.Equal(t, ff.PublicCompleted, s.PublicState)
	res, err := b.GetExecutionResult(context.Background(), backend.GetExecutionResultParams{ExecutionID: id})
	require.NoError(t, err)
	require.Equal(t, `{"survived":true}`, string(res))
	as, err := b.ListAttempts(context.Background(), backend.ListAttemptsParams{ExecutionID: id})
	require.NoError(t, err)
	require.Len(t, as, 1)
	require.Equal(t, ff.AttemptEndedSuccess, as[0].Lifecycle)
}

// TestHelperProcess is the child of TestDurabilityAfterSIGKILL; it does
// nothing in a normal run.
func TestHelperProcess(t *testing.T) {
	path := os.Getenv(helperEnv)
	if path == "" {
		t.Skip("child process of TestDurabilityAfterSIGKILL")
	}
	ctx := context.Background()
	b, err := Open(ctx, Options{Path: path, AutoMigrate: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper: open:", err)
		os.Exit(2)
	}
	must := func(err error) {
		if err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			os.Exit(2)
		}
	}
	res, err := b.CreateExecution(ctx, backend.CreateExecutionParams{Lane: "durable", Kind: "k", Input: []byte(`{}`)})
	must(err)
	tasks, err := b.Claim(ctx, backend.ClaimParams{WorkerID: "w", Lanes: []string{"durable"}})
	must(err)
	if len(tasks) != 1 {
		must(fmt.Errorf("claimed %d tasks", len(tasks)))
	}
	must(b.Complete(ctx, backend.CompleteParams{Handle: tasks[0].Handle, Result: []byte(`{"survived":true}`)}))
	fmt.Printf("DONE %s\n", res.ExecutionID)
	_ = os.Stdout.Sync()
	time.Sleep(5 * time.Minute) // wait for SIGKILL; never Close
	os.Exit(3)
}
