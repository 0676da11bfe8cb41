package flowfabric_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
)

// The examples of RFC 7386 §3 (Appendix A of RFC 7396), each must hold.
func TestMergePatchRFCExamples(t *testing.T) {
	cases := []struct{ doc, patch, want string }{
		{`{"a":"b"}`, `{"a":"c"}`, `{"a":"c"}`},
		{`{"a":"b"}`, `{"b":"c"}`, `{"a":"b","b":"c"}`},
		{`{"a":"b"}`, `{"a":null}`, `{}`},
		{`{"a":"b","b":"c"}`, `{"a":null}`, `{"b":"c"}`},
		{`{"a":["b"]}`, `{"a":"c"}`, `{"a":"c"}`},
		{`{"a":"c"}`, `{"a":["b"]}`, `{"a":["b"]}`},
		{`{"a":{"b":"c"}}`, `{"a":{"b":"d","c":null}}`, `{"a":{"b":"d"}}`},
		{`{"a":[{"b":"c"}]}`, `{"a":[1]}`, `{"a":[1]}`},
		{`["a","b"]`, `["c","d"]`, `["c","d"]`},
		{`{"a":"b"}`, `["c"]`, `["c"]`},
		{`{"a":"foo"}`, `null`, `null`},
		{`{"a":"foo"}`, `"bar"`, `"bar"`},
		{`{"e":null}`, `{"a":1}`, `{"a":1,"e":null}`},
		{`[1,2]`, `{"a":"b","c":null}`, `{"a":"b"}`},
		{`{}`, `{"a":{"bb":{"ccc":null}}}`, `{"a":{"bb":{}}}`},
		// Not in the RFC: an empty document is null; numbers keep their text.
		{``, `{"n":12345678901234567890}`, `{"n":12345678901234567890}`},
		{`{"x":1.50}`, `{"y":2}`, `{"x":1.50,"y":2}`},
	}
	for _, c := range cases {
		got, err := ff.MergePatch([]byte(c.doc), []byte(c.patch))
		require.NoError(t, err, "%s + %s", c.doc, c.patch)
		require.JSONEq(t, c.want, string(got), "%s + %s", c.doc, c.patch)
	}
}

func TestMergePatchRefusesBadInput(t *testing.T) {
	for _, c := range []struct{ doc, patch string }{
		{`{}`, `{"a":`},
		{`{}`, `{} {}`},
		{`{`, `{}`},
		{`{}`, strings.Repeat(`{"a":`, 40) + `1` + strings.Repeat(`}`, 40)},
	} {
		_, err := ff.MergePatch([]byte(c.doc), []byte(c.patch))
		require.ErrorIs(t, err, ff.ErrInvalidInput, "%q + %q", c.doc, c.patch)
	}
}

func TestFrameInputNormalize(t *testing.T) {
	l := ff.StreamLimits{}.WithDefaults()
	f := ff.FrameInput{}
	require.NoError(t, f.Normalize(l))
	require.Equal(t, "data", f.Type)
	require.Equal(t, "null", string(f.Payload))

	big := ff.FrameInput{Payload: make([]byte, l.MaxFrameBytes+1), Binary: true}
	require.ErrorIs(t, big.Normalize(l), ff.ErrPayloadTooLarge)
	bad := ff.FrameInput{Payload: []byte("{nope")}
	require.ErrorIs(t, bad.Normalize(l), ff.ErrInvalidInput)
	bin := ff.FrameInput{Payload: []byte{0, 0xff, 0xfe}, Binary: true}
	require.NoError(t, bin.Normalize(l))
	typ := ff.FrameInput{Type: "a\nb"}
	require.ErrorIs(t, typ.Normalize(l), ff.ErrInvalidInput)
}
