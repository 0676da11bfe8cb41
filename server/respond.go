package server

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

// writeJSON writes v with status. Encoding errors are logged: the status
// line is already out.
func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		s.writeError(w, r, ff.Bug("encode response: %v", err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if _, err := w.Write(append(b, '\n')); err != nil {
		s.log.DebugContext(r.Context(), "write response", "err", err)
	}
}

// writeError renders err as the API error body with its mapped status.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := asAPIError(err)
	body := wire.BodyOf(e)
	status := wire.StatusOf(e)
	var limit *limitError
	if errors.As(err, &limit) {
		body.LimitBytes = limit.limit
	}
	if status >= 500 {
		s.log.LogAttrs(r.Context(), slog.LevelError, "request failed", slog.String("path", r.URL.Path),
			slog.String("kind", string(e.Kind)), slog.String("error", e.Error()))
	}
	s.writeJSON(w, r, status, body)
}

// asAPIError turns any error into the engine's typed error. Context
// errors are timeouts; anything foreign is a non-retryable transport
// failure.
func asAPIError(err error) *ff.Error {
	if e, ok := ff.AsError(err); ok {
		return e
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return &ff.Error{Class: ff.ClassTimeout, Kind: ff.ErrTimeout, Detail: "deadline exceeded", Err: err}
	case errors.Is(err, context.Canceled):
		return &ff.Error{Class: ff.ClassTimeout, Kind: ff.ErrTimeout, Detail: "request cancelled", Err: err}
	}
	return ff.Transport("server", err, false)
}

// limitError is a body over its route's cap; it carries the cap for the
// response's limit_bytes field.
type limitError struct {
	err   *ff.Error
	limit int64
}

func (e *limitError) Error() string { return e.err.Error() }
func (e *limitError) Unwrap() error { return e.err }

func tooLarge(limit int64) error {
	return &limitError{
		err:   ff.Validation(ff.ErrPayloadTooLarge, "request body exceeds %d bytes", limit),
		limit: limit,
	}
}
