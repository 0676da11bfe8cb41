package server

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

// statusClientClosed labels, in logs and metrics, a request whose client
// went away before its reply was written (nginx's 499). It is never sent.
const statusClientClosed = 499

// timedBody caps r's body at limit and bounds its reading: the read
// deadline is ReadBody from now, and once the body is read the deadline
// is lifted (a long-poll must not be cut by it) and the write deadline
// starts.
func (s *Server) timedBody(w http.ResponseWriter, r *http.Request, limit int64) io.ReadCloser {
	rc := http.NewResponseController(w)
	if r.ContentLength != 0 {
		_ = rc.SetReadDeadline(time.Now().Add(s.timeouts.ReadBody))
	}
	_ = rc.SetWriteDeadline(time.Now().Add(s.timeouts.ReadBody + s.timeouts.Write))
	done := func() {
		_ = rc.SetReadDeadline(time.Time{})
		_ = rc.SetWriteDeadline(time.Now().Add(s.timeouts.Write))
	}
	return &deadlineBody{ReadCloser: http.MaxBytesReader(w, r.Body, limit), done: done}
}

// deadlineBody calls done once, when its reader reaches io.EOF. After
// any other error the read deadline stays: the server drains an unread
// body before replying, and a lifted deadline would let a stalled client
// hold that drain, and the reply, forever.
type deadlineBody struct {
	io.ReadCloser
	once sync.Once
	done func()
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if errors.Is(err, io.EOF) {
		b.once.Do(b.done)
	}
	return n, err
}

// setWriteDeadline bounds writing the reply to d from now (it may move a
// deadline set earlier: a long-poll's reply leaves only after its wait).
func setWriteDeadline(w http.ResponseWriter, d time.Duration) {
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(d))
}

// bodyReadError classifies a failed body read: over the cap (413), too
// slow (408 request_timeout), or the client gone mid-body.
func bodyReadError(err error) error {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return tooLarge(mbe.Limit)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return ff.Validation(wire.ErrRequestTimeout, "request body not received within the read timeout")
	}
	return &goneError{err: err}
}

// goneError is a request the client abandoned (its body stopped short).
type goneError struct{ err error }

func (e *goneError) Error() string { return "client gone: " + e.err.Error() }
func (e *goneError) Unwrap() error { return e.err }

// clientGone reports whether err comes from the client going away: its
// context ended (a long-poll abandoned, a create cancelled) or its body
// stopped short. A body too slow is not: it is answered 408 (the failed
// read ends the request's context too).
func clientGone(r *http.Request, err error) bool {
	if errors.Is(err, wire.ErrRequestTimeout) {
		return false
	}
	var gone *goneError
	return r.Context().Err() != nil || errors.As(err, &gone)
}

// clientAborted records a request the client abandoned. It is the
// client's doing, not a server error: logged at info by observe (status
// 499), with the cause at debug, and nothing is written.
func (s *Server) clientAborted(w http.ResponseWriter, r *http.Request, err error) {
	if sw, ok := w.(*statusWriter); ok {
		sw.abort()
	}
	s.log.LogAttrs(r.Context(), slog.LevelDebug, "client went away", slog.String("path", wire.Clip(r.URL.Path)),
		slog.String("cause", err.Error()))
}
