package server

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

// writeJSON writes v with status. Write errors are logged at debug: the
// status line is already out and the client is gone.
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

// writeJSONFlushed writes v with status and flushes it to the
// connection, returning any write error: for replies whose loss must be
// known (a claim's). An encoding error is a bug and panics into the
// recovery of ServeHTTP.
func (s *Server) writeJSONFlushed(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		panic(ff.Bug("encode response: %v", err))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if _, err := w.Write(append(b, '\n')); err != nil {
		return err
	}
	return http.NewResponseController(w).Flush()
}

// writeError renders err as the API error body with its mapped status.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := wire.ErrorOf(err)
	body := wire.BodyOf(e)
	status := wire.StatusOf(e)
	var limit *limitError
	if errors.As(err, &limit) {
		body.LimitBytes = limit.limit
	}
	if e.Kind == wire.ErrRequestTimeout {
		w.Header().Set("Connection", "close") // the rest of the body is not awaited
	}
	if e.RetryAfterMs > 0 {
		w.Header().Set("Retry-After", strconv.FormatInt((e.RetryAfterMs+999)/1000, 10))
	}
	if status >= 500 {
		s.log.LogAttrs(r.Context(), slog.LevelError, "request failed", slog.String("path", r.URL.Path),
			slog.String("kind", string(e.Kind)), slog.String("error", e.Error()))
	}
	s.writeJSON(w, r, status, body)
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
