package fftest

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
)

// testHandler writes warnings and errors to t.Log, until the test's
// cleanup has run (t.Log panics after the test completes).
type testHandler struct {
	t     testing.TB
	done  *atomic.Bool
	attrs []slog.Attr
	group string
}

func newTestHandler(t testing.TB) *testHandler {
	h := &testHandler{t: t, done: new(atomic.Bool)}
	t.Cleanup(func() { h.done.Store(true) })
	return h
}

func (h *testHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }

func (h *testHandler) Handle(_ context.Context, r slog.Record) error {
	if h.done.Load() {
		return nil
	}
	var b strings.Builder
	b.WriteString(r.Level.String() + " " + r.Message)
	write := func(a slog.Attr) bool {
		key := a.Key
		if h.group != "" {
			key = h.group + "." + key
		}
		b.WriteString(" " + key + "=" + a.Value.String())
		return true
	}
	for _, a := range h.attrs {
		write(a)
	}
	r.Attrs(write)
	h.t.Log(b.String())
	return nil
}

func (h *testHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr{}, h.attrs...), as...)
	return &c
}

func (h *testHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.group = name
	return &c
}
