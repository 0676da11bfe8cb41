package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/flowfabric-go/flowfabric/internal/pgtest"
)

// fastFlags make reconcilers and long polls react in tens of ms so the
// suite stays fast.
var fastFlags = []string{
	"--lease-expiry-interval", "50ms", "--promoter-interval", "50ms",
	"--attempt-timeout-interval", "100ms", "--deadline-interval", "100ms",
	"--leader-retry-interval", "100ms", "--claim-poll-interval", "50ms",
	"--shutdown-grace", "5s",
}

// database is where a test's servers keep their state.
type database struct {
	name string // "sqlite" or "postgres"
	url  string
}

func sqliteDB(t *testing.T) database {
	return database{"sqlite", filepath.Join(t.TempDir(), "ff.db")}
}

func postgresDB(t *testing.T) database {
	return database{"postgres", pgtest.Schema(t)}
}

// eachBackend runs f as parallel subtests on SQLite and Postgres.
func eachBackend(t *testing.T, f func(t *testing.T, db database)) {
	t.Run("sqlite", func(t *testing.T) { t.Parallel(); f(t, sqliteDB(t)) })
	t.Run("postgres", func(t *testing.T) { t.Parallel(); f(t, postgresDB(t)) })
}

// serverProc is a `flowfabric server` child process.
type serverProc struct {
	t    *testing.T
	cmd  *exec.Cmd
	URL  string // http://127.0.0.1:port
	logs *logSink

	exited  chan struct{}
	waitErr error
}

// startServer runs `flowfabric server` on db with a free port and waits
// for its startup line. extra flags come after the defaults and win.
func startServer(t *testing.T, db database, extra ...string) *serverProc {
	t.Helper()
	p, err := launchServer(t, db, extra...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// launchServer is startServer without t.Fatal, for use from goroutines.
func launchServer(t *testing.T, db database, extra ...string) (*serverProc, error) {
	args := []string{"server", "--database-url", db.url, "--listen", "127.0.0.1:0", "--log-format", "json"}
	if db.name == "postgres" {
		// A Postgres server refuses to start without a waitpoint signing
		// key; the first start seeds it from this secret.
		args = append(args, "--auto-migrate", "--waitpoint-hmac-secret", strings.Repeat("ab", 32))
	}
	args = append(append(args, fastFlags...), extra...)
	p := &serverProc{t: t, logs: newLogSink(), exited: make(chan struct{})}
	p.cmd = exec.Command(binPath, args...)
	p.cmd.Env = cleanEnv()
	p.cmd.Stdout = p.logs
	p.cmd.Stderr = p.logs
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start server: %w", err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(p.terminate)
	select {
	case line := <-p.logs.started:
		var rec struct{ Addr string }
		if err := json.Unmarshal([]byte(line), &rec); err != nil || rec.Addr == "" {
			return nil, fmt.Errorf("startup line without addr: %s", line)
		}
		p.URL = "http://" + rec.Addr
		return p, nil
	case <-p.exited:
		return nil, fmt.Errorf("server exited at start (%v):\n%s", p.waitErr, p.logs.String())
	case <-time.After(30 * time.Second):
		return nil, fmt.Errorf("server did not start within 30s:\n%s", p.logs.String())
	}
}

// terminate sends SIGTERM and waits for a clean exit (the cleanup path).
func (p *serverProc) terminate() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
		p.t.Errorf("server did not stop within 15s of SIGTERM:\n%s", p.logs.String())
	}
}

// stop sends SIGTERM and requires a graceful exit with status 0.
func (p *serverProc) stop(t *testing.T) {
	t.Helper()
	p.terminate()
	if p.waitErr != nil {
		t.Fatalf("server exit after SIGTERM: %v\n%s", p.waitErr, p.logs.String())
	}
}

// kill sends SIGKILL, as a crash would.
func (p *serverProc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// cleanEnv is the test process environment without FF_* variables, so
// the developer's configuration never leaks into a child.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "FF_") {
			env = append(env, kv)
		}
	}
	return env
}

// logSink collects a child's output lines and signals the startup line.
type logSink struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	partial []byte
	lines   []string
	started chan string
	once    sync.Once
}

func newLogSink() *logSink { return &logSink{started: make(chan string, 1)} }

func (s *logSink) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf.Write(b)
	s.partial = append(s.partial, b...)
	for {
		i := bytes.IndexByte(s.partial, '\n')
		if i < 0 {
			break
		}
		line := string(s.partial[:i])
		s.partial = s.partial[i+1:]
		s.lines = append(s.lines, line)
		if strings.Contains(line, `"msg":"flowfabric server started"`) {
			s.once.Do(func() { s.started <- line })
		}
	}
	return len(b), nil
}

func (s *logSink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// count returns how many log lines have msg.
func (s *logSink) count(msg string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, l := range s.lines {
		if strings.Contains(l, `"msg":"`+msg+`"`) {
			n++
		}
	}
	return n
}

// cliResult is one run of the flowfabric binary as a client.
type cliResult struct {
	stdout, stderr string
	code           int
}

// runCLI runs the binary with args and env (KEY=VALUE) added.
func runCLI(t *testing.T, env []string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Env = append(cleanEnv(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := cliResult{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("run flowfabric %v: %v", args, err)
	}
	return r
}

// mustCLI runs the binary and requires success.
func mustCLI(t *testing.T, env []string, args ...string) string {
	t.Helper()
	r := runCLI(t, env, args...)
	if r.code != 0 {
		t.Fatalf("flowfabric %v: exit %d\nstdout: %s\nstderr: %s", args, r.code, r.stdout, r.stderr)
	}
	return r.stdout
}
