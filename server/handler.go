package server

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"go.opentelemetry.io/otel/trace"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/server/ui"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

// ServeHTTP runs the request through the stack: panic recovery, request
// metrics, logging and tracing, then the dashboard (/ui/) or CORS, route
// lookup, auth and the route.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	label := "unmatched"
	var span trace.Span // nil unless traced
	defer func() {
		if p := recover(); p != nil {
			if err, ok := p.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				panic(p)
			}
			s.log.Error("http handler panic", "method", r.Method, "route", label,
				"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			if !sw.wroteHeader {
				s.writeError(sw, r, ff.Bug("internal error: %v", p))
			}
		}
		s.observe(r, label, sw.status(), time.Since(start))
		if span != nil {
			endSpan(span, sw.status())
		}
	}()

	if r.ContentLength != 0 {
		// A body bounds its reading even on a route that never reads it
		// (the server drains it after the handler); routes that read
		// one lift this once it is in (timedBody).
		_ = http.NewResponseController(sw).SetReadDeadline(time.Now().Add(s.timeouts.ReadBody))
	}
	if s.dashboard != nil && ui.Owns(r.URL.Path) {
		label = ui.Prefix // the dashboard does its own auth (a login form, CSRF)
		s.dashboard.ServeHTTP(sw, r)
		return
	}
	if s.cors.apply(sw, r) {
		label = "preflight"
		return
	}
	_, pattern := s.mux.Handler(r)
	rt := s.byPatt[pattern]
	if rt != nil {
		label = rt.path
	}
	if s.traced(label) {
		r, span = s.startSpan(r, label)
	}
	if (rt == nil || !rt.public) && !s.authorized(r) {
		s.writeError(sw, r, &ff.Error{Class: ff.ClassValidation, Kind: wire.ErrUnauthorized,
			Detail: "missing or invalid Authorization header"})
		return
	}
	if rt == nil {
		s.notRouted(sw, r)
		return
	}
	// The mux itself serves, so it sets the path values (Handler's
	// lookup above does not).
	s.mux.ServeHTTP(sw, r)
}

// authorized checks the bearer token in constant time.
func (s *Server) authorized(r *http.Request) bool {
	if s.token == nil {
		return true
	}
	got := []byte(r.Header.Get("Authorization"))
	return subtle.ConstantTimeCompare(got, s.token) == 1
}

// notRouted answers a request no pattern matched: 405 with Allow when the
// path exists under another method, else 404.
func (s *Server) notRouted(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range s.methods {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, p := s.mux.Handler(probe); p != "" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		for _, m := range allow {
			w.Header().Add("Allow", m)
		}
		s.writeError(w, r, &ff.Error{Class: ff.ClassValidation, Kind: wire.ErrMethodNotAllowed,
			Detail: fmt.Sprintf("method %s not allowed on %q", r.Method, wire.Clip(r.URL.Path))})
		return
	}
	s.writeError(w, r, &ff.Error{Class: ff.ClassNotFound, Kind: wire.ErrRouteNotFound,
		Detail: fmt.Sprintf("no route for %s %q", wire.Clip(r.Method), wire.Clip(r.URL.Path))})
}

// adapt turns a route handler into an http.Handler: it caps and times
// the body, bounds the write, and renders a returned error — or, when the
// client is gone, records a client abort instead.
func (s *Server) adapt(rt *route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rt.limit > 0 {
			if r.ContentLength > rt.limit {
				s.writeError(w, r, tooLarge(rt.limit))
				return
			}
			r.Body = s.timedBody(w, r, rt.limit)
		} else {
			setWriteDeadline(w, s.timeouts.Write)
		}
		r = r.WithContext(context.WithValue(r.Context(), routeKey{}, rt))
		err := rt.handle(s, w, r)
		switch {
		case err == nil:
		case clientGone(r, err):
			s.clientAborted(w, r, err)
		default:
			s.writeError(w, r, err)
		}
	})
}

func (s *Server) observe(r *http.Request, route string, status int, d time.Duration) {
	s.metrics.observe(r.Method, route, status, d)
	level, msg := slog.LevelInfo, "http request"
	switch {
	case status == statusClientClosed:
		msg = "http request abandoned by the client"
	case status >= 500:
		level = slog.LevelError
	case route == "/healthz" || route == "/metrics":
		level = slog.LevelDebug
	}
	s.log.LogAttrs(r.Context(), level, msg,
		slog.String("method", r.Method), slog.String("route", route), slog.String("path", wire.Clip(r.URL.Path)),
		slog.Int("status", status), slog.Duration("duration", d))
}

// routeKey carries the serving *route in the request context.
type routeKey struct{}

// statusWriter records the status for logs and metrics.
type statusWriter struct {
	http.ResponseWriter
	code        int
	wroteHeader bool
	aborted     bool // the client went away: reported as statusClientClosed
}

// abort records that the reply did not reach the client.
func (w *statusWriter) abort() { w.aborted = true }

func (w *statusWriter) WriteHeader(code int) {
	if !w.wroteHeader {
		w.code, w.wroteHeader = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) status() int {
	if w.aborted {
		return statusClientClosed
	}
	if !w.wroteHeader {
		return http.StatusOK
	}
	return w.code
}
