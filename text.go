package flowfabric

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The text rules, in one place for every path and both stores:
//
//   - Free text (a progress message, a failure or cancel reason, an
//     operator's cancel source) is never refused for its content:
//     SanitizeText replaces NUL and invalid UTF-8 with U+FFFD and cuts it
//     on a character boundary, so every store keeps the same bytes and
//     Postgres never refuses them.
//   - Keys and identifiers (namespace, idempotency key, tag keys and
//     values, worker ids, ids inside a handle, cursors) are refused with
//     invalid_input naming the field when they hold NUL or invalid UTF-8
//     or exceed their byte limit (ValidateKey): two different byte
//     strings are never stored as the same key.
//   - Names (kind, lane, namespace, tag keys) additionally refuse control
//     characters, including newlines, U+0085, U+2028 and U+2029
//     (ValidateName).

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

// SanitizeText makes free text storable: each NUL byte and each byte of
// an invalid UTF-8 sequence becomes U+FFFD, and the result is cut to at
// most max bytes on a character boundary. Valid text without NUL is only
// cut.
func SanitizeText(s string, max int) string {
	if cleanText(s) {
		return CutText(s, max)
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		piece := s[i : i+n]
		if r == 0 || (r == utf8.RuneError && n == 1) {
			piece = string(utf8.RuneError)
		}
		if b.Len()+len(piece) > max {
			break
		}
		b.WriteString(piece)
		i += n
	}
	return b.String()
}

// cleanText reports whether s is valid UTF-8 without NUL.
func cleanText(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

// ValidateKey checks a key or identifier named field: at most max bytes,
// valid UTF-8, no NUL. The empty string passes; callers that require a
// value check that first.
func ValidateKey(field, s string, max int) error {
	return fault(ErrInvalidInput, field, keyFault(s, max))
}

// ValidateName is ValidateKey that also refuses control characters
// (IsNameControl) anywhere in s.
func ValidateName(field, s string, max int) error {
	return fault(ErrInvalidInput, field, nameFault(s, max))
}

// fault returns the validation error of kind for field, nil when why is
// empty.
func fault(kind ErrorKind, field, why string) error {
	if why == "" {
		return nil
	}
	return Validation(kind, "%s: %s", field, why)
}

// keyFault says what makes s unfit as a key, "" when nothing does.
func keyFault(s string, max int) string {
	switch {
	case len(s) > max:
		return fmt.Sprintf("%d bytes, at most %d", len(s), max)
	case !utf8.ValidString(s):
		return "not valid UTF-8"
	case strings.IndexByte(s, 0) >= 0:
		return "contains NUL"
	}
	return ""
}

// nameFault says what makes s unfit as a name, "" when nothing does.
func nameFault(s string, max int) string {
	if why := keyFault(s, max); why != "" {
		return why
	}
	if i := strings.IndexFunc(s, IsNameControl); i >= 0 {
		r, _ := utf8.DecodeRuneInString(s[i:])
		return fmt.Sprintf("%q contains control character %U", clip(s), r)
	}
	return ""
}

// IsNameControl reports whether r may not appear in a name: a C0 or C1
// control (which includes newlines, DEL and U+0085) or the line and
// paragraph separators U+2028 and U+2029.
func IsNameControl(r rune) bool {
	return unicode.IsControl(r) || r == '\u2028' || r == '\u2029'
}

// clip bounds input echoed in an error message, marking a cut with "…".
func clip(s string) string {
	if len(s) <= maxEcho {
		return s
	}
	return CutText(s, maxEcho) + "…"
}
