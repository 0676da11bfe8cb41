package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// proc is one child process the run started.
type proc struct {
	name string
	args []string
	log  string
	cmd  *exec.Cmd
	done chan struct{}
}

func startProc(name, log string, bin string, args ...string) (*proc, error) {
	fh, err := os.OpenFile(log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = fh, fh
	if err := cmd.Start(); err != nil {
		_ = fh.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, args: append([]string{bin}, args...), log: log, cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		_ = fh.Close()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// stop sends SIGTERM and waits up to grace, then kills.
func (p *proc) stop(grace time.Duration) {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// kill is a crash: SIGKILL, nothing flushed.
func (p *proc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// server is one `flowfabric server` process on a fixed port.
type server struct {
	*proc
	url string
}

// startServer starts server i on port; secret seeds the waitpoint
// signing key (a Postgres server needs one on its first start).
func startServer(bin, db, dir, secret string, i, port int) (*server, error) {
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	p, err := startProc(fmt.Sprintf("server-%d", i), filepath.Join(dir, fmt.Sprintf("server-%d.log", i)), bin,
		"server", "--database-url", db, "--listen", addr, "--log-level", "warn", "--waitpoint-hmac-secret", secret)
	if err != nil {
		return nil, err
	}
	s := &server{proc: p, url: "http://" + addr}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(s.url + "/healthz"); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case <-p.done:
			return nil, fmt.Errorf("%s exited at start; see %s", p.name, p.log)
		case <-time.After(50 * time.Millisecond):
		}
	}
	p.kill()
	return nil, fmt.Errorf("%s did not answer /healthz; see %s", p.name, p.log)
}

// leading reports whether s's /metrics says it holds reconciler
// leadership (ff_reconciler_leader 1).
func (s *server) leading(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "ff_reconciler_leader ") {
			return strings.TrimSpace(strings.TrimPrefix(line, "ff_reconciler_leader ")) == "1"
		}
	}
	return false
}

// leader waits up to d for exactly one leading server and returns its
// index, or -1.
func leader(ctx context.Context, servers []*server, d time.Duration) int {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		found := -1
		for i, s := range servers {
			if s.leading(ctx) {
				found = i
				break
			}
		}
		if found >= 0 {
			return found
		}
		time.Sleep(20 * time.Millisecond)
	}
	return -1
}
