package flowfabric

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// Capability limits (inclusive).
const (
	MaxCapabilityTokens   = 256
	MaxCapabilityCSVBytes = 4096
)

// NormalizeCapabilities validates capability tokens and returns them
// sorted and de-duplicated. Empty tokens are rejected (not dropped) at
// ingress, as are tokens containing a comma, ASCII whitespace, control
// bytes or DEL, and tokens that are not valid UTF-8. role names the list in errors ("required", "worker").
func NormalizeCapabilities(role string, tokens []string) ([]string, error) {
	if len(tokens) > MaxCapabilityTokens {
		return nil, Validation(ErrInvalidCapabilities, "%s: %d tokens, at most %d", role, len(tokens), MaxCapabilityTokens)
	}
	out := make([]string, 0, len(tokens))
	size := 0
	for _, t := range tokens {
		if t == "" {
			return nil, Validation(ErrInvalidCapabilities, "%s: empty token", role)
		}
		for i := 0; i < len(t); i++ {
			c := t[i]
			if c == ',' || c <= 0x20 || c == 0x7f {
				return nil, Validation(ErrInvalidCapabilities, "%s: token %q contains a comma, space or control byte", role, clip(t))
			}
		}
		if !utf8.ValidString(t) {
			return nil, Validation(ErrInvalidCapabilities, "%s: token %q is not valid UTF-8", role, clip(t))
		}
		size += len(t) + 1
		out = append(out, t)
	}
	if size > 0 {
		size--
	}
	if size > MaxCapabilityCSVBytes {
		return nil, Validation(ErrInvalidCapabilities, "%s: %d bytes, at most %d", role, size, MaxCapabilityCSVBytes)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// CapabilitySignature is the canonical text of a normalized requirement
// set: its tokens joined by commas. The empty signature matches any worker.
func CapabilitySignature(normalized []string) string { return strings.Join(normalized, ",") }

// ParseCapabilitySignature splits a signature back into tokens.
func ParseCapabilitySignature(sig string) []string {
	if sig == "" {
		return nil
	}
	return strings.Split(sig, ",")
}

// Satisfies reports whether a worker offering have meets every token in
// required: an exact, case-sensitive subset test. Both slices must be
// normalized (sorted, unique).
func Satisfies(have, required []string) bool {
	i := 0
	for _, r := range required {
		for i < len(have) && have[i] < r {
			i++
		}
		if i == len(have) || have[i] != r {
			return false
		}
		i++
	}
	return true
}
