package flowfabric

import "unicode/utf8"

// maxEcho bounds how much of a caller's input an error message repeats.
const maxEcho = 64

// CutText returns the longest prefix of s of at most max bytes that ends
// on a character boundary: a multi-byte character at the cut is dropped
// whole, never split.
func CutText(s string, max int) string {
	if len(s) <= max {
		return s
	}
	if max <= 0 {
		return ""
	}
	i := max
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}

// clip bounds input echoed in an error message, marking a cut with "…".
func clip(s string) string {
	if len(s) <= maxEcho {
		return s
	}
	return CutText(s, maxEcho) + "…"
}
