package ffserver

import (
	"context"
	"fmt"
	"net"
	"sync"

	"github.com/flowfabric-go/flowfabric/server"
)

// httpRun is the API's own listener, when Config.Addr is set.
type httpRun struct {
	failed chan struct{} // closed when Serve returned before drain asked it to

	mu     sync.Mutex
	bound  net.Addr
	cancel context.CancelFunc // nil until serve; cancelling it starts the drain
	served chan struct{}      // closed when Serve has returned
	err    error              // Serve's result; written before served is closed
}

func newHTTPRun() httpRun { return httpRun{failed: make(chan struct{})} }

// serve runs api on ln until drain. Invariant: err is written before
// served is closed, so a reader that saw served closed reads the final
// err.
func (h *httpRun) serve(api *server.Server, ln net.Listener) {
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	h.mu.Lock()
	h.bound, h.cancel, h.served = ln.Addr(), cancel, served
	h.mu.Unlock()
	go func() {
		err := api.Serve(ctx, ln)
		h.err = err
		if ctx.Err() == nil {
			close(h.failed)
		}
		close(served)
	}()
}

func (h *httpRun) addr() net.Addr {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.bound
}

// drain stops the listener and waits for in-flight requests (bounded by
// the server's shutdown grace, and by ctx). Mounted on the program's own
// server, it only releases long-polling claims: the program drains its
// server itself.
func (h *httpRun) drain(ctx context.Context, api *server.Server) error {
	h.mu.Lock()
	cancel, served := h.cancel, h.served
	h.mu.Unlock()
	if cancel == nil {
		api.BeginShutdown()
		return nil
	}
	cancel()
	select {
	case <-served:
		return h.err // Serve's errors say what failed: "serve: …", "shutdown within …"
	case <-ctx.Done():
		return fmt.Errorf("http drain: %w", ctx.Err())
	}
}
