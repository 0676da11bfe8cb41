package wire

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
)

func TestClipCutsOnCharacterBoundaries(t *testing.T) {
	require.Equal(t, "short", Clip("short"))
	exact := strings.Repeat("a", MaxEchoBytes)
	require.Equal(t, exact, Clip(exact))
	require.Equal(t, exact+"…", Clip(exact+"b"))
	// "é" is two bytes: 64 bytes would split the 32nd.
	got := Clip("x" + strings.Repeat("é", 100))
	require.True(t, utf8.ValidString(got))
	require.Equal(t, "x"+strings.Repeat("é", 31)+"…", got)
	// Invalid bytes are cut where they stand, never searched back far.
	bad := strings.Repeat("\x80", 300)
	require.Len(t, Clip(bad), MaxEchoBytes-(utf8.UTFMax-1)+len("…"))
}

func TestBodyOfBoundsEchoedValues(t *testing.T) {
	long := strings.Repeat("z", 10_000)
	b := BodyOf(ff.Validation(ff.ErrInvalidInput, "lane %q: bad; kind %q: bad", long, "ok"))
	require.Contains(t, b.Error, `"`+strings.Repeat("z", MaxEchoBytes)+`…"`)
	require.Contains(t, b.Error, `kind "ok": bad`)
	require.Less(t, len(b.Error), 2*MaxEchoBytes)
	// An unquoted echo is bounded by the whole-message cap.
	b = BodyOf(ff.Validation(ff.ErrInvalidInput, "path %s", long))
	require.LessOrEqual(t, len(b.Error), MaxErrorBytes+len("…"))
	require.True(t, utf8.ValidString(b.Error))
}
