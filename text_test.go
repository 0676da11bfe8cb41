package flowfabric_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	ff "github.com/flowfabric-go/flowfabric"
)

func TestCutTextOnCharacterBoundaries(t *testing.T) {
	tests := []struct {
		s    string
		max  int
		want string
	}{
		{"hello", 10, "hello"},
		{"hello", 5, "hello"},
		{"hello", 3, "hel"},
		{"hello", 0, ""},
		{"hello", -1, ""},
		{"ab😀", 5, "ab"},  // the 4-byte character would be split: dropped whole
		{"ab😀", 6, "ab😀"}, // fits exactly
		{"é", 1, ""},
		{"aé", 2, "a"},
		{"😀😀", 7, "😀"},
	}
	for _, tc := range tests {
		if got := ff.CutText(tc.s, tc.max); got != tc.want {
			t.Errorf("CutText(%q, %d) = %q, want %q", tc.s, tc.max, got, tc.want)
		}
	}
	// Every cut of valid text is valid text.
	s := strings.Repeat("aé😀中", 50)
	for n := 0; n <= len(s); n++ {
		if got := ff.CutText(s, n); !utf8.ValidString(got) || len(got) > n || len(got) < n-3 {
			t.Fatalf("CutText(_, %d) = %d bytes, valid=%v", n, len(got), utf8.ValidString(got))
		}
	}
}

func TestSanitizeText(t *testing.T) {
	const r = "\uFFFD"
	tests := []struct {
		name, s string
		max     int
		want    string
	}{
		{"clean", "disk full\nat line 3", 100, "disk full\nat line 3"},
		{"NUL", "a\x00b", 100, "a" + r + "b"},
		{"invalid byte", "a\xffb", 100, "a" + r + "b"},
		{"truncated sequence", "a\xe2\x82", 100, "a" + r + r},
		{"lone surrogate encoding", "\xed\xa0\x80", 100, r + r + r},
		{"existing U+FFFD kept", "a" + r, 100, "a" + r},
		{"cut before a 4-byte character", "abc😀", 5, "abc"},
		{"cut after replacement", "a\x00b", 3, "a"},
		{"replacement fits exactly", "a\x00b", 4, "a" + r},
		{"dirty, 4-byte character at the cut", "\x00" + "ab😀", 6, r + "ab"},
	}
	for _, tc := range tests {
		got := ff.SanitizeText(tc.s, tc.max)
		if got != tc.want {
			t.Errorf("%s: SanitizeText(%q, %d) = %q, want %q", tc.name, tc.s, tc.max, got, tc.want)
		}
		if !utf8.ValidString(got) || strings.IndexByte(got, 0) >= 0 || len(got) > tc.max {
			t.Errorf("%s: result %q is not storable text within %d bytes", tc.name, got, tc.max)
		}
	}
}

func TestValidateKeyAndName(t *testing.T) {
	for _, ok := range []string{"", "order-42", "clé", "a b", "tab\there"} {
		noErr(t, ff.ValidateKey("idempotency_key", ok, 256))
	}
	for _, bad := range []string{"a\x00b", "\xff", "a\xe2\x82", strings.Repeat("k", 257)} {
		e := wantErr(t, ff.ValidateKey("idempotency_key", bad, 256), ff.ClassValidation, ff.ErrInvalidInput)
		if !strings.HasPrefix(e.Detail, "idempotency_key") {
			t.Errorf("detail %q does not name the field", e.Detail)
		}
	}
	for _, ok := range []string{"", "emails", "façade", "a b", "x.y-z"} {
		noErr(t, ff.ValidateName("namespace", ok, 256))
	}
	for _, bad := range []string{"a\nb", "a\rb", "a\tb", "a\x7fb", "a\u0085b", "a\u2028b", "a\u2029b", "a\x00b", "\xff"} {
		e := wantErr(t, ff.ValidateName("namespace", bad, 256), ff.ClassValidation, ff.ErrInvalidInput)
		if !strings.HasPrefix(e.Detail, "namespace") {
			t.Errorf("detail %q does not name the field", e.Detail)
		}
	}
	// The echo of a long bad value is bounded.
	e := wantErr(t, ff.ValidateName("kind", strings.Repeat("k", 10_000)+"\n", 1<<20), ff.ClassValidation, ff.ErrInvalidInput)
	if len(e.Detail) > 200 {
		t.Errorf("detail echoes %d bytes", len(e.Detail))
	}
}
