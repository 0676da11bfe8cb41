package ui

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLoginLimit(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLoginLimit(func() time.Time { return now })
	for range loginBurst {
		ok, _ := l.allow("10.0.0.1")
		require.True(t, ok)
		l.failed("10.0.0.1")
	}
	ok, wait := l.allow("10.0.0.1")
	require.False(t, ok, "over the burst")
	require.Equal(t, loginRefill, wait)
	ok, _ = l.allow("10.0.0.2")
	require.True(t, ok, "another address has its own budget")

	now = now.Add(loginRefill / 2)
	ok, wait = l.allow("10.0.0.1")
	require.False(t, ok)
	require.Equal(t, loginRefill/2, wait)
	now = now.Add(loginRefill / 2)
	ok, _ = l.allow("10.0.0.1")
	require.True(t, ok, "one attempt back after loginRefill")
	l.failed("10.0.0.1")
	ok, _ = l.allow("10.0.0.1")
	require.False(t, ok)

	now = now.Add(loginBurst * loginRefill)
	ok, _ = l.allow("10.0.0.1")
	require.True(t, ok, "refilled")
}

// Past maxLoginClients tracked addresses, the new ones share one budget
// (after the refilled buckets are dropped), so spraying addresses neither
// grows the map nor escapes the limit.
func TestLoginLimitBoundsItsMemory(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLoginLimit(func() time.Time { return now })
	for i := range maxLoginClients {
		l.failed(fmt.Sprint("a", i))
	}
	for i := range loginBurst {
		l.failed(fmt.Sprint("b", i))
	}
	require.Len(t, l.buckets, maxLoginClients+1, "the tracked ones and the shared budget")
	ok, _ := l.allow("c")
	require.False(t, ok, "a new address shares the spent budget")

	now = now.Add(loginRefill) // one failure credited back: a* buckets are full again
	ok, _ = l.allow("c")
	require.True(t, ok, "refilled buckets are dropped to make room")
	require.LessOrEqual(t, len(l.buckets), 2)
}
