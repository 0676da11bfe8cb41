package wire

import (
	"regexp"
	"strconv"
	"unicode/utf8"
)

// Bounds on what an error message repeats of a request.
const (
	// MaxEchoBytes bounds one echoed input value (a quoted id, lane,
	// field name, path): longer values are cut, on a character boundary,
	// and end with "…".
	MaxEchoBytes = 64
	// MaxErrorBytes bounds a whole error message.
	MaxErrorBytes = 1024
)

// Clip cuts s to at most MaxEchoBytes on a character boundary, ending a
// cut value with "…".
func Clip(s string) string { return clipTo(s, MaxEchoBytes) }

func clipTo(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	// Back up to the start of the character at n (at most UTFMax-1 bytes:
	// invalid bytes are cut where they stand).
	for i := 0; i < utf8.UTFMax-1 && cut > 0 && !utf8.RuneStart(s[cut]); i++ {
		cut--
	}
	return s[:cut] + "…"
}

// quoted matches a Go-quoted string (%q), the form every message uses to
// echo an input value.
var quoted = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)

// clipMessage bounds an error message: every quoted value longer than
// MaxEchoBytes is cut, then the whole message is cut at MaxErrorBytes.
func clipMessage(msg string) string {
	if len(msg) > MaxEchoBytes+2 {
		msg = quoted.ReplaceAllStringFunc(msg, func(q string) string {
			if len(q) <= MaxEchoBytes+2 {
				return q
			}
			v, err := strconv.Unquote(q)
			if err != nil {
				return clipTo(q, MaxEchoBytes) + `"`
			}
			return strconv.Quote(Clip(v))
		})
	}
	return clipTo(msg, MaxErrorBytes)
}
