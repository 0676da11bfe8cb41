package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
)

// ListenAndServe listens on addr and runs Serve.
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve answers requests on ln until ctx ends, then shuts down
// gracefully: it stops accepting, releases long-polling claims (they
// answer 204), and waits up to the shutdown grace for in-flight requests
// before closing the remaining connections. It returns nil after a clean
// drain, an error when the grace ran out or serving failed. ln is closed
// on return. A Server is served once: after Serve returns, its
// long-polling claims no longer wait.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	// No server-wide ReadTimeout or WriteTimeout: each request sets its
	// own deadlines (timedBody, adapt), so that a body is bounded by
	// ReadBody and a long-poll's reply by its wait plus Write.
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: s.timeouts.ReadHeader,
		IdleTimeout:       s.timeouts.Idle,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	s.log.Debug("http server listening", "addr", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		s.BeginShutdown()
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.BeginShutdown()
	grace, cancel := context.WithTimeout(context.Background(), s.grace)
	defer cancel()
	s.log.Info("http server shutting down", "grace", s.grace)
	err := hs.Shutdown(grace)
	if err != nil {
		_ = hs.Close()
		err = fmt.Errorf("shutdown within %s: %w", s.grace, err)
	}
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = fmt.Errorf("serve: %w", serr)
	}
	return err
}
